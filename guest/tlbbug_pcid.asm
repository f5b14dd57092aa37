; pml4-image: elf
;
; tlbbug_pcid — TLB-coherence bug class 4: an entry of a PCID that is not current changed, then
; a switch back to that PCID with the no-flush bit. For `pml4 run --check-tlb`; the report it
; must give is tlbbug_pcid.expected-report.
;
; SDM vol. 3A 4.10.1: with CR4.PCIDE = 1, TLB entries are tagged with the PCID they were filled
; under and survive switches to other PCIDs; 4.10.4.1: MOV to CR3 with bit 63 set invalidates
; nothing. A kernel that edits the page tables of an address space that is not running must
; invalidate that PCID (INVPCID, or a CR3 load without bit 63) before running it again.
;
; 1. Two address spaces, V -> frame A in space 1, V -> frame C in space 2. CR4.PCIDE = 1.
; 2. CR3 = space 1 | PCID 1: read V (A). CR3 = space 2 | PCID 2: read V (C).
; 3. While space 2 runs, point space 1's PTE of V at frame B.
; 4. CR3 = space 1 | PCID 1 | bit 63; read V (read_pcid): 0xaaaa through PCID 1's stale entry.
;    The checker reports it.
; 5. CR3 = space 1 | PCID 1 (bit 63 clear: PCID 1 flushed): read V gives 0xbbbb.
; Checked: FAIL and EXIT_FAIL (status 3) on a wrong value, EXIT_OK (status 1) at the end.

%include "tlbbug.inc"                 ; pml4.inc, serial.inc, paging.inc, V

default rel

%assign NO_FLUSH        1 << 63                 ; bit 63 of a MOV to CR3 source (PCIDE = 1)

section .text
global _start
_start:
        call    frames_init                     ; rdi = boot info
        PRINT   "tlbbug_pcid: a PTE of another PCID changed, no-flush switch back (SDM 4.10.4.1)", 10
        call    space_new
        mov     r12, rax                        ; space 1
        call    space_new
        mov     r13, rax                        ; space 2
        DATA_FRAME rsi, 0xaaaa                  ; frame A
        mov     rcx, r12
        mov     rdi, V
        mov     edx, PTE_P | PTE_RW
        call    map_4k
        mov     r14, rax                        ; V's PTE in space 1
        DATA_FRAME rsi, 0xcccc                  ; frame C
        mov     rcx, r13
        mov     edx, PTE_P | PTE_RW
        call    map_4k
        DATA_FRAME r15, 0xbbbb                  ; frame B
        mov     rax, cr4
        or      rax, CR4_PCIDE
        mov     cr4, rax
        mov     rbx, V

        mov     rax, r12
        or      rax, 1
        mov     cr3, rax
        mov     rax, [rbx]
        PRINT   "  cr3 = space 1 | PCID 1: V = "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0xaaaa, "V in space 1"
        mov     rax, r13
        or      rax, 2
        mov     cr3, rax
        mov     rax, [rbx]
        PRINT   "  cr3 = space 2 | PCID 2: V = "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0xcccc, "V in space 2"

        mov     rax, r15
        or      rax, PTE_P | PTE_RW | PTE_A
global remap
remap:
        mov     [r14], rax
        PRINT   "  space 1's PTE of V -> frame B, while PCID 2 runs", 10
        mov     rax, r12
        or      rax, 1
        bts     rax, 63
        mov     cr3, rax
global read_pcid
read_pcid:
        mov     rax, [rbx]
        PRINT   "  cr3 = space 1 | PCID 1 | bit 63: V = "
        PUTHEX  rax
        PRINT   " (PCID 1's stale entry)", 10
        CHECK_EQ rax, 0xaaaa, "V after the no-flush switch"
        mov     rax, r12
        or      rax, 1
        mov     cr3, rax
        mov     rax, [rbx]
        PRINT   "  cr3 = space 1 | PCID 1: V = "
        PUTHEX  rax
        PRINT   " (PCID 1 flushed)", 10
        CHECK_EQ rax, 0xbbbb, "V after the flushing switch"
        PRINT   "tlbbug_pcid: ok", 10
        mov     al, EXIT_OK
        call    exit_debug
