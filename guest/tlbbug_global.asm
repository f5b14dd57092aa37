; pml4-image: elf
;
; tlbbug_global — TLB-coherence bug class 3: a global page's PTE changed, and only CR3 reloaded.
; For `pml4 run --check-tlb`; the report it must give is tlbbug_global.expected-report.
;
; SDM vol. 3A 4.10.4.1: MOV to CR3 invalidates the TLB entries of the current PCID *except*
; global ones (4.10.2.4: G = 1 in the leaf while CR4.PGE = 1); INVLPG, INVPCID or a MOV to CR4
; that changes PGE removes them. Reloading CR3 "to flush the TLB" keeps a global entry stale.
;
; 1. CR4.PGE = 1. Map V -> frame A with G = 1; read V: a global DTLB entry.
; 2. Point the PTE at frame B; mov cr3, cr3.
; 3. Read V (read_global): 0xaaaa through the global entry. The checker reports it.
; 4. Clear CR4.PGE and set it again (flushes global entries): read V gives 0xbbbb.
; Checked: FAIL and EXIT_FAIL (status 3) on a wrong value, EXIT_OK (status 1) at the end.

%include "tlbbug.inc"                 ; pml4.inc, serial.inc, paging.inc, V

default rel

section .text
global _start
_start:
        call    frames_init                     ; rdi = boot info
        PRINT   "tlbbug_global: a global PTE changed, only CR3 reloaded (SDM 4.10.4.1)", 10
        mov     rax, cr4
        or      rax, CR4_PGE
        mov     cr4, rax
        DATA_FRAME r12, 0xaaaa                  ; frame A
        DATA_FRAME r13, 0xbbbb                  ; frame B
        MAP_BOOT V, r12, PTE_P | PTE_RW | PTE_G
        mov     r14, rax                        ; V's PTE
        mov     rbx, V
        mov     rax, [rbx]
        PRINT   "  CR4.PGE = 1; read V: "
        PUTHEX  rax
        PRINT   " (walk: a global entry V -> frame A)", 10
        CHECK_EQ rax, 0xaaaa, "first read of V"

        mov     rax, r13
        or      rax, PTE_P | PTE_RW | PTE_G | PTE_A
global remap
remap:
        mov     [r14], rax
        mov     rax, cr3
        mov     cr3, rax
        PRINT   "  PTE of V -> frame B; mov cr3, cr3", 10
global read_global
read_global:
        mov     rax, [rbx]
        PRINT   "  read V: "
        PUTHEX  rax
        PRINT   " (the global entry survived the CR3 load)", 10
        CHECK_EQ rax, 0xaaaa, "read of V after MOV to CR3"

        mov     rax, cr4
        and     rax, ~CR4_PGE
        mov     cr4, rax
        or      rax, CR4_PGE
        mov     cr4, rax
        mov     rax, [rbx]
        PRINT   "  CR4.PGE toggled; read V: "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0xbbbb, "read of V after toggling CR4.PGE"
        PRINT   "tlbbug_global: ok", 10
        mov     al, EXIT_OK
        call    exit_debug
