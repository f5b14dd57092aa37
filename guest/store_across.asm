; pml4-image: elf
;
; store_across — an 8-byte store that crosses from a present page into one that is not present.
; The #PF is a fault (SDM vol. 3A 6.15): the instruction changes nothing before the handler runs,
; so the 4 bytes on the present page still hold what they held. The handler prints them, maps
; the page and returns; the store then runs whole.
;
; Unicorn 2.0.1 stores a page-crossing value byte by byte, but QEMU fills its TLB for the second
; page before the first byte, and with the engine page table that fill is pml4's miss: the #PF
; comes first (README, "What a TLB miss and a CR3 switch cost").
; Expected: guest/store_across.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "idt.inc"

default rel

%assign R               0x0000010000000000      ; PML4[2]: nothing maps it in the boot tables
%assign MARKER          0xa5a5a5a5

section .text
global _start
_start:
        call    frames_init
        call    idt_init
        ISR     VEC_PF, on_page_fault
        PRINT   "store_across: an 8-byte store from a present page into one that is not", 10
        mov     rdi, R                          ; map the first page
        call    map_fresh_page
        mov     rbx, R + PAGE_SIZE
        mov     dword [rbx - 4], MARKER
        mov     rax, 0x1122334455667788
        mov     [rbx - 4], rax                  ; faults on the second page
        PRINT   "after the retry: "
        PUTHEX64 qword [rbx - 4]
        NEWLINE
        CHECK_EQ qword [rbx - 4], 0x1122334455667788, "the store after the retry"
        mov     al, EXIT_OK
        call    exit_debug


on_page_fault:
        push    rbx
        mov     rbx, rdi
        PRINT   "#PF error "
        PUTHEX  qword [rbx + F_ERROR]
        PRINT   ", CR2 "
        mov     rax, cr2
        PUTHEX64 rax
        PRINT   ", the 4 bytes before that page: "
        mov     rax, R + PAGE_SIZE - 4
        mov     eax, [rax]
        PUTHEX  rax
        NEWLINE
        mov     rdi, cr2
        and     rdi, ~(PAGE_SIZE - 1)
        call    map_fresh_page
        pop     rbx
        ret
