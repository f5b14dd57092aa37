; pml4-image: elf
;
; tlb_coherent — a kernel that keeps its TLB coherent: every change to a translation the TLB may
; hold is followed by the invalidation SDM vol. 3A 4.10.4 asks for, and the changes it makes
; without one are the ones the SDM allows. `pml4 run --check-tlb` must report no stale use and no
; dirty-bit warning on it; it notes the one spurious page fault (tlb_coherent.expected-report).
;
; 1. V -> frame A, read; PTE -> frame B, INVLPG [V]; read: frame B (4.10.4.2).
; 2. A cleared and software-available bits 9-11 and 52 set in V's PTE, no invalidation; read V
;    (4.10.4.3: the processor ignores those bits; A may stay cleared).
; 3. W (not present, never accessed) mapped, no invalidation; read W (4.10.4.3: not present ->
;    present needs none).
; 4. R mapped read-only; read R. R/W set in its PTE, no invalidation; write R: the cached
;    read-only rights give a #PF (4.10.4.3: "spurious" page fault, which the processor may give
;    or not); the handler sees the PTE already allows the write and returns; the write is retried
;    and succeeds (the #PF invalidated the entry, 4.10.4.1).
; 5. Write V (D = 1); D cleared with INVLPG [V]; write V: D = 1 again (4.8).
; 6. Unmap W with INVLPG [rbx + W - V]; change V's frame back with MOV to CR3 (V is not global).
; Checked: FAIL and EXIT_FAIL (status 3) on a wrong value or an unexpected fault, EXIT_OK at the end.

%include "tlbbug.inc"                 ; pml4.inc, serial.inc, paging.inc, V
%include "idt.inc"

default rel

%assign W               0x0000008000001000      ; PT[1]
%assign R               0x0000008000002000      ; PT[2]
%assign SOFTWARE_BITS   (7 << 9) | (1 << 52)    ; ignored by the processor (SDM Table 4-20)

section .bss
alignb 8
spurious:       resq 1                  ; spurious page faults the handler saw
r_pte:          resq 1                  ; R's PTE (physical = identity address)

section .text
global _start
_start:
        call    frames_init                     ; rdi = boot info
        call    idt_init
        ISR     VEC_PF, on_page_fault
        PRINT   "tlb_coherent: every PTE change invalidated, or one the SDM allows (SDM 4.10.4)", 10
        DATA_FRAME r12, 0xaaaa                  ; frame A
        DATA_FRAME r13, 0xbbbb                  ; frame B
        MAP_BOOT V, r12, PTE_P | PTE_RW
        mov     r14, rax                        ; V's PTE
        mov     rbx, V

        ; --- 1. a new frame, INVLPG
        mov     rax, [rbx]
        CHECK_EQ rax, 0xaaaa, "first read of V"
        mov     rax, r13
        or      rax, PTE_P | PTE_RW | PTE_A
        mov     [r14], rax
        invlpg  [rbx]
        mov     rax, [rbx]
        PRINT   "  V -> frame B, invlpg [V]: V = "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0xbbbb, "read of V after INVLPG"

        ; --- 2. A and ignored bits
        mov     rax, [r14]
        and     rax, ~PTE_A
        mov     rdx, SOFTWARE_BITS
        or      rax, rdx
        mov     [r14], rax
        mov     rax, [rbx]
        PRINT   "  A cleared, software bits set, no invalidation: V = "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0xbbbb, "read of V after changing ignored bits"

        ; --- 3. not present -> present
        DATA_FRAME rsi, 0xcccc
        MAP_BOOT W, rsi, PTE_P | PTE_RW
        mov     r15, rax                        ; W's PTE
        mov     rax, [rbx + W - V]
        PRINT   "  W mapped (was not present), no invalidation: W = "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0xcccc, "read of W"

        ; --- 4. rights granted without invalidation: a spurious #PF
        call    alloc_frame
        MAP_BOOT R, rax, PTE_P
        mov     [r_pte], rax
        mov     rdx, rax
        mov     rax, [rbx + R - V]
global grant_write
grant_write:
        or      qword [rdx], PTE_RW
        PRINT   "  R mapped read-only and read; R/W set in its PTE, no invalidation", 10
global write_granted
write_granted:
        mov     qword [rbx + R - V], 0x5555
        mov     rax, [rbx + R - V]
        PRINT   "  write R: "
        PUTHEX  rax
        PRINT   " after "
        PUTDEC  qword [spurious]
        PRINT   " spurious page fault", 10
        CHECK_EQ rax, 0x5555, "R after the retried write"
        CHECK_EQ qword [spurious], 1, "spurious page faults"

        ; --- 5. D cleared with INVLPG
        mov     qword [rbx], 0x1111
        and     qword [r14], ~PTE_D
        invlpg  [rbx]
        mov     qword [rbx], 0x2222
        mov     rax, [r14]
        PRINT   "  write V, D cleared, invlpg [V], write V: PTE "
        call    print_ad
        NEWLINE
        and     eax, PTE_D
        CHECK_EQ rax, PTE_D, "D after INVLPG and a write"

        ; --- 6. unmap with INVLPG; a frame change followed by MOV to CR3
        mov     qword [r15], 0
        invlpg  [rbx + W - V]
        mov     rax, r12
        or      rax, PTE_P | PTE_RW
        mov     [r14], rax
        mov     rax, cr3
        mov     cr3, rax
        mov     rax, [rbx]
        PRINT   "  W unmapped, invlpg [W]; V -> frame A, mov cr3, cr3: V = "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0xaaaa, "read of V after MOV to CR3"
        PRINT   "tlb_coherent: ok", 10
        mov     al, EXIT_OK
        call    exit_debug

; on_page_fault: rdi = frame. Only a write to R whose PTE already allows it is expected: a
; spurious fault from the cached read-only rights; returning retries the write.
on_page_fault:
        mov     rax, cr2
        mov     rdx, R
        cmp     rax, rdx
        jne     .foreign
        cmp     qword [rdi + F_ERROR], PF_P | PF_WR
        jne     .foreign
        mov     rax, [r_pte]
        test    qword [rax], PTE_RW
        jz      .foreign
        PRINT   "  #PF: write to R, error code 0x3, but its PTE allows it: spurious, retry", 10
        inc     qword [spurious]
        ret
.foreign:
        call    isr_unexpected
