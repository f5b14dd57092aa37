; pml4-image: elf
;
; tlb_ad — the accessed and dirty flags, read back from the page tables: set by walks, not by
; TLB hits.
;
; SDM vol. 3A 4.8: whenever the processor uses a paging-structure entry to translate, it sets
;   A in it (if not already set); whenever there is a write to a linear address, it sets D (if
;   not already set) in the entry that maps the page (here the PTE). D is ignored, and never set,
;   in entries that reference another table.
; 4.10.2.2: a TLB entry caches the leaf's D flag; 4.10.2.3: the processor does not cache a
;   translation unless A is 1 in every entry used, and sets those first.
; 4.10.4.3: after software clears A (or D) in an entry without an invalidation, the processor
;   may not set it again on a later access (write) through the cached translation.
; 4.10.4.1: INVLPG removes the TLB entry (and paging-structure caches), so the next access walks.
;
; 1. Fresh tables for V: PML4[1] of the boot PML4 -> new PDPT -> PD -> PT -> one data frame,
;    every entry written with A = D = 0.
; 2. Read V: A = 1 in the PML4E, PDPTE, PDE and PTE; D = 0 in the PTE.
; 3. Write V: D = 1 in the PTE (the DTLB entry from step 2 had D = 0, so the write sets it).
; 4. Clear A and D in the PTE in memory, no INVLPG. Read V, then write V: both hit the TLB entry,
;    whose cached D is 1, and set nothing: the PTE keeps A = 0, D = 0.
;    (The SDM's "may not set" leaves a CPU free to have dropped the entry (4.10.2.2); real ones,
;    with nothing else on 4 KiB pages, keep it, and pml4 models that deterministically.)
; 5. INVLPG [V]. Read V: A = 1, D = 0 again. Write V: D = 1.
; Upper-level entries must never get D. Every value is checked in the kernel: FAIL and EXIT_FAIL
; (status 3) on a wrong one, EXIT_OK (status 1) at the end.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"

default rel

%assign V               0x0000008000000000      ; PML4[1] PDPT[0] PD[0] PT[0]
%assign AD              PTE_A | PTE_D

section .bss
alignb 8
entries:        resq 4          ; physical addresses of V's PML4E, PDPTE, PDE, PTE

section .text
global _start
_start:
        call    frames_init                     ; rdi = boot info
        PRINT   "tlb_ad: accessed and dirty flags (SDM 4.8, 4.10.4.3)", 10

        ; --- 1. fresh tables
        xor     edx, edx
        call    data_frame
        mov     rsi, rax
        mov     rcx, cr3
        mov     rax, PTE_ADDR_MASK
        and     rcx, rax                        ; the boot PML4
        mov     rdi, V
        mov     edx, PTE_P | PTE_RW             ; A = D = 0
        call    map_4k
        mov     r14, rax                        ; V's PTE
        lea     rsi, [walk_entries]
        lea     rdi, [entries]
        mov     ecx, 4
        rep movsq
        mov     rbx, V
        PRINT   "  V = "
        PUTHEX64 rbx
        PRINT   ", every entry written with A=0 D=0", 10
        PRINT   "  fresh:         "
        call    show_walk
        mov     ecx, 0
        call    check_upper                     ; ecx = A expected in the upper levels
        mov     rax, [r14]
        and     eax, AD
        CHECK_EQ rax, 0, "PTE A|D of the fresh tables"

        ; --- 2. read
global first_read
first_read:
        mov     rax, [rbx]
        PRINT   "  read V:        "
        call    show_walk
        mov     ecx, PTE_A
        call    check_upper
        mov     rax, [r14]
        and     eax, AD
        CHECK_EQ rax, PTE_A, "PTE A|D after the first read"

        ; --- 3. write
global first_write
first_write:
        mov     qword [rbx], 0x5a
        PRINT   "  write V:       "
        call    show_pte
        mov     ecx, PTE_A
        call    check_upper
        mov     rax, [r14]
        and     eax, AD
        CHECK_EQ rax, AD, "PTE A|D after the first write"

        ; --- 4. clear A and D in memory, no INVLPG: TLB hits set nothing
        and     qword [r14], ~AD
        PRINT   "  PTE: A and D cleared in memory, no INVLPG", 10
global hit_read
hit_read:
        mov     rax, [rbx]
        PRINT   "  read V:        "
        call    show_pte
        mov     rax, [r14]
        and     eax, AD
        CHECK_EQ rax, 0, "PTE A|D after a read that hits the TLB"
global hit_write
hit_write:
        mov     qword [rbx], 0xa5
        PRINT   "  write V:       "
        call    show_pte
        mov     rax, [r14]
        and     eax, AD
        CHECK_EQ rax, 0, "PTE A|D after a write that hits the TLB (cached D = 1)"
        PRINT   "  (TLB hits: the cached entry, D=1 in it, sets nothing)", 10

        ; --- 5. INVLPG: the next read walks and sets A, the next write sets D
        invlpg  [rbx]
        PRINT   "  invlpg [V]", 10
global walk_read
walk_read:
        mov     rax, [rbx]
        PRINT   "  read V:        "
        call    show_pte
        mov     rax, [r14]
        and     eax, AD
        CHECK_EQ rax, PTE_A, "PTE A|D after a read that walks again"
global walk_write
walk_write:
        mov     qword [rbx], 0x5a
        PRINT   "  write V:       "
        call    show_pte
        mov     rax, [r14]
        and     eax, AD
        CHECK_EQ rax, AD, "PTE A|D after the write that follows"
        mov     ecx, PTE_A
        call    check_upper

        PRINT   "tlb_ad: ok", 10
        mov     al, EXIT_OK
        call    exit_debug

; show_walk: "PML4E A=a  PDPTE A=a  PDE A=a  PTE A=a D=d" and a newline, from memory.
show_walk:
        push    rax
        push    rsi
        lea     rsi, [entries]
        PRINT   "PML4E "
        mov     rax, [rsi]
        mov     rax, [rax]
        call    print_a
        PRINT   "  PDPTE "
        mov     rax, [rsi + 8]
        mov     rax, [rax]
        call    print_a
        PRINT   "  PDE "
        mov     rax, [rsi + 16]
        mov     rax, [rax]
        call    print_a
        PRINT   "  "
        pop     rsi
        pop     rax
        ; fall through
; show_pte: "PTE A=a D=d" and a newline, from memory.
show_pte:
        push    rax
        PRINT   "PTE "
        mov     rax, [entries + 24]
        mov     rax, [rax]
        call    print_ad
        NEWLINE
        pop     rax
        ret

; check_upper: the PML4E, PDPTE and PDE have A = ecx (0 or PTE_A) and D = 0 (bit 6 is ignored
; in an entry that references a table, and the processor never sets it there).
check_upper:
        push    rax
        push    rdx
        push    rsi
        lea     rsi, [entries]
        mov     edx, 3
.next:
        mov     rax, [rsi]
        mov     rax, [rax]
        and     eax, AD
        CHECK_EQ rax, rcx, "A|D of an upper-level entry (PML4E, PDPTE, PDE in turn)"
        add     rsi, 8
        dec     edx
        jnz     .next
        pop     rsi
        pop     rdx
        pop     rax
        ret
