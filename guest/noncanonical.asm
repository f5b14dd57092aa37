; pml4-image: elf
;
; noncanonical — a data access at a non-canonical address faults before paging is asked (SDM
; vol. 3A 3.3.7.1), and which exception it is depends on the segment: #SS(0) when the reference
; uses SS (a base of RSP or RBP without a segment override, or an explicit SS:), #GP(0) otherwise
; (vol. 2, "64-Bit Mode Exceptions" of MOV: "#SS(0) If a memory address referencing the SS segment
; is in a non-canonical form. #GP(0) If the memory address is in a non-canonical form."). Each
; handler prints the vector and error code, checks the saved RIP against the faulting instruction
; and resumes after it.
; Expected: guest/noncanonical.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "idt.inc"

default rel

%assign NONCANONICAL    0x8000000000000000

section .bss
alignb 8
expect_rip:     resq 1
resume_rip:     resq 1
taken:          resq 1

; CASE "text", instruction: announce the instruction, run it, expect exactly one exception.
%macro CASE 2+
        PRINT   %1
        lea     rax, [rel %%site]
        mov     [rel expect_rip], rax
        lea     rax, [rel %%after]
        mov     [rel resume_rip], rax
        mov     qword [rel taken], 0
%%site: %2
%%after:
        CHECK_EQ qword [rel taken], 1, "exceptions taken"
%endmacro

section .text
global _start
_start:
        call    idt_init
        ISR     VEC_GP, on_fault
        ISR     12, on_fault
        PRINT   "noncanonical: data accesses at 0x8000000000000000", 10
        mov     rbx, NONCANONICAL
        mov     r12, rbp                        ; keep RBP
        mov     rbp, NONCANONICAL
        mov     rcx, NONCANONICAL
        CASE    "  mov rax, [rbx]          ", mov rax, [rbx]
        CASE    "  mov [rbx + 8], rax      ", mov [rbx + 8], rax
        CASE    "  add [rbx], rax          ", add [rbx], rax
        CASE    "  mov rax, [rbp]          ", mov rax, [rbp]
        CASE    "  mov [rbp - 8], rax      ", mov [rbp - 8], rax
        CASE    "  mov [rsp + rcx], rax    ", mov [rsp + rcx], rax
        CASE    "  mov rax, fs:[rbp]       ", mov rax, [fs:rbp]
        CASE    "  mov rax, ss:[rbx]       ", db 0x36, 0x48, 0x8b, 0x03 ; SS: prefix, mov rax, [rbx]
        mov     rbp, r12
        mov     al, EXIT_OK
        call    exit_debug

; on_fault: rdi = frame.
on_fault:
        push    rbx
        mov     rbx, rdi
        inc     qword [rel taken]
        mov     rax, [rbx + F_VECTOR]
        cmp     rax, 12
        jne     .gp
        PRINT   "#SS("
        jmp     .code
.gp:    PRINT   "#GP("
.code:  PUTHEX  qword [rbx + F_ERROR]
        PRINT   ")"
        mov     rax, [rbx + F_RIP]
        cmp     rax, [rel expect_rip]
        je      .rip_ok
        PRINT   ", RIP NOT the instruction"
.rip_ok:
        NEWLINE
        mov     rax, [rel resume_rip]
        mov     [rbx + F_RIP], rax
        pop     rbx
        ret
