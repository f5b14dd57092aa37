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
%include "faultcase.inc"

default rel

%assign NONCANONICAL    0x8000000000000000

; CASE "text", instruction: announce the instruction, run it, expect exactly one exception.
%macro CASE 2+
        PRINT   %1
        EXPECT_FAULT %%site, %%after
%%site: %2
%%after:
        ONE_FAULT_TAKEN
%endmacro

section .text
global _start
_start:
        call    idt_init
        ISR     VEC_GP, on_gp_or_ss
        ISR     12, on_gp_or_ss
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
