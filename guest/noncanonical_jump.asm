; pml4-image: elf
;
; noncanonical_jump — near branches to non-canonical addresses (0x8000000000000000 and
; 0x0000900000000000). RIP can never hold one: the
; branch itself faults, #GP(0) with the saved RIP at the branch and nothing of it done (SDM vol.
; 2A JMP, CALL and vol. 2B RET, "64-Bit Mode Exceptions": "#GP(0) If the target offset is
; non-canonical"; CALL pushes nothing, RET pops nothing). The handler checks the saved RIP and
; RSP and resumes after the branch.
; Expected: guest/noncanonical_jump.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "idt.inc"
%include "faultcase.inc"

default rel

%assign NONCANONICAL    0x8000000000000000

section .bss
alignb 8
expect_rsp:     resq 1

%macro CASE 2+
        PRINT   %1
        EXPECT_FAULT %%site, %%after
        mov     rax, NONCANONICAL
        mov     [rel expect_rsp], rsp
%%site: %2
%%after:
        ONE_FAULT_TAKEN
%endmacro

section .text
global _start
_start:
        call    idt_init
        ISR     VEC_GP, on_gp
        PRINT   "noncanonical_jump: near branches to non-canonical addresses", 10
        CASE    "  jmp rax        ", jmp rax
        CASE    "  call rax       ", call rax
        mov     rbx, NONCANONICAL
        push    rbx
        CASE    "  ret (to it)    ", ret
        add     rsp, 8
        mov     [rel target], rax
        CASE    "  jmp [target]   ", jmp [rel target]
        mov     rcx, 0x0000900000000000         ; non-canonical too: bit 47 set, 63:48 clear
        CASE    "  jmp rcx (2^47 + 2^44)  ", jmp rcx
        CASE    "  call rcx (2^47 + 2^44) ", call rcx
        mov     al, EXIT_OK
        call    exit_debug

on_gp:
        push    rbx
        mov     rbx, rdi
        FAULT_TAKEN
        PRINT   "#GP("
        PUTHEX  qword [rbx + F_ERROR]
        PRINT   "), saved RIP "
        mov     rax, [rbx + F_RIP]
        cmp     rax, [rel expect_rip]
        je      .rip
        PUTHEX64 rax
        PRINT   " NOT the branch"
        jmp     .rsp
.rip:   PRINT   "the branch"
.rsp:   mov     rax, [rbx + F_RSP]
        cmp     rax, [rel expect_rsp]
        je      .rsp_ok
        PRINT   ", RSP CHANGED"
.rsp_ok:
        NEWLINE
        FAULT_RESUME
        mov     rax, [rel expect_rsp]
        mov     [rbx + F_RSP], rax
        pop     rbx
        ret

section .data
target: dq 0
