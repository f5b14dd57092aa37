; pml4-image: elf
;
; noncanonical_stack — stack accesses with RSP non-canonical: #SS(0) (SDM vol. 2B PUSH, POP,
; "64-Bit Mode Exceptions": "#SS(0) If the stack address is in a non-canonical form"; vol. 2A
; CALL likewise). The #SS gate uses IST1 (SDM vol. 3A 6.14.5), since the faulting stack cannot
; take the frame. The handler checks the saved RIP and RSP (unchanged: the instruction did
; nothing) and resumes after the instruction on the kernel's stack.
; Expected: guest/noncanonical_stack.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "gdt.inc"
%include "idt.inc"
%include "faultcase.inc"

default rel

%assign BAD_RSP         0x8000000000000008      ; RSP - 8 = 0x8000000000000000, non-canonical

section .bss
alignb 8
good_rsp:       resq 1

%macro CASE 2+
        PRINT   %1
        EXPECT_FAULT %%site, %%after
        mov     [rel good_rsp], rsp
        mov     rsp, BAD_RSP
%%site: %2
%%after:
        ONE_FAULT_TAKEN
%endmacro

section .text
global _start
_start:
        call    gdt_init
        call    idt_init
        ISR     12, on_ss, GATE_INTERRUPT, 1
        ISR     VEC_GP, on_gp, GATE_INTERRUPT, 1
        PRINT   "noncanonical_stack: PUSH, POP, CALL and a load through RSP = 0x8000000000000008", 10
        CASE    "  push rax         ", push rax
        CASE    "  pop rax          ", pop rax
        CASE    "  call (rel32)     ", call _start
        CASE    "  mov rax, [rsp-8] ", mov rax, [rsp - 8]
        mov     al, EXIT_OK
        call    exit_debug

on_ss:
        push    rbx
        mov     rbx, rdi
        FAULT_TAKEN
        PRINT   "#SS("
        PUTHEX  qword [rbx + F_ERROR]
        PRINT   ")"
        mov     rax, [rbx + F_RIP]
        cmp     rax, [rel expect_rip]
        je      .rip
        PRINT   ", RIP NOT the instruction"
.rip:   mov     rax, [rbx + F_RSP]
        mov     rdx, BAD_RSP
        cmp     rax, rdx
        je      .rsp
        PRINT   ", RSP CHANGED"
.rsp:   NEWLINE
        FAULT_RESUME
        mov     rax, [rel good_rsp]
        mov     [rbx + F_RSP], rax
        pop     rbx
        ret

on_gp:
        push    rbx
        mov     rbx, rdi
        PRINT   "#GP (not #SS)", 10
        FAULT_TAKEN
        FAULT_RESUME
        mov     rax, [rel good_rsp]
        mov     [rbx + F_RSP], rax
        pop     rbx
        ret
