; pml4-image: elf
;
; tlbbug_remap — TLB-coherence bug class 1: a PTE pointed at another frame, and the INVLPG that
; should follow given the wrong address. For `pml4 run --check-tlb`; the report it must give is
; tlbbug_remap.expected-report.
;
; SDM vol. 3A 4.10.4.2: after changing the frame of a PTE, software must invalidate the page
; (INVLPG m for an address m in the page, 4.10.4.1) before relying on the new translation; until
; then the processor may go on using the TLB entry, old frame and all (4.10.2.3).
;
; 1. Map V -> frame A (PML4[1] of the boot PML4; not present -> present needs no invalidation).
; 2. Write V: a walk, D = 1, a dirty DTLB entry V -> A.
; 3. Point V's PTE at frame B, and "invalidate" with INVLPG [V + 0x1000]: the wrong page, which has
;    no TLB entry at all (the checker's hint).
; 4. Write V again (write_stale): the stale entry sends it to frame A. The checker reports it.
; 5. INVLPG [V]: the next read walks and reads frame B; frame A holds what step 4 wrote.
; Every value is checked: FAIL and EXIT_FAIL (status 3) on a wrong one, EXIT_OK (status 1) at the end.

%include "tlbbug.inc"                 ; pml4.inc, serial.inc, paging.inc, V

default rel

section .text
global _start
_start:
        call    frames_init                     ; rdi = boot info
        PRINT   "tlbbug_remap: a PTE changed, INVLPG of the wrong page (SDM 4.10.4.2)", 10
        DATA_FRAME r12, 0xaaaa                  ; frame A
        DATA_FRAME r13, 0xbbbb                  ; frame B
        MAP_BOOT V, r12, PTE_P | PTE_RW
        mov     r14, rax                        ; V's PTE
        mov     rbx, V

        mov     qword [rbx], 0x1111
        PRINT   "  write V = 0x1111 (walk: V -> frame A, dirty)", 10

        mov     rax, r13
        or      rax, PTE_P | PTE_RW | PTE_A | PTE_D
global remap
remap:
        mov     [r14], rax
global wrong_invlpg
wrong_invlpg:
        invlpg  [rbx + PAGE_SIZE]
        PRINT   "  PTE of V -> frame B; invlpg [V + 0x1000] (the wrong page)", 10

global write_stale
write_stale:
        mov     qword [rbx], 0x2222
        PRINT   "  write V = 0x2222 (through the stale entry: frame A)", 10

        invlpg  [rbx]
        mov     rax, [rbx]
        PRINT   "  invlpg [V]; read V: "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0xbbbb, "read of V after INVLPG [V] (frame B)"
        mov     rax, [r12]
        PRINT   "  frame A holds "
        PUTHEX  rax
        PRINT   " (the write that went astray)", 10
        CHECK_EQ rax, 0x2222, "frame A after the stale write"
        PRINT   "tlbbug_remap: ok", 10
        mov     al, EXIT_OK
        call    exit_debug
