; pml4-image: elf
;
; tlb_wp — CR0.WP decides whether supervisor writes honour a read-only page; it is applied on
; every access, also to translations the TLB already holds.
;
; SDM vol. 3A 2.5: CR0.WP (bit 16) "when set, inhibits supervisor-level procedures from writing
;   into read-only pages; when clear, allows" them to.
; 4.6.1: a supervisor-mode data write to a supervisor-mode address is allowed when CR0.WP = 0
;   whatever the R/W flags say; when CR0.WP = 1 only if R/W = 1 in every paging-structure entry
;   controlling the translation. Reads are allowed either way.
; 4.10.2.2: a TLB entry caches the logical-AND of the R/W flags, not the outcome of the check,
;   so changing CR0.WP needs no invalidation: the cached R/W = 0 is checked against the new WP.
; 4.8: the write in step 2 sets D in the PTE, read-only or not.
; 4.7: the write in step 4 is a #PF with error code 0x3 (P = 1 protection violation, W/R = 1
;   write, U/S = 0 supervisor), CR2 = R.
;
; 1. Map R (PML4[1] PDPT[0] PD[0] PT[0], fresh tables in the boot PML4) to a frame holding
;    0x1111 with R/W = 0 in the PTE (the upper levels are writable).
; 2. CR0.WP = 0 (boot CR0 has WP = 1): write 0x2222 to R, read it back: 0x2222; D = 1.
; 3. CR0.WP = 1: read R: still 0x2222.
; 4. Write R: #PF. There is no IDT (IDTR limit 0, shared/BOOT.md), so the #PF cannot be
;    delivered: #GP, #DF, triple fault, status 4. The line before the write says so; nothing
;    after it may print. Should the write succeed, the kernel prints FAIL and exits with
;    EXIT_FAIL (status 3).

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"

default rel

%assign R               0x0000008000000000      ; PML4[1] PDPT[0] PD[0] PT[0]

section .text
global _start
_start:
        call    frames_init                     ; rdi = boot info
        PRINT   "tlb_wp: CR0.WP and a read-only page (SDM 2.5, 4.6.1)", 10

        ; --- 1. R: read-only, supervisor
        mov     edx, 0x1111
        call    data_frame
        mov     rsi, rax
        mov     rcx, cr3
        mov     rax, PTE_ADDR_MASK
        and     rcx, rax
        mov     rdi, R
        mov     edx, PTE_P                      ; R/W = 0, U/S = 0
        call    map_4k
        mov     r14, rax                        ; R's PTE
        mov     rbx, R
        PRINT   "  R = "
        PUTHEX64 rbx
        PRINT   ": PTE R/W = 0, holds "
        PUTHEX  qword [rbx]
        NEWLINE

        ; --- 2. WP = 0: the supervisor write goes through
        mov     rax, cr0
        CHECK_EQ rax, 0x80010033, "CR0 at entry (shared/BOOT.md)"
        and     rax, ~CR0_WP
        mov     cr0, rax
        PRINT   "  mov cr0: WP = 0", 10
global write_wp0
write_wp0:
        mov     qword [rbx], 0x2222
        mov     rax, [rbx]
        PRINT   "  write 0x2222 to R, read back "
        PUTHEX  rax
        PRINT   ", PTE "
        push    rax
        mov     rax, [r14]
        call    print_ad
        pop     rax
        NEWLINE
        CHECK_EQ rax, 0x2222, "R read back after the write with CR0.WP = 0"
        mov     rax, [r14]
        and     eax, PTE_A | PTE_D | PTE_RW
        CHECK_EQ rax, PTE_A | PTE_D, "R's PTE after the write: A=1 D=1, R/W still 0"

        ; --- 3. WP = 1: reads still allowed
        mov     rax, cr0
        or      rax, CR0_WP
        mov     cr0, rax
        PRINT   "  mov cr0: WP = 1 (no INVLPG: the TLB caches R/W = 0, WP is checked on use)", 10
global read_wp1
read_wp1:
        mov     rax, [rbx]
        PRINT   "  read R: "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0x2222, "read of R with CR0.WP = 1"

        ; --- 4. WP = 1: the write faults
        PRINT   "  write to R with WP = 1: expect #PF (error code 0x3, CR2 = R), no IDT: triple fault", 10
global faulting_write
faulting_write:
        mov     qword [rbx], 0x3333             ; #PF -> no IDT -> #GP -> #DF -> triple fault

        mov     rax, [rbx]
        PRINT   "FAIL: the write to a read-only page with CR0.WP = 1 did not fault; R now holds "
        PUTHEX  rax
        NEWLINE
        mov     al, EXIT_FAIL
        call    exit_debug
