; pml4-image: elf
;
; single_step_fault — RFLAGS.TF over an instruction that page-faults. The #PF comes first (a
; fault: the instruction did not complete, so no single-step trap for it); delivery clears TF, so
; the handler runs untrapped; its IRETQ restores TF = 1 and, TF having been 0 when IRETQ began,
; is not followed by a trap (SDM vol. 3A 17.3.1.4); the load then runs again, completes, and
; the trap comes after it (saved RIP past the load).
; Expected: guest/single_step_fault.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "idt.inc"

default rel

%assign R               0x0000010000000000
%assign RFLAGS_TF       1 << 8

section .bss
alignb 8
events:         resq 1

section .text
global _start
_start:
        call    frames_init
        call    idt_init
        ISR     1, on_debug
        ISR     VEC_PF, on_page_fault
        PRINT   "single_step_fault: TF over a load that faults, then completes", 10
        mov     rbx, R
        pushfq
        or      qword [rsp], RFLAGS_TF
        popfq
.load:  mov     rax, [rbx]                      ; #PF, then #DB after it completes
.next:  pushfq
        and     qword [rsp], ~RFLAGS_TF
        popfq
        PRINT   "events: "
        PUTDEC  qword [rel events]
        NEWLINE
        mov     al, EXIT_OK
        call    exit_debug

on_page_fault:
        push    rbx
        mov     rbx, rdi
        inc     qword [rel events]
        PRINT   "  #PF, saved RIP "
        lea     rdx, [rel _start.load]
        mov     rax, [rbx + F_RIP]
        sub     rax, rdx
        PUTHEX  rax
        PRINT   " from the load, RFLAGS.TF in the frame "
        mov     rax, [rbx + F_RFLAGS]
        shr     rax, 8
        and     eax, 1
        PUTDEC  rax
        NEWLINE
        call    alloc_frame
        mov     rsi, rax
        mov     rdi, R
        mov     rcx, cr3
        mov     rax, PTE_ADDR_MASK
        and     rcx, rax
        mov     edx, PTE_P | PTE_RW
        call    map_4k
        pop     rbx
        ret

on_debug:
        push    rbx
        mov     rbx, rdi
        inc     qword [rel events]
        PRINT   "  #DB, saved RIP "
        lea     rdx, [rel _start.load]
        mov     rax, [rbx + F_RIP]
        sub     rax, rdx
        PUTHEX  rax
        PRINT   " from the load", 10
        pop     rbx
        ret
