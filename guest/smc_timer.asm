; pml4-image: elf
;
; smc_timer — timer interrupts landing in a loop whose block stores into its own code (as
; smc_block), so that the instruction each tick lands on, and the TSC, depend on every store being
; counted once. The handler records where the first ticks landed, as offsets from the loop, and
; the patched sum must be what the stores wrote. Virtual time makes the ticks fall on the same
; instructions in every run and in both modes.
; Expected: guest/smc_timer.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "gate.inc"
%include "pic.inc"

default rel

%assign TURNS           40000
%assign RECORDS         6

section .text
global _start
_start:
        PRINT   "smc_timer: PIT ticks in a loop that patches its own block", 10
        lea     rdi, [idt]
        SETGATE 0x20, on_tick, 0x8E
        SETGATE 0x27, on_spurious, 0x8E
        lidt    [idtr]
        mov     ax, 0x2820
        call    pic_init
        mov     ax, 0xFFFE
        call    pic_mask
        mov     eax, 12
        mov     edx, 2
        call    pit_start
        mov     ecx, TURNS
        xor     ebx, ebx
        sti
.turn:
        mov     eax, ecx
        mov     [.patch + 2], cl
        xor     eax, ebx
.patch:
        add     ebx, strict dword 0
        dec     ecx
        jnz     .turn
        cli
        PRINT   "  sum of the patched immediates "
        PUTDEC  rbx
        NEWLINE
        xor     r12d, r12d
.show:  cmp     r12, [rel recorded]
        jae     .shown
        PRINT   "  tick "
        PUTDEC  r12
        PRINT   " at .turn+"
        lea     rax, [rel records]
        mov     rax, [rax + r12 * 8]
        lea     rdx, [rel .turn]
        sub     rax, rdx
        PUTHEX  rax
        NEWLINE
        inc     r12
        jmp     .show
.shown: PRINT   "  ticks: "
        PUTDEC  qword [rel ticks]
        NEWLINE
        mov     al, EXIT_OK
        out     DEBUG_EXIT_PORT, al

on_tick:
        push    rax
        push    rcx
        push    rdx
        inc     qword [rel ticks]
        mov     rdx, [rel recorded]
        cmp     rdx, RECORDS
        jae     .eoi
        mov     rax, [rsp + 24]                 ; the saved RIP, above the three pushes
        lea     rcx, [rel records]
        mov     [rcx + rdx * 8], rax
        inc     qword [rel recorded]
.eoi:   mov     al, 0x20
        out     0x20, al
        pop     rdx
        pop     rcx
        pop     rax
        iretq
on_spurious:
        PRINT   "FAIL: spurious IRQ 7", 10
        mov     al, EXIT_FAIL
        out     DEBUG_EXIT_PORT, al

section .data
idtr:   dw 256 * 16 - 1
        dq idt
ticks:  dq 0
recorded: dq 0

section .bss
alignb 16
idt:    resb 256 * 16
records: resq RECORDS
