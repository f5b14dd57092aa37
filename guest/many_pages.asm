; pml4-image: elf
;
; many_pages — 8,192 pages of 4 KiB, each written and then read back, in an address space of
; its own. With a TLB as large as `--tlb d4k=1024x8` every one of them stays resident, far more
; than Unicorn 2.0.1 can hold as separate mappings (it aborts the process before 4,096 regions):
; pml4 keeps the TLB model as large as asked and bounds what the engine maps, so a TLB hit on a
; page the engine no longer maps costs a Java lookup and nothing else changes (issue 13).
; Expected: guest/many_pages.expected, status 1 (with any TLB geometry).

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"

default rel

%assign PAGES   8192
%assign BASE    0x8000000000                    ; PML4 entry 1: the pages have tables of their own

section .text
global _start
_start:
        PRINT   "many_pages: 8192 pages of 4 KiB at 0x8000000000", 10
        call    frames_init
        call    space_new
        mov     r12, rax                        ; the new PML4

        mov     rcx, r12                        ; map every page onto a frame of its own
        mov     rdi, BASE
        mov     edx, PTE_P | PTE_RW
        mov     r13d, PAGES
.map:
        call    alloc_frame
        mov     rsi, rax
        call    map_4k
        add     rdi, PAGE_SIZE
        dec     r13d
        jnz     .map
        mov     cr3, r12
        PRINT   "  mapped, CR3 switched", 10

        mov     rdi, BASE                       ; write each page's number at an offset that moves
        xor     ecx, ecx
.write:
        mov     rax, rcx
        and     eax, 0x1ff
        mov     [rdi + rax * 8], rcx
        add     rdi, PAGE_SIZE
        inc     ecx
        cmp     ecx, PAGES
        jne     .write

        mov     rdi, BASE                       ; read them all back, twice
        xor     r14d, r14d                      ; sum of what was read
        mov     r15d, 2
.pass:
        mov     rdi, BASE
        xor     ecx, ecx
.read:
        mov     rax, rcx
        and     eax, 0x1ff
        mov     rdx, [rdi + rax * 8]
        cmp     rdx, rcx
        jne     .bad
        add     r14, rdx
        add     rdi, PAGE_SIZE
        inc     ecx
        cmp     ecx, PAGES
        jne     .read
        dec     r15d
        jnz     .pass
        PRINT   "  read back twice, sum "
        PUTHEX  r14
        NEWLINE
        PRINT   "done", 10
        EXIT    EXIT_OK
.bad:
        FAIL    "a page did not hold its own number"
