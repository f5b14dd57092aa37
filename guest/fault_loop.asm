; pml4-image: elf
;
; fault_loop — a million exceptions in a row, to show that delivery and IRETQ leak nothing and
; keep working (and to time a round trip: pml4 bench). Each round takes a #BP (INT3, a trap)
; and, every tenth round, a #PF: the handler makes the page present, INVLPG is not needed for a
; not-present entry (SDM 4.10.4.3: such entries are not cached), and the access is retried; the
; kernel then clears P again and INVLPGs the page so the next access faults once more.
; Expected: guest/fault_loop.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "gate.inc"

default rel

%assign ROUNDS          1000000
%assign PAGE            0x0000008000000000      ; PML4[1]: a 4 KiB page of its own

section .text
global _start
_start:
        call    frames_init
        PRINT   "fault_loop: a million #BP round trips and a hundred thousand #PF retries", 10
        lea     rdi, [idt]
        SETGATE 3, on_bp, 0x8E
        SETGATE 14, on_pf, 0x8E
        lidt    [idtr]
        mov     rcx, cr3
        and     rcx, ~0xfff
        mov     edx, 0x5a
        call    data_frame
        mov     rsi, rax
        mov     rdi, PAGE
        mov     edx, PTE_RW                     ; not present yet
        call    map_4k
        mov     [pte], rax                      ; the PTE's physical address (identity-mapped)

        mov     r15, ROUNDS
        mov     rbx, PAGE
.round: int3
        mov     rax, r15
        xor     edx, edx
        mov     ecx, 10
        div     rcx
        test    rdx, rdx
        jnz     .next
        mov     rax, [rbx]                      ; faults: the handler sets P
        add     r14, rax
        mov     rax, [pte]
        and     qword [rax], ~PTE_P             ; not present again
        invlpg  [rbx]
.next:  dec     r15
        jnz     .round

        PRINT   "  #BP taken: "
        PUTDEC  qword [bps]
        PRINT   ", #PF taken: "
        PUTDEC  qword [pfs]
        PRINT   ", sum of the retried reads: "
        PUTDEC  r14
        NEWLINE
        CHECK_EQ qword [bps], ROUNDS, "one #BP per round"
        CHECK_EQ qword [pfs], ROUNDS / 10, "one #PF every tenth round"
        mov     al, EXIT_OK
        out     DEBUG_EXIT_PORT, al

on_bp:  inc     qword [bps]
        iretq
on_pf:  inc     qword [pfs]
        push    rax
        mov     rax, [pte]
        or      qword [rax], PTE_P
        pop     rax
        add     rsp, 8                          ; the error code
        iretq

section .data
idtr:   dw 256 * 16 - 1
        dq idt
bps:    dq 0
pfs:    dq 0
pte:    dq 0

section .bss
alignb 16
idt:    resb 256 * 16
