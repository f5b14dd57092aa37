; pml4-image: elf
;
; The demand-paging lab: your kernel. Read README.md, then write handle_page_fault below.
; lab.inc is the rest of the kernel (do not change it): it touches a heap that nothing maps, and
; calls handle_page_fault on every page fault.
;
; Build and run:   make guests && bin/pml4 run guest/build/labs/demand-paging/skeleton.elf
; Grade:           bin/pml4 grade guest/labs/demand-paging/lab.toml guest/build/labs/demand-paging/skeleton.elf

%include "lab.inc"

section .text
; handle_page_fault
;   in:  rdi = CR2, the linear address that faulted
;        rsi = the #PF error code: bit 0 P (0: the page was not present), bit 1 W/R (1: a write),
;              bit 2 U/S (1: from CPL 3) (SDM vol. 3A 4.7, figure 4-12)
;   out: rax = 0 when the fault is handled (the access runs again), anything else to refuse it
; Keep rbx, rbp and r12-r15.
handle_page_fault:
        ; TODO: a not-present fault on a heap page (HEAP <= CR2 < HEAP_END) gets a fresh zeroed
        ; frame (alloc_frame), mapped present and writable, supervisor only, at the page of CR2
        ; (map_4k, with the PML4 from CR3). Any other fault is refused.
        mov     rax, -1                         ; for now: refuse everything
        ret
