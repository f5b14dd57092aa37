; pml4-image: elf
;
; cr3_switch — two address spaces, switched in a loop: the benchmark of a CR3 switch (pml4
; bench). Each space maps the virtual page V to its own frame; every round loads CR3 with
; space A, reads V, loads space B, reads V. MOV to CR3 without PCIDs flushes every non-global
; TLB entry (SDM 4.10.4.1), so each read after a switch misses the TLB and walks again, and the
; code and stack pages are walked again too.
; Expected: guest/cr3_switch.expected, status 1 (EXIT_OK).

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"

default rel

%assign V               0x0000008000000000      ; PML4[1]: a page of its own in each space
%assign ROUNDS          20000

section .text
global _start
_start:
        call    frames_init
        PRINT   "cr3_switch: two address spaces, CR3 switched between them in a loop", 10
        mov     rcx, cr3
        mov     rax, PTE_ADDR_MASK
        and     rcx, rax
        mov     r12, rcx                        ; space A: the boot PML4
        call    alloc_frame
        mov     r13, rax                        ; space B
        mov     rax, [r12]                      ; the identity map of low memory, shared
        mov     [r13], rax

        mov     rcx, r12
        mov     edx, 0xa
        call    data_frame
        mov     rsi, rax
        mov     rdi, V
        mov     edx, PTE_P | PTE_RW
        call    map_4k
        mov     rcx, r13
        mov     edx, 0xb
        call    data_frame
        mov     rsi, rax
        mov     rdi, V
        mov     edx, PTE_P | PTE_RW
        call    map_4k

        mov     rbx, V
        xor     r14, r14                        ; sum of what was read
        mov     r15, ROUNDS
.round:
        mov     cr3, r12
        add     r14, [rbx]
        mov     cr3, r13
        add     r14, [rbx]
        dec     r15
        jnz     .round
        mov     cr3, r12

        PRINT   "  rounds: "
        PUTDEC  ROUNDS
        PRINT   ", sum of the reads: "
        PUTDEC  r14
        NEWLINE
        mov     rax, ROUNDS * (0xa + 0xb)
        CHECK_EQ r14, rax, "each space read its own frame after every switch"
        PRINT   "  each space read its own frame after every switch", 10
        mov     al, EXIT_OK
        out     DEBUG_EXIT_PORT, al
