; pml4-image: elf
;
; idt_demand — demand paging: the #PF handler gives each page of a region a fresh zeroed frame on
; its first touch and returns with IRETQ, and the touching instruction runs again.
;
; SDM vol. 3A 6.15 (interrupt 14): #PF is a fault, so the saved RIP is the faulting instruction,
; which has changed nothing and runs again after IRETQ; CR2 holds the linear address that was
; accessed; the error code (4.7): P = 0 for a not-present page, W/R = 1 for a write, U/S = 0 at
; CPL 0. 4.10.4.3: a PTE changed from not present to present needs no invalidation (no TLB entry
; is ever made from a not-present entry), so the handler does no INVLPG.
;
; The region R = 0x0000010000000000 (PML4[2]: nothing maps it in the boot tables) has 4 pages.
; The kernel, at CPL 0 on the boot tables and boot stack:
;   read  qword [R + 0x10]       #PF error 0x0, CR2 = R + 0x10    page 0 appears, reads 0
;   write qword [R + 0x1ff8]     #PF error 0x2, CR2 = R + 0x1ff8  page 1
;   write byte  [R + 0x3000]     #PF error 0x2, CR2 = R + 0x3000  page 3
;   read  qword [R + 0x1ff8]     no fault: 0x1111
;   write qword [R + 0x18]       no fault: the handler mapped page 0 writable on the read fault
;   read  dword [R + 0x2004]     #PF error 0x0, CR2 = R + 0x2004  page 2, reads 0
; then checks every value and that the pages it did not write hold zeros. The handler checks
; each fault against what the kernel announced (CR2, error code, saved RIP = the instruction);
; a fault outside R, or with P = 1 or U = 1, goes to the default handler, which prints
; "FAIL: unexpected ..." (lib/idt.inc). Success: EXIT_OK, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "idt.inc"

default rel

%assign R               0x0000010000000000
%assign R_PAGES         4

section .bss
alignb 8
expect_cr2:     resq 1                  ; the next fault, as announced by TOUCH
expect_error:   resq 1
expect_rip:     resq 1
faults:         resq 1
faults_before:  resq 1

; TOUCH site, cr2, error: the instruction at `site` must fault once with this CR2 and error code.
%macro TOUCH 3
        push    rax
        lea     rax, [rel %1]
        mov     [rel expect_rip], rax
        mov     rax, %2
        mov     [rel expect_cr2], rax
        mov     qword [rel expect_error], %3
        mov     rax, [rel faults]
        mov     [rel faults_before], rax
        pop     rax
%endmacro

; FAULTED n: exactly n faults since the last TOUCH.
%macro FAULTED 1
        push    rax
        mov     rax, [rel faults]
        sub     rax, [rel faults_before]
        CHECK_EQ rax, %1, "page faults taken by the access"
        pop     rax
%endmacro

section .text
global _start
_start:
        call    frames_init                     ; rdi = boot info
        call    idt_init
        ISR     VEC_PF, on_page_fault
        PRINT   "idt_demand: demand paging in the #PF handler (SDM vol. 3A 4.7, 6.15)", 10
        mov     rbx, R
        PRINT   "  region "
        PUTHEX64 rbx
        PRINT   "-"
        PUTHEX64 R + R_PAGES * PAGE_SIZE - 1
        PRINT   ": 4 pages, no page table maps them yet", 10

        PRINT   "read  qword [R + 0x10]", 10
        TOUCH   .read0, R + 0x10, 0
        mov     rax, -1
.read0: mov     rax, [rbx + 0x10]
        FAULTED 1
        PRINT   "  = "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0, "read of a fresh page"

        PRINT   "write qword [R + 0x1ff8] = 0x1111", 10
        TOUCH   .write1, R + 0x1ff8, PF_WR
        mov     eax, 0x1111
.write1: mov    [rbx + 0x1ff8], rax
        FAULTED 1

        PRINT   "write byte  [R + 0x3000] = 0x33", 10
        TOUCH   .write3, R + 0x3000, PF_WR
.write3: mov    byte [rbx + 0x3000], 0x33
        FAULTED 1

        PRINT   "read  qword [R + 0x1ff8]", 10
        TOUCH   .read1, 0, 0
