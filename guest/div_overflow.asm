; pml4-image: elf
;
; div_overflow — #DE for a divisor of zero and for a quotient that does not fit (SDM vol. 2A DIV,
; IDIV: "#DE If the source operand (divisor) is 0. If the quotient is too large for the
; designated register."), each a fault at the DIV with RAX and RDX unchanged, several in a row.
; Expected: guest/div_overflow.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "idt.inc"
%include "faultcase.inc"

default rel

%macro CASE 2+
        PRINT   %1
        EXPECT_FAULT %%site, %%after
        mov     rax, r12
        mov     rdx, r13
%%site: %2
%%after:
        ONE_FAULT_TAKEN
%endmacro

section .text
global _start
_start:
        call    idt_init
        ISR     0, on_de
        PRINT   "div_overflow: #DE, one after another", 10
        mov     rcx, 0
        mov     r12, 5
        mov     r13, 0
        CASE    "  div rcx, rcx = 0                 ", div rcx
        mov     rcx, 1
        mov     r12, 0
        mov     r13, 1
        CASE    "  div rcx, rdx:rax = 2^64, rcx = 1 ", div rcx
        mov     rcx, -1
        mov     r12, 0x8000000000000000
        mov     r13, -1
        CASE    "  idiv rcx, -2^63 / -1             ", idiv rcx
        mov     ecx, 2
        mov     r12, 0
        mov     r13, 2
        CASE    "  div ecx, edx:eax = 2^33, ecx = 2 ", div ecx
        mov     cl, 0
        CASE    "  div cl, cl = 0                   ", div cl
        mov     al, EXIT_OK
        call    exit_debug

on_de:
        push    rbx
        mov     rbx, rdi
        FAULT_TAKEN
        PRINT   "#DE"
        mov     rax, [rbx + F_RIP]
        cmp     rax, [rel expect_rip]
        je      .rip
        PRINT   ", RIP NOT the instruction"
.rip:   mov     rax, [rbx + F_RAX]
        cmp     rax, r12
        jne     .changed
        mov     rax, [rbx + F_RDX]
        cmp     rax, r13
        jne     .changed
        PRINT   ", RAX and RDX unchanged", 10
        jmp     .resume
.changed:
        PRINT   ", RAX or RDX CHANGED", 10
.resume:
        FAULT_RESUME
        pop     rbx
        ret
