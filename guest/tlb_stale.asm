; pml4-image: elf
;
; tlb_stale — a PTE changed in memory does not change a translation the TLB already holds;
; INVLPG does.
;
; SDM vol. 3A 4.10.2.2: the processor caches translations in TLBs, each with the page frame it
; read from the paging-structure entries; 4.10.2.3: it may use a TLB entry for the page without
; consulting the paging structures, and "may retain a TLB entry unmodified even if software
; subsequently modifies the relevant paging-structure entries in memory";
; 4.10.4.2: software that changes a PTE should therefore execute INVLPG for the address;
; 4.10.4.1: INVLPG m invalidates the TLB entries for the page of m (and the paging-structure
; caches), so the next access walks the tables again.
;
; 1. Map V (PML4[1] PDPT[0] PD[0] PT[0], tables fresh from the first free frame, linked into
;    the boot PML4: a not-present entry made present needs no invalidation, 4.10.4.3) to frame
;    A, which holds 0xaaaa; frame B holds 0xbbbb.
; 2. Read V: a TLB miss, a walk, a DTLB entry V -> A.
; 3. Point the PTE at frame B in memory, no INVLPG. Read V: 0xaaaa, the stale entry.
;    (The SDM lets a processor drop any TLB entry at any time (4.10.2.2), so a CPU *may* show
;    0xbbbb here; with a 64-entry DTLB and nothing else on 4 KiB pages, real ones do not, and
;    pml4 models the TLB deterministically. The kernel calls either outcome by its name.)
; 4. INVLPG [V]; read V: 0xbbbb.
; Each value is checked: a wrong one prints "FAIL: ..." and exits with EXIT_FAIL (status 3);
; success exits with EXIT_OK (status 1).

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"

default rel

%assign V               0x0000008000000000      ; PML4[1] PDPT[0] PD[0] PT[0]
%assign VALUE_A         0xaaaa
%assign VALUE_B         0xbbbb

section .text
global _start
_start:
        call    frames_init                     ; rdi = boot info
        PRINT   "tlb_stale: a PTE change without INVLPG (SDM 4.10.2.3, 4.10.4.1)", 10

        ; --- 1. V -> frame A in the boot tables
        mov     edx, VALUE_A
        call    data_frame
        mov     r12, rax                        ; frame A
        mov     edx, VALUE_B
        call    data_frame
        mov     r13, rax                        ; frame B
        mov     rcx, cr3
        mov     rax, PTE_ADDR_MASK
        and     rcx, rax                        ; the boot PML4
        mov     rdi, V
        mov     rsi, r12
        mov     edx, PTE_P | PTE_RW
        call    map_4k
        mov     r14, rax                        ; V's PTE (physical = identity-mapped)
        mov     rbx, V
        PRINT   "  V = "
        PUTHEX64 rbx
        PRINT   " -> frame A (holds 0xaaaa); frame B holds 0xbbbb", 10

        ; --- 2. first read: walk, DTLB fill
global read_fill
read_fill:
        mov     rax, [rbx]
        PRINT   "  read V: "
        PUTHEX  rax
        PRINT   " (walk; the DTLB now holds V -> A)", 10
        CHECK_EQ rax, VALUE_A, "first read of V"

        ; --- 3. PTE -> frame B in memory only (SDM 4.10.4.2 asks for INVLPG here; we skip it)
        mov     rax, r13
        or      rax, PTE_P | PTE_RW | PTE_A     ; A as the walk left it: only the frame changes
        mov     [r14], rax
        PRINT   "  PTE of V -> frame B, no INVLPG", 10
global read_stale
read_stale:
        mov     rax, [rbx]
        PRINT   "  read V: "
        PUTHEX  rax
        cmp     rax, VALUE_A
        jne     .not_stale
        PRINT   " (stale TLB entry: still frame A)", 10
        jmp     .invlpg
.not_stale:
        PRINT   10
        CHECK_EQ rax, VALUE_A, "read of V after the PTE change without INVLPG (the TLB entry should be stale)"

        ; --- 4. INVLPG, then the walk sees the new PTE
.invlpg:
        invlpg  [rbx]
        PRINT   "  invlpg [V]", 10
global read_fresh
read_fresh:
        mov     rax, [rbx]
        PRINT   "  read V: "
        PUTHEX  rax
        PRINT   " (walk: frame B)", 10
        CHECK_EQ rax, VALUE_B, "read of V after INVLPG"

        PRINT   "tlb_stale: ok", 10
        mov     al, EXIT_OK
        call    exit_debug
