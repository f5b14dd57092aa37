; pml4-image: elf
;
; first_touch — the accesses that first touch a page the TLB does not hold, in every shape the
; engine makes them: read-modify-write (INC, XCHG, LOCK XADD) of a clean page, whose store must
; come back to pml4 to set D; an unaligned load and store that cross from a mapped page into an
; unmapped one; a string move across a page boundary. Each 2 MiB page is touched first by the
; access under test. Every value is checked; A and D are read back from the PDEs (SDM 4.8).
; Expected: guest/first_touch.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"

default rel

%macro PDE_OF 1                                 ; rax = the boot PDE of address %1 (< 1 GiB)
        mov     rax, [abs BOOT_PML4]
        and     rax, ~0xfff
        mov     rax, [rax]
        and     rax, ~0xfff
        mov     rax, [rax + ((%1) >> 21) * 8]
%endmacro

section .text
global _start
_start:
        PRINT   "first_touch: first accesses to pages the TLB does not hold", 10

        mov     rbx, 0x200000
        inc     qword [rbx]
        CHECK_EQ qword [rbx], 1, "INC of a fresh page"
        PDE_OF  0x200000
        PRINT   "  INC qword [0x200000]: 1, PDE A/D = "
        call    print_ad
        NEWLINE

        mov     rbx, 0x400000
        mov     rax, 7
        xchg    [rbx], rax
        CHECK_EQ rax, 0, "XCHG's old value"
        CHECK_EQ qword [rbx], 7, "XCHG's new value"
        PRINT   "  XCHG [0x400000]: old 0, new 7", 10

        mov     rbx, 0x600000
        mov     rax, 5
        lock xadd [rbx], rax
        CHECK_EQ qword [rbx], 5, "LOCK XADD"
        PRINT   "  LOCK XADD [0x600000]: 5", 10

        mov     rbx, 0x7ffffc                   ; 4 bytes in the page at 6 MiB (mapped above),
        mov     rax, [rbx]                      ; 4 in the one at 8 MiB (not yet)
        CHECK_EQ rax, 0, "a load across into a fresh page"
        mov     rax, 0x1122334455667788
        mov     [rbx + 0x200000], rax           ; 0x9ffffc: a store across 10 MiB's page
        CHECK_EQ qword [rbx + 0x200000], rax, "a store across into a fresh page"
        PRINT   "  8-byte load at 0x7ffffc and store at 0x9ffffc, across pages: ok", 10

        lea     rsi, [pattern]
        mov     rdi, 0xbffff8                   ; 16 bytes from 12 MiB - 8: across into 12 MiB
        mov     ecx, 2
        cld
        rep movsq
        mov     rax, [abs 0xc00000]
        CHECK_EQ rax, [pattern + 8], "REP MOVSQ across a page"
        PDE_OF  0xc00000
        PRINT   "  REP MOVSQ to 0xbffff8 across pages: ok, PDE of 0xc00000 A/D = "
        call    print_ad
        NEWLINE

        PRINT   "done", 10
        mov     al, EXIT_OK
        out     DEBUG_EXIT_PORT, al

section .data
pattern: dq 0x0123456789abcdef, 0xfedcba9876543210
