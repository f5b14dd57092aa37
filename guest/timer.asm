; pml4-image: elf
;
; timer — the 8254 PIT on IRQ 0 through the 8259A PIC, in virtual time (BOOT.md, "Devices").
; The kernel remaps the PIC to vectors 0x20-0x2F (ICW1-ICW4), unmasks IRQ 0 only, programs PIT
; channel 0 in mode 2 with divisor 1193 (about 1 kHz of a 1,193,182 Hz clock), and waits for ten
; ticks with STI; HLT. HLT with IF = 1 sleeps until the next interrupt (SDM Vol. 2A HLT); the
; handler counts, sends EOI and returns. Virtual time is instructions plus time spent halted, at
; 1 ns each: ten periods of 1193 PIT clocks are 10 x 999,847.6 ns, and RDTSC shows it.
; Expected: guest/timer.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "gate.inc"
%include "pic.inc"

; guest/timer_loop.asm sets these and includes this file.
%ifndef TICKS
%define TICKS           10
%define DIVISOR         1193
%define TITLE           "timer: PIT channel 0, mode 2, divisor 1193, through the PIC on vector 0x20"
%define CHECK_TIME
%endif

default rel

section .text
global _start
_start:
        PRINT   TITLE, 10
        lea     rdi, [idt]
        SETGATE 0x20, on_tick, 0x8E
        SETGATE 0x27, on_spurious, 0x8E
        lidt    [idtr]

        mov     ax, 0x2820                      ; master at 0x20, slave at 0x28 (ICW1-ICW4)
        call    pic_init
        mov     ax, 0xFFFE                      ; only IRQ 0
        call    pic_mask
        mov     eax, DIVISOR
        mov     edx, 2                          ; mode 2, rate generator
        call    pit_start

        rdtsc
        shl     rdx, 32
        or      rax, rdx
        mov     r12, rax                        ; virtual time at the start
.wait:  sti
        hlt
        cli
        cmp     qword [ticks], TICKS
        jb      .wait

%ifdef CHECK_TIME
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        sub     rax, r12
        PRINT   "  ten ticks; virtual time passed: "
        PUTDEC  rax
        PRINT   " ns", 10
        cmp     rax, 9_000_000                  ; at least nine periods, at most eleven
        jb      .bad
        cmp     rax, 11_000_000
        ja      .bad
        PRINT   "  between 9 and 11 ms: ok", 10
        mov     al, EXIT_OK
        out     DEBUG_EXIT_PORT, al
.bad:   PRINT   "FAIL: the ticks did not come once per millisecond", 10
        mov     al, EXIT_FAIL
        out     DEBUG_EXIT_PORT, al
%else
        PRINT   "  100,000 ticks taken", 10
        mov     al, EXIT_OK
        out     DEBUG_EXIT_PORT, al
%endif

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
