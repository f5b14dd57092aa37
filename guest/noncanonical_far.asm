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

default rel

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
        ISR     VEC_GP, on_fault
        ISR     12, on_fault
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
