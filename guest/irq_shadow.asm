; pml4-image: elf
;
; irq_shadow — where a pending maskable interrupt is taken once RFLAGS.IF comes on.
; STI: "interrupts are recognized after the instruction following STI" (SDM vol. 2B, STI: the
; interrupt shadow), so the saved RIP is the second instruction after it. POPF has no such
; shadow: an interrupt pending when POPF sets IF is taken right after the POPF. Each time the
; kernel waits with IF = 0 until the PIT's IRQ 0 is pending at the PIC (virtual time: the wait
; is long enough for a tick), then enables interrupts; the handler records the saved RIP.
; Expected: guest/irq_shadow.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "gate.inc"
%include "pic.inc"

default rel

section .text
global _start
_start:
        PRINT   "irq_shadow: a pending IRQ 0 when IF comes on", 10
        lea     rdi, [idt]
        SETGATE 0x20, on_tick, 0x8E
        SETGATE 0x27, on_spurious, 0x8E
        lidt    [idtr]
        mov     ax, 0x2820
        call    pic_init
        mov     ax, 0xFFFE
        call    pic_mask
        mov     eax, 1193                       ; about 1 ms a tick
        mov     edx, 2
        call    pit_start

        call    wait_pending
        PRINT   "  sti; inc r8; inc r9:   "
        xor     r8d, r8d
        sti
.s1:    inc     r8
.s2:    inc     r9
        cli
        lea     rax, [rel .s2]
        call    report

        call    wait_pending
        PRINT   "  popf (IF = 1); inc r8: "
        pushfq
        or      qword [rsp], 1 << 9
        popfq
.p1:    inc     r8
        cli
        lea     rax, [rel .p1]
        call    report

        mov     al, EXIT_OK
        out     DEBUG_EXIT_PORT, al

; wait_pending: with IF = 0, spin about 2 ms of virtual time, so that IRQ 0 is pending.
wait_pending:
        mov     qword [rel saved], 0
        mov     ecx, 1000000
.spin:  dec     ecx
        jnz     .spin
        ret

; report: rax = where the interrupt should have been taken.
report:
        cmp     rax, [rel saved]
        jne     .wrong
        PRINT   "taken where the SDM says", 10
        ret
.wrong: PRINT   "taken at "
        PUTHEX64 qword [rel saved]
        NEWLINE
        ret

on_tick:
        push    rax
        mov     rax, [rsp + 8]                  ; the saved RIP
        cmp     qword [rel saved], 0
        jne     .eoi
        mov     [rel saved], rax
.eoi:   mov     al, 0x20
        out     0x20, al
        pop     rax
        iretq
on_spurious:
        PRINT   "FAIL: spurious IRQ 7", 10
        mov     al, EXIT_FAIL
        out     DEBUG_EXIT_PORT, al

section .data
idtr:   dw 256 * 16 - 1
        dq idt
saved:  dq 0

section .bss
alignb 16
idt:    resb 256 * 16
