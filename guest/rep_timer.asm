; pml4-image: elf
;
; rep_timer — timer interrupts inside a long REP MOVSB. The SDM lets a REP string instruction
; take interrupts between iterations (vol. 2B, REP: "the processor ... allows interrupts and
; exceptions between iterations"; the saved RIP is the REP instruction itself, with RCX, RSI and
; RDI of the iterations done, and IRET resumes it). PIT channel 0 ticks every 12 clocks (about
; 10 us of virtual time, i.e. about 10,000 instructions, each iteration counting as one); the
; handler records RIP, RCX, RSI and RDI at the first ticks. The kernel then prints, for each,
; whether RIP is the REP and whether RCX, RSI and RDI agree on how far the copy got, and last
; checks every byte of the copy. Virtual time makes the ticks land on the same iteration in
; every run, in both modes.
; Expected: guest/rep_timer.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "gate.inc"
%include "pic.inc"

default rel

%assign COUNT           200000
%assign SRC             0x400000
%assign DST             0x600000
%assign RECORDS         8

section .text
global _start
_start:
        PRINT   "rep_timer: PIT ticks inside rep movsb of 200,000 bytes", 10
        lea     rdi, [idt]
        SETGATE 0x20, on_tick, 0x8E
        SETGATE 0x27, on_spurious, 0x8E
        lidt    [idtr]
        mov     ax, 0x2820
        call    pic_init
        mov     ax, 0xFFFE
        call    pic_mask

        mov     rdi, SRC                        ; the source: byte i is i * 7 mod 256
        xor     ecx, ecx
.fill:  mov     eax, ecx
        imul    eax, eax, 7
        mov     [rdi + rcx], al
        inc     ecx
        cmp     ecx, COUNT
        jb      .fill

        mov     eax, 12
        mov     edx, 2
        call    pit_start
        mov     rsi, SRC
        mov     rdi, DST
        mov     ecx, COUNT
        cld
        sti
.copy:  rep movsb
        cli

        xor     ebx, ebx
.report:
        cmp     rbx, [rel recorded]
        jae     .reported
        imul    r8, rbx, 32
        lea     rax, [rel records]
        add     r8, rax                         ; r8 = the record: RIP, RCX, RSI, RDI
        PRINT   "  tick "
        PUTDEC  rbx
        PRINT   ": RCX "
        PUTDEC  qword [r8 + 8]
        lea     rax, [rel .copy]
        cmp     [r8], rax
        jne     .not_rep
        PRINT   ", RIP at the REP"
        jmp     .agree
.not_rep:
        PRINT   ", RIP NOT at the REP"
.agree:
        mov     rax, [r8 + 24]
        sub     rax, DST
        add     rax, [r8 + 8]
        mov     rdx, [r8 + 16]
        sub     rdx, SRC
        add     rdx, [r8 + 8]
        cmp     rax, COUNT
        jne     .disagree
        cmp     rdx, COUNT
        jne     .disagree
        PRINT   ", RSI and RDI agree", 10
        jmp     .next
.disagree:
        PRINT   ", RSI and RDI DISAGREE", 10
.next:
        inc     rbx
        jmp     .report
.reported:
        PRINT   "  ticks during the copy: "
        PUTDEC  qword [rel ticks]
        NEWLINE
        mov     rsi, SRC
        mov     rdi, DST
        mov     ecx, COUNT
        repe cmpsb
        jne     .bad
        PRINT   "  the copy is whole", 10
        mov     al, EXIT_OK
        out     DEBUG_EXIT_PORT, al
.bad:   PRINT   "FAIL: the copy differs", 10
        mov     al, EXIT_FAIL
        out     DEBUG_EXIT_PORT, al

on_tick:
        push    rax
        push    rbx
        inc     qword [rel ticks]
        mov     rbx, [rel recorded]
        cmp     rbx, RECORDS
        jae     .eoi
        imul    rbx, rbx, 32
        lea     rax, [rel records]
        add     rbx, rax
        mov     rax, [rsp + 16]                 ; the frame: RIP above the two pushes
        mov     [rbx], rax
        mov     [rbx + 8], rcx
        mov     [rbx + 16], rsi
        mov     [rbx + 24], rdi
        inc     qword [rel recorded]
.eoi:   mov     al, 0x20
        out     0x20, al
        pop     rbx
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
records: resq 4 * RECORDS
