; pml4-image: elf
;
; fetch_ad — accessed and dirty flags for instruction fetches (SDM vol. 3A 4.8): a walk for a
; fetch sets A in every paging-structure entry it uses and in the PTE, never D; a later write
; through the same page sets D. The page L holds a RET; its PTE, and the PDE, PDPTE and PML4E
; above it, start with A = 0 (fresh tables from map_4k).
; Expected: guest/fetch_ad.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"

default rel

%assign L               0x0000010000000000

section .text
global _start
_start:
        call    frames_init
        PRINT   "fetch_ad: A and D for an instruction fetch", 10
        call    alloc_frame
        mov     byte [rax], 0xc3
        mov     rsi, rax
        mov     rdi, L
        mov     rcx, cr3
        mov     rdx, PTE_ADDR_MASK
        and     rcx, rdx
        mov     edx, PTE_P | PTE_RW
        call    map_4k
        mov     r12, rax                        ; the PTE
        PRINT   "  before:       PTE "
        mov     rax, [r12]
        call    print_ad
        NEWLINE
        mov     rax, L
        call    rax
        PRINT   "  after a call: PTE "
        mov     rax, [r12]
        call    print_ad
        PRINT   ", PDE "
        mov     rax, [rel walk_entries + 16]
        mov     rax, [rax]
        call    print_a
        PRINT   ", PDPTE "
        mov     rax, [rel walk_entries + 8]
        mov     rax, [rax]
        call    print_a
        PRINT   ", PML4E "
        mov     rax, [rel walk_entries]
        mov     rax, [rax]
        call    print_a
        NEWLINE
        mov     rax, L
        mov     byte [rax + 8], 1               ; a write through the page
        PRINT   "  after a write: PTE "
        mov     rax, [r12]
        call    print_ad
        NEWLINE
        mov     al, EXIT_OK
        call    exit_debug
