; pml4-image: elf
;
; nx_smep — instruction fetches that paging refuses, each a #PF with I/D = 1 (SDM vol. 3A 4.7;
; I/D is reported with EFER.NXE = 1 on 4-level paging):
;   1. a CALL to a present page with XD = 1 (4.6: no instruction fetch from it when EFER.NXE = 1):
;      error 0x11 (P, I/D), CR2 and the saved RIP the page's address; the CALL itself has
;      completed, its return address pushed (6.15: the fault is the fetch at the target);
;   2. a CALL at CPL 0 to a user page with CR4.SMEP = 1 (4.6.1: supervisor-mode fetches from
;      user-mode pages are not allowed): error 0x11 again.
; The handler makes the fetch allowed (clears XD with INVLPG; clears CR4.SMEP) and returns; the
; page's RET then brings the CALL back.
; Expected: guest/nx_smep.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "idt.inc"

default rel

%assign R               0x0000010000000000
%assign IA32_EFER       0xc0000080
%assign EFER_NXE        1 << 11
%assign CR4_SMEP        1 << 20
%assign PTE_XD          1 << 63

section .bss
alignb 8
faults:         resq 1
nx_pte:         resq 1                          ; the PTE of page 0, as map_4k returned it

section .text
global _start
_start:
        call    frames_init
        call    idt_init
        ISR     VEC_PF, on_page_fault
        mov     ecx, IA32_EFER
        rdmsr
        or      eax, EFER_NXE
        wrmsr
        PRINT   "nx_smep: fetches that paging refuses", 10

        ; page 0: XD, supervisor; page 1: user, executable. Each holds a RET.
        call    alloc_frame
        mov     byte [rax], 0xc3
        mov     rsi, rax
        mov     rdi, R
        mov     rcx, cr3
        mov     rdx, PTE_ADDR_MASK
        and     rcx, rdx
        mov     rdx, PTE_P | PTE_RW | PTE_XD
        call    map_4k
        mov     [rel nx_pte], rax
        call    alloc_frame
        mov     byte [rax], 0xc3
        mov     rsi, rax
        mov     rdi, R + PAGE_SIZE
        mov     rcx, cr3
        mov     rdx, PTE_ADDR_MASK
        and     rcx, rdx
        mov     edx, PTE_P | PTE_RW | PTE_US
        call    map_4k

        PRINT   "call to an XD page", 10
        mov     r12, rsp
        mov     rax, R
        call    rax
        PRINT   "  back; faults so far: "
        PUTDEC  qword [rel faults]
        NEWLINE

        PRINT   "call to a user page at CPL 0 with CR4.SMEP = 1", 10
        mov     rax, cr4
        or      rax, CR4_SMEP
        mov     cr4, rax
        mov     rax, R + PAGE_SIZE
        call    rax
        PRINT   "  back; faults so far: "
        PUTDEC  qword [rel faults]
        NEWLINE
        CHECK_EQ qword [rel faults], 2, "page faults"
        mov     al, EXIT_OK
        call    exit_debug

on_page_fault:
        push    rbx
        mov     rbx, rdi
        inc     qword [rel faults]
        PRINT   "  #PF error "
        PUTHEX  qword [rbx + F_ERROR]
        PRINT   ", CR2 R+"
        mov     rax, cr2
        mov     rdx, R
        sub     rax, rdx
        PUTHEX  rax
        PRINT   ", RIP R+"
        mov     rax, [rbx + F_RIP]
        mov     rdx, R
        sub     rax, rdx
        PUTHEX  rax
        PRINT   ", the return address pushed: "
        mov     rax, [rbx + F_RSP]
        lea     rdx, [r12 - 8]
        cmp     rax, rdx
        je      .pushed
        PRINT   "NO", 10
        jmp     .allow
.pushed:
        PRINT   "yes", 10
.allow: mov     rax, cr2
        mov     rdx, R
        cmp     rax, rdx
        jne     .smep
        mov     rax, [rel nx_pte]               ; clear XD, drop the TLB entry
        btr     qword [rax], 63
        mov     rax, R
        invlpg  [rax]
        jmp     .done
.smep:  mov     rax, cr4
        and     rax, ~CR4_SMEP
        mov     cr4, rax
.done:  pop     rbx
        ret
