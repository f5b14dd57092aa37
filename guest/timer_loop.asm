; pml4-image: elf
;
; timer_loop — the timer benchmark (pml4 bench): 100,000 PIT interrupts, each waking a HLT.
; guest/timer.asm with more ticks and divisor 10 (~8.4 us of virtual time).
; Expected: guest/timer_loop.expected, status 1.

%define TICKS           100000
%define DIVISOR         10
%define TITLE           "timer_loop: 100,000 PIT interrupts through the PIC, each waking a HLT"
%include "guest/timer.asm"
