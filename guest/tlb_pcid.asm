; pml4-image: elf
;
; tlb_pcid — process-context identifiers: each PCID keeps its own TLB entries across CR3
; switches; bit 63 of the CR3 source decides whether the new PCID's entries are flushed.
;
; SDM vol. 3A 4.10.1: with CR4.PCIDE = 1, CR3[11:0] is the current PCID and every TLB entry is
;   created for (and only used under) the PCID current when it was made (global ones aside).
;   CR4.PCIDE can be set only if CPUID.01H:ECX.PCID [bit 17] = 1, in IA-32e mode, and with
;   CR3[11:0] = 0; otherwise MOV to CR4 raises #GP (2.5; vol. 2B "MOV to/from Control
;   Registers"). Boot CR3 is 0x1000 (shared/BOOT.md), so its PCID bits are 0.
; 4.10.4.1, MOV to CR3 with CR4.PCIDE = 1: if bit 63 of the source is 0, the TLB entries of the
;   PCID in bits 11:0 of the source are invalidated (not global ones, not other PCIDs'); if bit 63
;   is 1, nothing is invalidated. Bit 63 is not stored in CR3.
;   INVLPG invalidates the page's entries of the *current* PCID (and global ones) only.
;
; 1. CPUID.01H:ECX bit 17 is printed; the kernel stops with FAIL if it is 0 (the MOV to CR4
;    below would then #GP on hardware).
; 2. Spaces 1 and 2: two PML4s sharing PML4[0] with the boot tables (the identity map of the
;    first 4 GiB), each with its own PML4[1] that maps V: space 1 to a frame holding 0x1111,
;    space 2 to one holding 0x2222. Set CR4.PCIDE.
; 3. CR3 = space 1 | PCID 1, read V; CR3 = space 2 | PCID 2, read V (bit 63 clear: each load
;    flushes only its own PCID, so PCID 1's entry for V stays while PCID 2 runs).
; 4. In memory, space 1's PTE -> frame 0x3333 and space 2's -> 0x4444, no INVLPG.
; 5. CR3 = space 1 | PCID 1 | bit 63: V = 0x1111, PCID 1's stale entry. The same for space 2:
;    0x2222. INVLPG [V] under PCID 2: V = 0x4444; back to PCID 1 with bit 63: still 0x1111.
; 6. CR3 = space 1 | PCID 1 with bit 63 clear: PCID 1's entries are flushed, V = 0x3333.
; (A processor may drop any TLB entry at any time (4.10.2.2); the stale reads are what a CPU that
; kept its entries shows, and what pml4's deterministic TLB shows.)
; Checked in the kernel: FAIL and EXIT_FAIL (status 3) on a wrong value, EXIT_OK (status 1) at
; the end.
;
; Expectations: tlb_pcid.expected.pending / .expected-status.pending, until pml4's CPUID reports
; PCID (its CPUID runs natively in Unicorn's default CPU model, which has bit 17 clear; with the
; check skipped, every TLB step below already gives the SDM's answer on pml4).

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"

default rel

%assign V               0x0000008000000000      ; PML4[1] PDPT[0] PD[0] PT[0]
%assign NO_FLUSH        1 << 63                 ; bit 63 of a MOV to CR3 source (PCIDE = 1)
%assign PCID_1          1
%assign PCID_2          2

section .bss
alignb 8
space1:         resq 1          ; PML4 of space 1 (physical)
space2:         resq 1
pte1:           resq 1          ; V's PTE in space 1 / space 2 (physical)
pte2:           resq 1

section .text
global _start
_start:
        call    frames_init                     ; rdi = boot info
        PRINT   "tlb_pcid: process-context identifiers (SDM 4.10.1, 4.10.4.1)", 10

        ; --- 1. CPUID.01H:ECX.PCID
        mov     eax, 1
        xor     ecx, ecx
        cpuid
        xor     eax, eax
        bt      ecx, 17
        adc     eax, 0
        PRINT   "  CPUID.01H:ECX.PCID[bit 17] = "
        PUTDEC  rax
        NEWLINE
        test    eax, eax
        jnz     .has_pcid
        FAIL    "CPUID reports no PCID support, so setting CR4.PCIDE would raise #GP (SDM 2.5)"
.has_pcid:

        ; --- 2. two spaces, CR4.PCIDE = 1
        mov     rcx, cr3
        mov     rax, PTE_ADDR_MASK
        and     rcx, rax
        mov     r12, rcx                        ; the boot PML4
        call    alloc_frame
        mov     [space1], rax
        mov     rdx, [r12]                      ; PML4[0]: the identity map, shared
        mov     [rax], rdx
        call    alloc_frame
        mov     [space2], rax
        mov     [rax], rdx

        mov     rdi, V
        mov     edx, 0x1111
        call    data_frame
        mov     rsi, rax
        mov     rcx, [space1]
        mov     edx, PTE_P | PTE_RW
        call    map_4k
        mov     [pte1], rax
        mov     edx, 0x2222
        call    data_frame
        mov     rsi, rax
        mov     rcx, [space2]
        mov     edx, PTE_P | PTE_RW
        call    map_4k
        mov     [pte2], rax
        mov     edx, 0x3333
        call    data_frame
        mov     r13, rax                        ; the frames step 4 points the PTEs at
        mov     edx, 0x4444
        call    data_frame
        mov     r15, rax

        mov     rax, cr3
        and     eax, 0xfff
        CHECK_EQ rax, 0, "CR3[11:0] before setting CR4.PCIDE"
        mov     ecx, MSR_EFER
        rdmsr
        and     eax, EFER_LMA
        CHECK_EQ rax, EFER_LMA, "EFER.LMA before setting CR4.PCIDE"
        mov     rax, cr4
        or      rax, CR4_PCIDE
        mov     cr4, rax
        mov     rax, cr4
        CHECK_EQ rax, 0x620 | CR4_PCIDE, "CR4 after setting PCIDE"
        PRINT   "  CR3[11:0] = 0, EFER.LMA = 1: mov cr4, PCIDE = 1", 10
        mov     rbx, V
        PRINT   "  V = "
        PUTHEX64 rbx
        PRINT   ": space 1 -> 0x1111, space 2 -> 0x2222", 10

        ; --- 3. fill one entry per PCID
        mov     rax, [space1]
        or      rax, PCID_1
        call    load_cr3_read_v
        PRINT   "  cr3 = space 1 | PCID 1:          V = "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0x1111, "V in space 1"
        mov     rax, [space2]
        or      rax, PCID_2
        call    load_cr3_read_v
        PRINT   "  cr3 = space 2 | PCID 2:          V = "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0x2222, "V in space 2"

        ; --- 4. both PTEs change in memory, no INVLPG
        mov     rax, r13
        or      rax, PTE_P | PTE_RW | PTE_A
        mov     rdx, [pte1]
        mov     [rdx], rax
        mov     rax, r15
        or      rax, PTE_P | PTE_RW | PTE_A
        mov     rdx, [pte2]
        mov     [rdx], rax
        PRINT   "  PTEs of V in memory: space 1 -> 0x3333, space 2 -> 0x4444, no INVLPG", 10

        ; --- 5. switches with bit 63: each PCID's stale entry is still there
        mov     rax, [space1]
        or      rax, PCID_1
        bts     rax, 63
        call    load_cr3_read_v
        PRINT   "  cr3 = space 1 | PCID 1 | bit 63: V = "
        PUTHEX  rax
        PRINT   " (PCID 1's entry kept)", 10
        CHECK_EQ rax, 0x1111, "V after switching back to PCID 1 with bit 63 set (stale entry expected)"
        mov     rax, cr3
        mov     rdx, [space1]
        or      rdx, PCID_1
        CHECK_EQ rax, rdx, "CR3 read back (bit 63 is not stored)"
        mov     rax, [space2]
        or      rax, PCID_2
        bts     rax, 63
        call    load_cr3_read_v
        PRINT   "  cr3 = space 2 | PCID 2 | bit 63: V = "
        PUTHEX  rax
        PRINT   " (PCID 2's entry kept)", 10
        CHECK_EQ rax, 0x2222, "V after switching back to PCID 2 with bit 63 set (stale entry expected)"
        invlpg  [rbx]
global read_after_invlpg
read_after_invlpg:
        mov     rax, [rbx]
        PRINT   "  invlpg [V] under PCID 2:         V = "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0x4444, "V in space 2 after INVLPG"
        mov     rax, [space1]
        or      rax, PCID_1
        bts     rax, 63
        call    load_cr3_read_v
        PRINT   "  cr3 = space 1 | PCID 1 | bit 63: V = "
        PUTHEX  rax
        PRINT   " (INVLPG under PCID 2 left it)", 10
        CHECK_EQ rax, 0x1111, "V in PCID 1 after INVLPG under PCID 2 (stale entry expected)"

        ; --- 6. bit 63 clear: PCID 1 is flushed
        mov     rax, [space1]
        or      rax, PCID_1
        call    load_cr3_read_v
        PRINT   "  cr3 = space 1 | PCID 1:          V = "
        PUTHEX  rax
        PRINT   " (bit 63 clear: PCID 1 flushed)", 10
        CHECK_EQ rax, 0x3333, "V after loading CR3 with bit 63 clear"

        PRINT   "tlb_pcid: ok", 10
        mov     al, EXIT_OK
        call    exit_debug

; load_cr3_read_v: MOV to CR3 from rax, then rax = the qword at V (rbx = V).
load_cr3_read_v:
        mov     cr3, rax
        mov     rax, [rbx]
        ret
