; pml4-image: elf
;
; smap_clac — every change that takes a right away from the kernel reaches the pages already in
; use (issue 13). With CR4.SMAP = 1 a supervisor read of a user page is allowed only while
; RFLAGS.AC = 1 (SDM Vol. 3A 4.6.1), checked at each access; so a read that STAC allowed faults
; with #PF(0x1) once AC is 0 again, whether CLAC, POPFQ or IRETQ cleared it. Likewise a write to
; a read-only page that CR0.WP = 0 allowed faults with #PF(0x3) once WP = 1, and a call into a
; user page that ran at CPL 0 faults with #PF(0x11) once CR4.SMEP = 1 (4.6.1, 4.10.4.1).
; The #PF handler checks CR2 and resumes after the access. Expected: status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "gdt.inc"
%include "idt.inc"

default rel

%assign RFLAGS_AC       1 << 18
%assign USER_DATA       0x8000000000            ; U/S = 1, holds 0x5a
%assign RO_PAGE         0x8000001000            ; supervisor, read-only
%assign USER_CODE       0x8000002000            ; U/S = 1: RET

section .bss
expect_error:   resq 1
expect_cr2:     resq 1
resume_rip:     resq 1
faults:         resq 1

section .text

; FAULTS error, address, name, instruction...: the instruction raises #PF(error) with CR2 = address.
%macro FAULTS 4+
        mov     qword [expect_error], %1
        mov     rax, %2
        mov     [expect_cr2], rax
        lea     rax, [%%resume]
        mov     [resume_rip], rax
        %4
        FAIL    %3, ": no #PF"
%%resume:
        PRINT   "  ", %3, ": #PF("
        PUTHEX  qword [expect_error]
        PRINT   ")", 10
%endmacro

global _start
_start:
        PRINT   "smap_clac: rights taken away reach the pages in use", 10
        call    frames_init
        call    gdt_init
        call    idt_init
        ISR     VEC_PF, on_pf
        mov     rcx, cr3
        call    alloc_frame
        mov     byte [rax], 0x5a
        mov     rsi, rax
        mov     rdi, USER_DATA
        mov     edx, PTE_P | PTE_RW | PTE_US
        call    map_4k
        call    alloc_frame
        mov     rsi, rax
        mov     rdi, RO_PAGE
        mov     edx, PTE_P
        call    map_4k
        call    alloc_frame
        mov     byte [rax], 0xc3                ; RET
        mov     rsi, rax
        mov     rdi, USER_CODE
        mov     edx, PTE_P | PTE_US
        call    map_4k
        mov     rax, cr4
        or      rax, CR4_SMAP
        mov     cr4, rax
        mov     rbx, USER_DATA

        stac
        movzx   eax, byte [rbx]
        CHECK_EQ rax, 0x5a, "a read of the user page after STAC"
        clac
        FAULTS  0x1, USER_DATA, "the same read after CLAC", mov al, [rbx]

        stac
        mov     al, [rbx]
        pushfq
        and     qword [rsp], ~RFLAGS_AC
        popfq
        FAULTS  0x1, USER_DATA, "after POPFQ cleared AC", mov al, [rbx]

        stac
        mov     al, [rbx]
        mov     rax, rsp
        push    SEL_KERNEL_DATA
        push    rax
        pushfq
        and     qword [rsp], ~RFLAGS_AC
        push    SEL_KERNEL_CODE
        lea     rax, [.after_iret]
        push    rax
        iretq
.after_iret:
        FAULTS  0x1, USER_DATA, "after IRETQ cleared AC", mov al, [rbx]

        mov     rax, cr0                        ; CR0.WP = 0: CPL 0 writes a read-only page
        and     rax, ~CR0_WP
        mov     cr0, rax
        mov     rdx, RO_PAGE
        mov     byte [rdx], 1
        or      rax, CR0_WP
        mov     cr0, rax
        FAULTS  0x3, RO_PAGE, "a write to a read-only page after CR0.WP = 1", mov byte [rdx], 2

        mov     rdx, USER_CODE                  ; CPL 0 runs a user page, then SMEP forbids it
        call    rdx
        mov     rax, cr4
        or      rax, CR4_SMEP
        mov     cr4, rax
        FAULTS  0x11, USER_CODE, "a call into a user page after CR4.SMEP = 1", call rdx

        CHECK_EQ qword [faults], 5, "#PF count"
        PRINT   "done", 10
        EXIT    EXIT_OK

; on_pf: rdi = frame. The error code and CR2 must be the ones expected; resume after the access.
on_pf:
        CHECK_EQ qword [rdi + F_ERROR], [expect_error], "#PF error code"
        mov     rax, cr2
        CHECK_EQ rax, [expect_cr2], "CR2"
        inc     qword [faults]
        mov     rax, [resume_rip]
        mov     [rdi + F_RIP], rax
        ret
