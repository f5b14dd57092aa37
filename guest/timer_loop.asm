; pml4-image: elf
;
; timer_loop — the timer benchmark (pml4 bench): 100,000 PIT interrupts, each waking a HLT.
; Set up as guest/timer.asm (PIC at 0x20, PIT mode 2), with divisor 10 (~8.4 us of virtual time).
; The kernel remaps the PIC to vectors 0x20-0x2F (ICW1-ICW4), unmasks IRQ 0 only, programs PIT
; channel 0 in mode 2 with divisor 1193 (about 1 kHz of a 1,193,182 Hz clock), and waits for ten
; ticks with STI; HLT. HLT with IF = 1 sleeps until the next interrupt (SDM Vol. 2A HLT); the
; handler counts, sends EOI and returns. Virtual time is instructions plus time spent halted, at
; 1 ns each: ten periods of 1193 PIT clocks are 10 x 999,847.6 ns, and RDTSC shows it.
; Expected: guest/timer.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "gate.inc"

default rel

section .text
global _start
_start:
        PRINT   "timer_loop: 100,000 PIT interrupts through the PIC, each waking a HLT", 10
        lea     rdi, [idt]
        SETGATE 0x20, on_tick, 0x8E
        SETGATE 0x27, on_spurious, 0x8E
        lidt    [idtr]

        mov     al, 0x11                        ; ICW1: edge, cascade, ICW4 follows
        out     0x20, al
        out     0xA0, al
        mov     al, 0x20                        ; ICW2: vector bases
        out     0x21, al
        mov     al, 0x28
        out     0xA1, al
        mov     al, 4                           ; ICW3: slave on IR2
        out     0x21, al
        mov     al, 2
        out     0xA1, al
        mov     al, 1                           ; ICW4: 8086 mode
        out     0x21, al
        out     0xA1, al
        mov     al, 0xFE                        ; OCW1: only IRQ 0
        out     0x21, al
        mov     al, 0xFF
        out     0xA1, al

        mov     al, 0x34                        ; channel 0, lobyte/hibyte, mode 2
        out     0x43, al
        mov     ax, 10
        out     0x40, al
        mov     al, ah
        out     0x40, al

        rdtsc
        shl     rdx, 32
        or      rax, rdx
        mov     r12, rax                        ; virtual time at the start
.wait:  sti
        hlt
        cli
        cmp     qword [ticks], 100000
        jb      .wait

        PRINT   "  100,000 ticks taken", 10
        mov     al, EXIT_OK
        out     DEBUG_EXIT_PORT, al

on_tick:
        inc     qword [ticks]
        push    rax
        mov     al, 0x20                        ; non-specific EOI
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
ticks:  dq 0

section .bss
alignb 16
idt:    resb 256 * 16
