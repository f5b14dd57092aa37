; pml4-image: elf
;
; store_retry — page-crossing stores, loads and a read-modify-write onto pages the guest's tables
; map but the TLB has never held: each access misses on both its pages (DTLB walks that pml4 makes
; before a byte moves) and then completes. None of that is the guest's business: every
; instruction counts once in virtual time, as on the processor, so the TSC differences below are
; the instructions between the two RDTSCs, whichever mode runs them (the first RDTSC included,
; the second not), and every byte lands where it was stored.
; Expected: guest/store_retry.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"

default rel

%assign R       0x0000010000000000      ; PML4[2]: nothing maps it in the boot tables
%assign PAIRS   16                      ; crossing stores, each onto two pages of its own

section .text
global _start
_start:
        call    frames_init
        PRINT   "store_retry: crossing stores and loads onto pages the TLB never held", 10
        mov     rdi, R                  ; map 4 * PAIRS + 2 pages
        mov     r13d, 4 * PAIRS + 2
.map:
        push    rdi
        call    map_fresh_page
        pop     rdi
        add     rdi, PAGE_SIZE
        dec     r13d
        jnz     .map

        ; One store from page 0 into page 1: rdtsc, shl, or, mov r12, the store = 5.
        mov     rbx, R + PAGE_SIZE
        mov     rax, 0x1122334455667788
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        mov     r12, rax
        mov     [rbx - 4], rax
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        sub     rax, r12
        PRINT   "one crossing store:     instructions between the RDTSCs "
        PUTDEC  rax
        PRINT   ", bytes "
        mov     rax, [rbx - 4]
        sub     rax, r12                ; what was stored was r12 itself
        PUTDEC  rax
        NEWLINE

        ; PAIRS stores, each from page 2 + 2i into page 3 + 2i, in a loop of four instructions:
        ; rdtsc, shl, or, mov r12, mov ecx, mov rdi + 4 x PAIRS = 70.
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        mov     r12, rax
        mov     ecx, PAIRS
        mov     rdi, R + 3 * PAGE_SIZE
.store:
        mov     [rdi - 2], rcx
        add     rdi, 2 * PAGE_SIZE
        dec     ecx
        jnz     .store
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        sub     rax, r12
        PRINT   "16 crossing stores:     instructions between the RDTSCs "
        PUTDEC  rax
        NEWLINE
        xor     esi, esi                ; sum what they stored: 16 + 15 + ... + 1 = 136
        mov     rdi, R + 3 * PAGE_SIZE
        mov     ecx, PAIRS
.sum:
        add     rsi, [rdi - 2]
        add     rdi, 2 * PAGE_SIZE
        dec     ecx
        jnz     .sum
        PRINT   "  what they stored adds up to "
        PUTDEC  rsi
        NEWLINE

        ; A read-modify-write across a fresh pair (pages 2 PAIRS + 2 and + 3): rdtsc, shl, or,
        ; mov r12, add = 5; then a load across the next fresh pair, the same count.
        mov     rbx, R + (2 * PAIRS + 3) * PAGE_SIZE
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        mov     r12, rax
        add     qword [rbx - 1], 7
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        sub     rax, r12
        PRINT   "crossing add to memory: instructions between the RDTSCs "
        PUTDEC  rax
        PRINT   ", it holds "
        PUTDEC  qword [rbx - 1]
        NEWLINE
        mov     rbx, R + (2 * PAIRS + 5) * PAGE_SIZE
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        mov     r12, rax
        mov     r14, [rbx - 3]
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        sub     rax, r12
        PRINT   "crossing load:          instructions between the RDTSCs "
        PUTDEC  rax
        PRINT   ", it read "
        PUTDEC  r14
        NEWLINE
        EXIT    EXIT_OK
