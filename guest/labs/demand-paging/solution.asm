; pml4-image: elf
;
; The demand-paging lab: the reference solution (for instructors; not handed out).

%include "lab.inc"

section .text
; handle_page_fault: rdi = CR2, rsi = #PF error code -> rax = 0 handled, -1 refused.
handle_page_fault:
        test    rsi, PF_P | PF_US               ; a protection fault, or one from user mode: refuse
        jnz     .refuse
        mov     rax, HEAP
        cmp     rdi, rax
        jb      .refuse
        mov     rax, HEAP_END
        cmp     rdi, rax
        jae     .refuse
        call    alloc_frame                     ; rax = a zeroed frame
        mov     rsi, rax
        and     rdi, ~(PAGE_SIZE - 1)           ; the page of CR2
        mov     rcx, cr3
        mov     rax, PTE_ADDR_MASK
        and     rcx, rax                        ; the PML4's physical address
        mov     edx, PTE_P | PTE_RW             ; present, writable, supervisor
        call    map_4k
        xor     eax, eax                        ; a not-present entry was never cached: no INVLPG
        ret                                     ; needed (SDM vol. 3A 4.10.4.3)
.refuse:
        mov     rax, -1
        ret
