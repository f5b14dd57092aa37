; pml4-image: elf
;
; idt_cow — copy-on-write between two address spaces: the #PF handler copies a shared read-only
; frame on the first write, maps the copy writable in the writing space, INVLPG, and returns.
;
; SDM vol. 3A 4.6.1: with CR0.WP = 1 (the boot value, shared/BOOT.md) a supervisor write to a
; page whose PTE has R/W = 0 is a protection violation; 4.7: its #PF error code is 0x3 (P = 1:
; the page is present, the fault is a protection one; W/R = 1: a write; U/S = 0: CPL 0), CR2 =
; the address; 6.15: a fault, so the write runs again after IRETQ. 4.10.4.2: after changing the
; PTE the handler invalidates the address with INVLPG (4.10.4.3 does not require it for a change
; from R/W = 0 to 1 — a later access that finds the stale entry would fault and walk again —
; but a kernel that skipped it would take that spurious fault; hardware also invalidates the
; faulting address's entries when it delivers the #PF, 4.10.4.1). PTE bit 9 is ignored by the
; processor (4.5, table 4-20) and marks copy-on-write pages here.
;
; Spaces A and B: two PML4s (lib/paging.inc space_new: the kernel's identity map in entry 0, at
; CPL 0 all along) with their own tables for V = 0x0000010000000000 (PML4[2]):
;   V          -> frame F0 (holds 0x1111), read-only + COW in both, 2 sharers
;   V + 0x1000 -> frame F1 (holds 0xaaaa), read-only + COW in both, 2 sharers
; 1. Both spaces read both pages.
; 2. In A, write 0x2222 to V: #PF 0x3; F0 has 2 sharers: copy it to a new frame, map the copy
;    writable in A only, INVLPG V. A reads 0x2222, B still 0x1111.
; 3. In B, write 0x3333 to V: #PF 0x3; F0 has 1 sharer left (B): no copy, its PTE becomes
;    writable, INVLPG V. A reads 0x2222, B 0x3333.
; 4. In A, write 0x4444 to V: no fault. A 0x4444, B 0x3333.
; 5. V + 0x1000 was never written: both PTEs still name F1, read-only; the two PTEs of V name
;    different frames.
; After each step the kernel prints what each space sees. The handler checks CR2, the error
; code and the saved RIP against what the kernel announced; any other fault goes to the default
; handler ("FAIL: unexpected ...", lib/idt.inc). Success: EXIT_OK, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "idt.inc"

default rel

%assign V               0x0000010000000000
%assign PTE_COW         1 << 9                  ; ignored by the processor: ours
%assign MAX_FRAMES      8                       ; reference counts kept for this many frames

section .bss
alignb 8
space_a:        resq 1                  ; PML4 of A (physical)
space_b:        resq 1
frame0:         resq 1                  ; F0
frame1:         resq 1                  ; F1
refs:           resq 2 * MAX_FRAMES     ; { frame, sharers } pairs
expect_cr2:     resq 1
expect_rip:     resq 1
faults:         resq 1
copies:         resq 1

section .text
global _start
_start:
        call    frames_init                     ; rdi = boot info
        call    idt_init
        ISR     VEC_PF, on_page_fault
        PRINT   "idt_cow: copy-on-write between two address spaces (SDM vol. 3A 4.6.1, 4.7, 4.10.4)", 10

        call    space_new
        mov     [space_a], rax
        call    space_new
        mov     [space_b], rax
        mov     edx, 0x1111
        call    data_frame
        mov     [frame0], rax
        mov     edx, 0xaaaa
        call    data_frame
        mov     [frame1], rax
        mov     rdi, V
        mov     rsi, [frame0]
        call    share
        mov     rdi, V + PAGE_SIZE
        mov     rsi, [frame1]
        call    share
        PRINT   "  spaces A and B: V = 0x0000010000000000 -> F0 (0x1111), V+0x1000 -> F1 (0xaaaa),", 10
        PRINT   "  read-only and COW in both, each frame shared by 2", 10
        call    show

        ; --- 2. A writes: copy
        PRINT   "A: write 0x2222 to V", 10
        mov     rax, [space_a]
        mov     cr3, rax
        lea     rax, [rel .write_a]
        mov     [expect_rip], rax
        mov     rbx, V
        mov     [expect_cr2], rbx
        mov     eax, 0x2222
.write_a:
        mov     [rbx], rax
        CHECK_EQ qword [faults], 1, "page faults after A's write"
        call    show

        ; --- 3. B writes: the last sharer takes the frame
        PRINT   "B: write 0x3333 to V", 10
        mov     rax, [space_b]
        mov     cr3, rax
        lea     rax, [rel .write_b]
        mov     [expect_rip], rax
        mov     eax, 0x3333
.write_b:
        mov     [rbx], rax
        CHECK_EQ qword [faults], 2, "page faults after B's write"
        call    show

        ; --- 4. A writes again: its copy is writable
        PRINT   "A: write 0x4444 to V", 10
        mov     rax, [space_a]
        mov     cr3, rax
        mov     qword [expect_rip], 0
        mov     eax, 0x4444
        mov     [rbx], rax
        CHECK_EQ qword [faults], 2, "page faults after A's second write (none expected)"
        PRINT   "  (no fault: A's copy is writable)", 10
        call    show

        ; --- 5. the PTEs
        mov     rcx, [space_a]
        mov     rdi, V + PAGE_SIZE
        call    pte_of
        mov     r12, [rax]
        mov     rcx, [space_b]
        call    pte_of
        mov     r13, [rax]
        mov     rax, PTE_ADDR_MASK
        mov     rdx, r12
        and     rdx, rax
        CHECK_EQ rdx, qword [frame1], "frame of V+0x1000 in A"
        mov     rdx, r13
        and     rdx, rax
        CHECK_EQ rdx, qword [frame1], "frame of V+0x1000 in B"
        mov     rdx, r12
        or      rdx, r13
        and     edx, PTE_RW
        CHECK_EQ rdx, 0, "R/W of V+0x1000 in A or B"
        PRINT   "V+0x1000 was never written: A and B still map F1, read-only", 10
        mov     rcx, [space_a]
        mov     rdi, V
        call    pte_of
        mov     r12, [rax]
        mov     rcx, [space_b]
        call    pte_of
        mov     r13, [rax]
        mov     rax, PTE_ADDR_MASK
        and     r12, rax
        and     r13, rax
        cmp     r12, r13
        jne     .different
        FAIL    "A and B map V to the same frame after both wrote it"
.different:
        CHECK_EQ r13, qword [frame0], "frame of V in B (the last sharer keeps F0)"
        PRINT   "V: A maps its copy, B kept F0", 10
        CHECK_EQ qword [copies], 1, "frames copied"
        PRINT   "idt_cow: ok, 2 page faults, 1 frame copied", 10
        mov     al, EXIT_OK
        call    exit_debug

; share: map rdi -> frame rsi read-only + COW in A and in B; the frame gets 2 sharers.
share:
        push    rax
        push    rcx
        push    rdx
        mov     edx, PTE_P | PTE_COW
        mov     rcx, [space_a]
        call    map_4k
        mov     rcx, [space_b]
        call    map_4k
        mov     rax, rsi
        call    ref_slot
        mov     [rcx], rsi
        mov     qword [rcx + 8], 2
        pop     rdx
        pop     rcx
        pop     rax
        ret

; ref_slot: rcx = the { frame, sharers } slot of frame rax, or a free one (frame 0).
ref_slot:
        lea     rcx, [rel refs]
.next:
        cmp     [rcx], rax
        je      .found
        cmp     qword [rcx], 0
        je      .found
        add     rcx, 16
        jmp     .next                           ; (8 slots; this kernel uses 3)
.found:
        ret

; show: "  A: V = x, V+0x1000 = y   B: V = x, V+0x1000 = y", read in each space; CR3 kept.
show:
        push    rax
        push    rbx
        push    rcx
        mov     rcx, cr3
        mov     rbx, V
        PRINT   "  A: V = "
        mov     rax, [space_a]
        mov     cr3, rax
        PUTHEX  qword [rbx]
        PRINT   ", V+0x1000 = "
        PUTHEX  qword [rbx + PAGE_SIZE]
        PRINT   "    B: V = "
        mov     rax, [space_b]
        mov     cr3, rax
        PUTHEX  qword [rbx]
        PRINT   ", V+0x1000 = "
        PUTHEX  qword [rbx + PAGE_SIZE]
        NEWLINE
        mov     cr3, rcx
        pop     rcx
        pop     rbx
        pop     rax
        ret

; on_page_fault: rdi = frame. A write to a present COW page: copy it unless this space is its
; last sharer, map it writable here, INVLPG.
on_page_fault:
        push    rbx
        push    r12
        push    r13
        mov     rbx, rdi
        mov     r12, cr2
        cmp     qword [rbx + F_ERROR], PF_P | PF_WR
        jne     .foreign
        mov     rcx, cr3
        mov     rax, PTE_ADDR_MASK
        and     rcx, rax
        mov     rdi, r12
        and     rdi, ~(PAGE_SIZE - 1)
        call    pte_of
        test    rax, rax
        jz      .foreign
        mov     r13, rax                        ; the PTE's address
        test    qword [r13], PTE_COW
        jz      .foreign

        PRINT   "  #PF: CR2 "
        PUTHEX64 r12
        PRINT   ", error code "
        mov     rax, [rbx + F_ERROR]
        call    print_pf_error
        NEWLINE
        CHECK_EQ r12, qword [rel expect_cr2], "CR2"
        CHECK_EQ qword [rbx + F_RIP], qword [rel expect_rip], "saved RIP (the faulting write)"

        mov     rax, [r13]
        mov     rdx, PTE_ADDR_MASK
        and     rax, rdx                        ; the shared frame
        mov     rsi, rax
        call    ref_slot
        cmp     qword [rcx + 8], 1
        je      .last
        dec     qword [rcx + 8]                 ; one sharer less
        call    alloc_frame
        mov     rdi, rax
        call    copy_frame                      ; rsi -> rdi
        mov     rax, rdi
        call    ref_slot
        mov     [rcx], rdi
        mov     qword [rcx + 8], 1
        mov     rax, rdi
        or      rax, PTE_P | PTE_RW
        mov     [r13], rax                      ; the copy, writable, COW cleared
        inc     qword [rel copies]
        PRINT   "    frame shared by 2: copied to a new frame, mapped writable in this space; invlpg", 10
        jmp     .invalidate
.last:
        mov     rax, [r13]
        and     rax, ~PTE_COW
        or      rax, PTE_RW
        mov     [r13], rax                      ; same frame, writable
        PRINT   "    frame shared by 1: no copy, its PTE made writable; invlpg", 10
.invalidate:
        invlpg  [r12]
        inc     qword [rel faults]
        pop     r13
        pop     r12
        pop     rbx
        ret                                     ; IRETQ: the write runs again
.foreign:
        mov     rdi, rbx
        call    isr_unexpected
