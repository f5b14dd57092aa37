; pml4-image: elf
;
; tlbbug_unmap — TLB-coherence bug class 2: a page unmapped (PTE cleared) without INVLPG, then
; read. For `pml4 run --check-tlb`; the report it must give is tlbbug_unmap.expected-report.
;
; SDM vol. 3A 4.10.4.2: clearing P in a PTE does not remove the TLB entry; until INVLPG (4.10.4.1)
; the processor may go on translating through it (4.10.2.3), so the "unmapped" page still reads,
; and a frame freed with it would still be reachable.
;
; 1. Map V -> frame A (0xaaaa); read V: a DTLB entry V -> A.
; 2. Clear the PTE (unmap), no INVLPG.
; 3. Read V (read_unmapped): 0xaaaa through the stale entry. The checker reports it; a fresh walk
;    gives #PF (PTE not present).
; 4. INVLPG [V]: the entry is gone; the kernel does not touch V again (it would fault).
; Checked: FAIL and EXIT_FAIL (status 3) on a wrong value, EXIT_OK (status 1) at the end.

%include "tlbbug.inc"                 ; pml4.inc, serial.inc, paging.inc, V

default rel

section .text
global _start
_start:
        call    frames_init                     ; rdi = boot info
        PRINT   "tlbbug_unmap: a PTE cleared without INVLPG (SDM 4.10.4.2)", 10
        DATA_FRAME r12, 0xaaaa                  ; frame A
        MAP_BOOT V, r12, PTE_P | PTE_RW
        mov     r14, rax                        ; V's PTE
        mov     rbx, V
        mov     rax, [rbx]
        PRINT   "  read V: "
        PUTHEX  rax
        PRINT   " (walk: V -> frame A)", 10
        CHECK_EQ rax, 0xaaaa, "first read of V"

global unmap
unmap:
        mov     qword [r14], 0
        PRINT   "  PTE of V cleared (unmapped), no INVLPG", 10
global read_unmapped
read_unmapped:
        mov     rax, [rbx]
        PRINT   "  read V: "
        PUTHEX  rax
        PRINT   " (the stale entry still maps it)", 10
        CHECK_EQ rax, 0xaaaa, "read of V after the unmap without INVLPG"
        invlpg  [rbx]
        PRINT   "  invlpg [V]: V is unmapped now", 10
        PRINT   "tlbbug_unmap: ok", 10
        mov     al, EXIT_OK
        call    exit_debug
