; pml4-image: elf
;
; tlbbug_dirty — TLB-coherence bug class 5: a pager clears the dirty flag of a page it wrote back,
; without INVLPG, and the page is written again. For `pml4 run --check-tlb`; the report it must
; give is tlbbug_dirty.expected-report (a dirty-bit warning, not a stale use).
;
; SDM vol. 3A 4.8: the processor sets D in the PTE on the first write through a translation whose
; TLB entry does not hold D; 4.10.4.3: after software clears D without invalidating, a write
; through the cached (dirty) translation need not set D again. The pager sees a clean page and
; drops the second write.
;
; 1. Map V -> frame A; write V: D = 1, a dirty DTLB entry.
; 2. "Write the page back", clear D in the PTE, no INVLPG.
; 3. Write V (write_after_clean): D stays 0. The checker warns.
; 4. Clear D with INVLPG [V] this time; write V: D = 1 again.
; Checked: FAIL and EXIT_FAIL (status 3) on a wrong value, EXIT_OK (status 1) at the end.

%include "tlbbug.inc"                 ; pml4.inc, serial.inc, paging.inc, V

default rel

section .text
global _start
_start:
        call    frames_init                     ; rdi = boot info
        PRINT   "tlbbug_dirty: D cleared without INVLPG (SDM 4.8, 4.10.4.3)", 10
        call    alloc_frame
        MAP_BOOT V, rax, PTE_P | PTE_RW
        mov     r14, rax                        ; V's PTE
        mov     rbx, V
        mov     qword [rbx], 0x1111
        mov     rax, [r14]
        PRINT   "  write V: PTE "
        call    print_ad
        NEWLINE

global clean
clean:
        and     qword [r14], ~PTE_D
        PRINT   "  pager: page written back, D cleared, no INVLPG", 10
global write_after_clean
write_after_clean:
        mov     qword [rbx], 0x2222
        mov     rax, [r14]
        PRINT   "  write V: PTE "
        call    print_ad
        PRINT   " (the pager will think V is clean)", 10
        and     eax, PTE_D
        CHECK_EQ rax, 0, "D after a write through the dirty TLB entry"

        and     qword [r14], ~PTE_D
        invlpg  [rbx]
        mov     qword [rbx], 0x3333
        mov     rax, [r14]
        PRINT   "  D cleared, invlpg [V]; write V: PTE "
        call    print_ad
        NEWLINE
        and     eax, PTE_D
        CHECK_EQ rax, PTE_D, "D after INVLPG and a write"
        PRINT   "tlbbug_dirty: ok", 10
        mov     al, EXIT_OK
        call    exit_debug
