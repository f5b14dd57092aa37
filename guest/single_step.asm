; pml4-image: elf
;
; single_step — RFLAGS.TF: a single-step trap (#DB, vector 1) after each instruction.
; SDM vol. 3A 17.3.1.4: with TF = 1 the processor generates a debug exception after every
; instruction, a trap: the saved RIP is the next instruction, and DR6.BS (bit 14) is set. An
; instruction that sets TF (POPF here) is not itself followed by a trap: the first one comes
; after the instruction after it (17.3.1.4, and POPF in vol. 2B). Delivery clears TF (6.12.1),
; so the handler runs without traps; IRETQ restores TF from the frame.
;
; The kernel sets TF with POPF, runs inc r8; inc r9; inc r10; xor eax, eax; cpuid, then clears
; TF with PUSHFQ; AND; POPFQ. TF is looked at before each instruction (Bochs: "TF is set before execution of next
; instruction: schedule a #DB after it"), so the POPF that clears it is still followed by a trap:
; eight traps, with saved RIPs .a + 3, 6, 9, 0xb, 0xd, 0xe, 0x16 and 0x17. The handler prints each saved RIP
; as an offset from .a, and DR6.BS.
; Expected: guest/single_step.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "idt.inc"

default rel

%assign RFLAGS_TF       1 << 8

section .bss
alignb 8
traps:          resq 1

section .text
global _start
_start:
        call    idt_init
        ISR     1, on_debug
        PRINT   "single_step: RFLAGS.TF set by POPF over three INCs", 10
        xor     r8d, r8d
        xor     r9d, r9d
        xor     r10d, r10d
        pushfq
        or      qword [rsp], RFLAGS_TF
        popfq                                   ; TF = 1 from here, but no trap after the POPF itself
.a:     inc     r8
.b:     inc     r9
.c:     inc     r10
        xor     eax, eax
        cpuid                                   ; an instruction pml4 emulates: trapped as well
.d:     pushfq
.e:     and     qword [rsp], ~RFLAGS_TF
.f:     popfq                                   ; TF = 0
.g:     nop
        PRINT   "traps: "
        PUTDEC  qword [rel traps]
        NEWLINE
        mov     al, EXIT_OK
        call    exit_debug

on_debug:
        push    rbx
        mov     rbx, rdi
        inc     qword [rel traps]
        PRINT   "  #DB, saved RIP "
        mov     rax, [rbx + F_RIP]
        lea     rdx, [rel _start.a]
        sub     rax, rdx
        PUTHEX  rax
        PRINT   " past .a, DR6.BS "
        mov     rax, dr6
        shr     rax, 14
        and     eax, 1
        PUTDEC  rax
        NEWLINE
        pop     rbx
        ret
