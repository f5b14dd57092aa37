; pml4-image: elf
;
; tlb_global — with CR4.PGE = 1 a global translation survives MOV to CR3; toggling CR4.PGE
; flushes it.
;
; SDM vol. 3A 4.10.2.4 ("Global Pages"): with CR4.PGE = 1, a translation whose leaf entry has
; G = 1 (bit 8 of a PTE) is global, and the processor may use it in any context, even after
; CR3 changes; 4.10.4.1: MOV to CR3 (with CR4.PCIDE = 0) invalidates every TLB entry *except*
; global ones, while a MOV to CR4 that changes CR4.PGE invalidates all of them, global too.
; 2.5: CR4.PGE is bit 7.
;
; 1. Two sets of tables that map the same two pages differently:
;      tables 1 = the boot PML4 with PML4[1] added:  G -> frame holding 0x1001, N -> 0x1002
;      tables 2 = a new PML4, PML4[0] copied from the boot PML4 (the identity map of the first
;                 4 GiB: code, stack, tables), PML4[1] its own: G -> 0x2001, N -> 0x2002
;    G's PTEs have G = 1 (in both tables, as a kernel marks its own pages), N's have G = 0.
; 2. Set CR4.PGE (boot CR4 = 0x620: PGE clear; the change flushes everything, 4.10.4.1).
; 3. Read G and N under tables 1: 0x1001 and 0x1002; the DTLB now holds both, G's as global.
; 4. MOV to CR3 with tables 2: G still reads 0x1001 (the global entry survived), N reads 0x2002
;    (its entry went with the CR3 load, a new walk used tables 2).
; 5. Clear CR4.PGE and set it again: every entry is flushed, and G reads 0x2001.
; (A processor may drop any TLB entry at any time (4.10.2.2), so on some CPU step 4 *could*
; read 0x2001; the kernel reports either outcome by name.)
; Checked in the kernel: FAIL and EXIT_FAIL (status 3) on a wrong value, EXIT_OK (status 1) at
; the end.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"

default rel

%assign G               0x0000008000000000      ; PML4[1] PDPT[0] PD[0] PT[0]: global
%assign N               0x0000008000001000      ; PML4[1] PDPT[0] PD[0] PT[1]: not global

section .text
global _start
_start:
        call    frames_init                     ; rdi = boot info
        PRINT   "tlb_global: global pages and MOV to CR3 (SDM 4.10.2.4, 4.10.4.1)", 10

        ; --- 1. tables 1 (the boot PML4) and tables 2 (a new PML4)
        mov     rcx, cr3
        mov     rax, PTE_ADDR_MASK
        and     rcx, rax
        mov     r12, rcx                        ; tables 1: the boot PML4
        call    alloc_frame
        mov     r13, rax                        ; tables 2
        mov     rax, [r12]                      ; PML4[0]: the boot identity map, shared
        mov     [r13], rax

        mov     rcx, r12
        mov     edx, 0x1001
        call    data_frame
        mov     rsi, rax
        mov     rdi, G
        mov     edx, PTE_P | PTE_RW | PTE_G
        call    map_4k
        mov     edx, 0x1002
        call    data_frame
        mov     rsi, rax
        mov     rdi, N
        mov     edx, PTE_P | PTE_RW
        call    map_4k

        mov     rcx, r13
        mov     edx, 0x2001
        call    data_frame
        mov     rsi, rax
        mov     rdi, G
        mov     edx, PTE_P | PTE_RW | PTE_G
        call    map_4k
        mov     edx, 0x2002
        call    data_frame
        mov     rsi, rax
        mov     rdi, N
        mov     edx, PTE_P | PTE_RW
        call    map_4k

        mov     r14, G
        mov     r15, N
        PRINT   "  G = "
        PUTHEX64 r14
        PRINT   " (PTE.G = 1), N = "
        PUTHEX64 r15
        PRINT   " (PTE.G = 0)", 10
        PRINT   "  tables 1: G -> 0x1001, N -> 0x1002; tables 2: G -> 0x2001, N -> 0x2002", 10

        ; --- 2. CR4.PGE = 1
        mov     rax, cr4
        or      rax, CR4_PGE
        mov     cr4, rax
        mov     rax, cr4
        CHECK_EQ rax, 0x620 | CR4_PGE, "CR4 after setting PGE"
        PRINT   "  mov cr4: PGE = 1", 10

        ; --- 3. both pages through tables 1
        mov     rax, [r14]
        mov     rdx, [r15]
        PRINT   "  tables 1: G = "
        PUTHEX  rax
        PRINT   ", N = "
        PUTHEX  rdx
        NEWLINE
        CHECK_EQ rax, 0x1001, "G through tables 1"
        CHECK_EQ rdx, 0x1002, "N through tables 1"

        ; --- 4. MOV to CR3: non-global entries go, the global one stays
        mov     cr3, r13
        mov     rax, cr3
        CHECK_EQ rax, r13, "CR3 after loading tables 2"
        PRINT   "  mov cr3, tables 2", 10
global read_after_cr3
read_after_cr3:
        mov     rax, [r14]
        mov     rdx, [r15]
        PRINT   "  G = "
        PUTHEX  rax
        cmp     rax, 0x1001
        jne     .g_flushed
        PRINT   " (global entry survived the CR3 load: still tables 1)", 10
        jmp     .n
.g_flushed:
        NEWLINE
        CHECK_EQ rax, 0x1001, "G after MOV to CR3 (the global entry should have survived)"
.n:
        PRINT   "  N = "
        PUTHEX  rdx
        PRINT   " (non-global entry flushed: new walk in tables 2)", 10
        CHECK_EQ rdx, 0x2002, "N after MOV to CR3"

        ; --- 5. toggling CR4.PGE flushes global entries too
        mov     rax, cr4
        and     rax, ~CR4_PGE
        mov     cr4, rax
        or      rax, CR4_PGE
        mov     cr4, rax
        PRINT   "  mov cr4: PGE = 0, then PGE = 1 (flushes global entries too)", 10
global read_after_pge
read_after_pge:
        mov     rax, [r14]
        mov     rdx, [r15]
        PRINT   "  G = "
        PUTHEX  rax
        PRINT   ", N = "
        PUTHEX  rdx
        PRINT   " (both walked in tables 2)", 10
        CHECK_EQ rax, 0x2001, "G after toggling CR4.PGE"
        CHECK_EQ rdx, 0x2002, "N after toggling CR4.PGE"

        PRINT   "tlb_global: ok", 10
        mov     al, EXIT_OK
        call    exit_debug