.read1: mov     rax, [rbx + 0x1ff8]
        FAULTED 0
        PRINT   "  = "
        PUTHEX  rax
        PRINT   " (no fault: page 1 is present)", 10
        CHECK_EQ rax, 0x1111, "read back of page 1"

        PRINT   "write qword [R + 0x18] = 0x2222", 10
        TOUCH   .write0, 0, 0
        mov     eax, 0x2222
.write0: mov    [rbx + 0x18], rax
        FAULTED 0
        PRINT   "  (no fault: page 0 was mapped writable on its read fault)", 10

        PRINT   "read  dword [R + 0x2004]", 10
        TOUCH   .read2, R + 0x2004, 0
        mov     eax, -1
.read2: mov     eax, [rbx + 0x2004]
        FAULTED 1
        PRINT   "  = "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0, "read of a fresh page"

        ; --- the data, page by page: the sum of each page's qwords, and the values written
        CHECK_EQ qword [rbx + 0x10], 0, "page 0 at 0x10"
        CHECK_EQ qword [rbx + 0x18], 0x2222, "page 0 at 0x18"
        CHECK_EQ qword [rbx + 0x1ff8], 0x1111, "page 1 at 0xff8"
        CHECK_EQ qword [rbx + 0x3000], 0x33, "page 3 at 0"
        xor     ecx, ecx
.page:
        mov     rsi, rcx
        shl     rsi, 12
        add     rsi, rbx
        xor     edx, edx
        xor     edi, edi
.sum:
        add     rdx, [rsi + rdi * 8]
        inc     edi
        cmp     edi, PAGE_SIZE / 8
        jb      .sum
        lea     r8, [rel page_sums]
        CHECK_EQ rdx, qword [r8 + rcx * 8], "sum of a page's qwords (the rest must be zeros)"
        inc     ecx
        cmp     ecx, R_PAGES
        jb      .page
        PRINT   "check: 0x2222 and 0x1111 read back, every other byte of the 4 pages is 0", 10
        CHECK_EQ qword [faults], 4, "page faults in all"
        PRINT   "idt_demand: ok, 4 page faults, 4 frames", 10
        mov     al, EXIT_OK
        call    exit_debug

section .rodata
align 8
page_sums:      dq 0x2222, 0x1111, 0, 0x33

section .text
; on_page_fault: rdi = frame. A not-present page in R gets a zeroed frame, writable.
on_page_fault:
        push    rbx
        push    r12
        mov     rbx, rdi
        mov     r12, cr2
        test    qword [rbx + F_ERROR], PF_P | PF_US
        jnz     .foreign
        mov     rax, R
        cmp     r12, rax
        jb      .foreign
        add     rax, R_PAGES * PAGE_SIZE
        cmp     r12, rax
        jae     .foreign

        PRINT   "  #PF: CR2 "
        PUTHEX64 r12
        PRINT   ", error code "
        mov     rax, [rbx + F_ERROR]
        call    print_pf_error
        PRINT   ": zeroed frame mapped at "
        mov     rdi, r12
        and     rdi, ~(PAGE_SIZE - 1)
        PUTHEX64 rdi
        PRINT   ", retry", 10
        CHECK_EQ r12, qword [rel expect_cr2], "CR2"
        CHECK_EQ qword [rbx + F_ERROR], qword [rel expect_error], "#PF error code"
        CHECK_EQ qword [rbx + F_RIP], qword [rel expect_rip], "saved RIP (the faulting instruction)"

        call    alloc_frame
        mov     rsi, rax
        mov     rcx, cr3
        mov     rax, PTE_ADDR_MASK
        and     rcx, rax
        mov     edx, PTE_P | PTE_RW
        call    map_4k                          ; rdi = the page
        invlpg  [rdi]                           ; not needed for a page that was not present (not
                                                ; cached, SDM 4.10.4.3), but what kernels do
        inc     qword [rel faults]
        pop     r12
        pop     rbx
        ret                                     ; IRETQ: the access runs again
.foreign:
        mov     rdi, rbx
        call    isr_unexpected
