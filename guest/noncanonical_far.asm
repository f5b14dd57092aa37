; pml4-image: elf
;
; noncanonical_far — non-canonical data addresses far from the canonical halves, where a machine
; (or an emulator) might keep memory of its own: 0x0000800000000000 just past the lower half, and
; 0x4000…, 0x5000…, 0x6000…, 0x7000… (bit 62 set: non-canonical with 4- and 5-level paging alike,
; SDM vol. 3A 3.3.7.1, 4.5.1). Each load, store and read-modify-write faults before paging is asked:
; #GP(0), or #SS(0) through SS (an RBP base). The handler checks the saved RIP against the faulting
; instruction and resumes after it; nothing is read or written anywhere.
; Expected: guest/noncanonical_far.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "idt.inc"
%include "faultcase.inc"

default rel

; CASE "text", instruction: announce the instruction, run it, expect exactly one exception.
%macro CASE 2+
        PRINT   %1
        EXPECT_FAULT %%site, %%after
%%site: %2
%%after:
        ONE_FAULT_TAKEN
%endmacro

; AT address: the cases at one address (RBX and RBP point there).
%macro AT 1
%defstr AT_TEXT %1
        PRINT   "at ", AT_TEXT, 10
        mov     rbx, %1
        mov     rbp, %1
        CASE    "  mov rax, [rbx + 16]     ", mov rax, [rbx + 16]
        CASE    "  mov [rbx + 8], rax      ", mov [rbx + 8], rax
        CASE    "  add [rbx], rax          ", add [rbx], rax
        CASE    "  mov rax, [rbp]          ", mov rax, [rbp]
%endmacro

section .text
global _start
_start:
        call    idt_init
        ISR     VEC_GP, on_gp_or_ss
        ISR     12, on_gp_or_ss
        PRINT   "noncanonical_far: data accesses at non-canonical addresses far from both halves", 10
        mov     r12, rbp                        ; keep RBP
        AT      0x0000800000000000
        AT      0x4000000000000000
        AT      0x5000000000000010
        AT      0x6000000000000000
        AT      0x7000000000000000
        mov     rbp, r12
        mov     al, EXIT_OK
        call    exit_debug
