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

default rel

section .bss
alignb 8
expect_rip:     resq 1
resume_rip:     resq 1
taken:          resq 1

%macro CASE 2+
        PRINT   %1
        lea     rax, [rel %%site]
        mov     [rel expect_rip], rax
        lea     rax, [rel %%after]
        mov     [rel resume_rip], rax
        mov     qword [rel taken], 0
        mov     rax, r12
        mov     rdx, r13
%%site: %2
%%after:
        CHECK_EQ qword [rel taken], 1, "exceptions taken"
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
        inc     qword [rel taken]
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
        mov     rax, [rel resume_rip]
        mov     [rbx + F_RIP], rax
        pop     rbx
        ret
