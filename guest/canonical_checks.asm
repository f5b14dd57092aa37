; pml4-image: elf
;
; canonical_checks — instructions pml4 carries out itself that must refuse a non-canonical
; address with #GP(0) at the instruction, doing nothing (SDM vol. 2):
;   IRETQ to a non-canonical RIP ("64-bit mode: #GP(0) if the return instruction pointer is
;   non-canonical");
;   SYSRET with RCX non-canonical (SYSRET: "#GP(0) If the return is to 64-bit mode and RCX
;   contains a non-canonical address", taken at CPL 0);
;   WRMSR of a non-canonical value to IA32_LSTAR, IA32_FS_BASE, IA32_GS_BASE (WRMSR: "#GP(0) if
;   the source register contains a non-canonical address and ECX specifies one of ...").
; Expected: guest/canonical_checks.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "idt.inc"
%include "faultcase.inc"

default rel

%assign NONCANONICAL    0x8000000000000000
%assign IA32_EFER       0xc0000080
%assign IA32_LSTAR      0xc0000082
%assign IA32_FS_BASE    0xc0000100
%assign IA32_GS_BASE    0xc0000101

section .bss
alignb 8
resume_rsp:     resq 1

%macro CASE 2+
        PRINT   %1
        EXPECT_FAULT %%site, %%after
        mov     [rel resume_rsp], rsp
%%site: %2
%%after:
        mov     rsp, [rel resume_rsp]
        ONE_FAULT_TAKEN
%endmacro

section .text
global _start
_start:
        call    idt_init
        ISR     VEC_GP, on_gp
        mov     ecx, IA32_EFER                  ; SCE, for SYSRET
        rdmsr
        or      eax, 1
        wrmsr
        PRINT   "canonical_checks: #GP(0) for non-canonical addresses in emulated instructions", 10

        mov     rax, rsp
        push    0x10                            ; SS
        push    rax                             ; RSP
        pushfq
        push    0x08                            ; CS
        mov     rax, NONCANONICAL
        push    rax                             ; RIP
        CASE    "  iretq to 0x8000000000000000      ", iretq
        mov     rcx, NONCANONICAL
        mov     r11, 0x202
        CASE    "  sysretq, RCX = 0x8000000000000000 ", o64 sysret
        mov     ecx, IA32_LSTAR
        mov     eax, 0
        mov     edx, 0x80000000
        CASE    "  wrmsr IA32_LSTAR                 ", wrmsr
        mov     ecx, IA32_FS_BASE
        CASE    "  wrmsr IA32_FS_BASE               ", wrmsr
        mov     ecx, IA32_GS_BASE
        CASE    "  wrmsr IA32_GS_BASE               ", wrmsr
        mov     al, EXIT_OK
        call    exit_debug

on_gp:
        push    rbx
        mov     rbx, rdi
        FAULT_TAKEN
        PRINT   "#GP("
        PUTHEX  qword [rbx + F_ERROR]
        PRINT   ")"
        mov     rax, [rbx + F_RIP]
        cmp     rax, [rel expect_rip]
        je      .rip
        PRINT   ", RIP NOT the instruction"
.rip:   mov     rax, [rbx + F_CS]
        cmp     rax, 0x08
        je      .cs
        PRINT   ", CS "
        PUTHEX  rax
.cs:    NEWLINE
        FAULT_RESUME
        mov     qword [rbx + F_CS], 0x08
        mov     qword [rbx + F_SS], 0x10
        mov     rax, [rel resume_rsp]
        mov     [rbx + F_RSP], rax
        pop     rbx
        ret
