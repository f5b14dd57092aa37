; pml4-image: elf
;
; idt_triple — a triple fault on purpose: an IDT whose limit covers vectors 0-7 only. INT3
; (vector 3) is delivered; a page fault (vector 14) is not, and neither is the double fault that
; follows, so the processor shuts down.
;
; SDM vol. 3A 6.10: a vector whose gate lies beyond the IDT limit raises #GP, with an error code
; naming the gate (6.13: vector << 3 | IDT (bit 1) | EXT (bit 0) when the event was not the
; program's own INT n). 6.15 table 6-5: a contributory exception (#GP) while delivering a page
; fault is a double fault. 6.15 (interrupt 8): "If another exception occurs while attempting to
; call the double-fault handler, the processor enters shutdown mode" — the triple fault.
;   read of 0x0000010000000000   #PF (CR2 = that address, error code 0)
;   gate 14 beyond the limit     #GP(0x73) while delivering #PF  -> #DF
;   gate 8 beyond the limit      #GP(0x43) while delivering #DF  -> shutdown
; pml4 ends the run with status 4 and shows the chain (on stderr, not in the transcript). The
; transcript is what the kernel prints before the read; should the read return, it prints
; "FAIL: ..." and exits with EXIT_FAIL (status 3).

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "idt.inc"

default rel

%assign UNMAPPED        0x0000010000000000
%assign SHORT_LIMIT     8 * 16 - 1              ; gates 0-7

section .data
align 16
        dw      0, 0, 0
short_idtr:
        dw      SHORT_LIMIT
        dq      idt

section .bss
alignb 8
breakpoints:    resq 1

section .text
global _start
_start:
        call    idt_init
        ISR     VEC_BP, on_breakpoint
        lidt    [short_idtr]
        PRINT   "idt_triple: an IDT too short for a page fault (SDM vol. 3A 6.10, 6.15 table 6-5)", 10
        PRINT   "  lidt: limit 0x7f, gates 0-7 (#DE to #NM); the gates of #DF, #GP and #PF lie beyond it", 10

        PRINT   "int3", 10
global breakpoint
breakpoint:
        int3
        CHECK_EQ qword [breakpoints], 1, "#BP handled"

        PRINT   "read [0x0000010000000000] (not mapped):", 10
        PRINT   "  #PF -> gate 14 beyond the limit: #GP(0x73) -> #DF -> gate 8 beyond the limit: triple fault", 10
        mov     rbx, UNMAPPED
global faulting_read
faulting_read:
        mov     rax, [rbx]
        FAIL    "the read of an unmapped address returned"

; on_breakpoint: rdi = frame.
on_breakpoint:
        PRINT   "  "
        mov     rax, [rdi + F_VECTOR]
        call    print_vector
        PRINT   " delivered: gate 3 is within the limit", 10
        lea     rcx, [rel breakpoint + 1]
        CHECK_EQ qword [rdi + F_RIP], rcx, "saved RIP of #BP (after the INT3)"
        inc     qword [rel breakpoints]
        ret
