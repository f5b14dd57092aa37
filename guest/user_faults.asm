; pml4-image: elf
;
; user_faults — page faults of a program at CPL 3, each with U/S = 1 in the error code (SDM vol.
; 3A 4.7; 4.6: user-mode accesses need U/S = 1 at every level, user writes R/W = 1 whatever
; CR0.WP says, and user fetches from supervisor pages are refused):
;   1. a write to its own read-only page                 0x7  (P W U)
;   2. the same with CR0.WP = 0 (WP binds supervisor writes only) 0x7
;   3. a read of a supervisor page                        0x5  (P U)
;   4. a jump to a supervisor page (EFER.NXE = 1)         0x15 (P U I/D)
;   5. a read of a page that is not present               0x4  (U)
;   6. a write to a read-only page it reached before (its TLB entry cached) 0x7
; The #PF handler prints the error code, CR2 and RIP as offsets and resumes the program at the
; address it left in R15 (the program's own recovery point); INT 0x80 ends the program.
; Expected: guest/user_faults.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "gdt.inc"
%include "idt.inc"

default rel

%assign USER_CODE       0x0000008000000000
%assign USER_RO         0x0000008000010000      ; user, read-only
%assign USER_ABSENT     0x0000008000020000      ; never mapped
%assign SUPER_PAGE      0x0000008000030000      ; supervisor, writable, executable
%assign USER_STACK_TOP  0x0000008000100000
%assign IA32_EFER       0xc0000080
%assign EFER_NXE        1 << 11

section .bss
alignb 8
kernel_resume:  resq 1
faults:         resq 1

section .text
global _start
_start:
        call    frames_init
        call    gdt_init
        call    idt_init
        ISR     VEC_PF, on_pf
        ISR     0x80, on_done, GATE_INTERRUPT | GATE_DPL3
        mov     ecx, IA32_EFER
        rdmsr
        or      eax, EFER_NXE
        wrmsr
        PRINT   "user_faults: page faults at CPL 3", 10

        call    space_new
        mov     r12, rax                        ; the program's PML4
        call    alloc_frame
        mov     rdi, rax
        lea     rsi, [rel user_start]
        mov     ecx, user_end - user_start
        rep movsb
        mov     rsi, rax
        mov     rdi, USER_CODE
        mov     rcx, r12
        mov     edx, PTE_P | PTE_US
        call    map_4k
        call    alloc_frame
        mov     rsi, rax
        mov     rdi, USER_RO
        mov     rcx, r12
        mov     edx, PTE_P | PTE_US
        call    map_4k
        call    alloc_frame
        mov     byte [rax], 0xc3
        mov     rsi, rax
        mov     rdi, SUPER_PAGE
        mov     rcx, r12
        mov     edx, PTE_P | PTE_RW
        call    map_4k
        call    alloc_frame
        mov     rsi, rax
        mov     rdi, USER_STACK_TOP - PAGE_SIZE
        mov     rcx, r12
        mov     edx, PTE_P | PTE_RW | PTE_US
        call    map_4k

        mov     rax, cr0                        ; case 2 needs WP = 0; case 1 runs with it set,
        or      rax, 1 << 16                    ; and the program asks for the change by INT 0x81
        mov     cr0, rax
        mov     [rel kernel_resume], rsp
        mov     cr3, r12
        push    SEL_USER_DATA
        mov     rax, USER_STACK_TOP
        push    rax
        push    0x202
        push    SEL_USER_CODE
        mov     rax, USER_CODE
        push    rax
        iretq

; on_pf: rdi = frame. Prints, then resumes the program at its R15.
on_pf:
        push    rbx
        mov     rbx, rdi
        inc     qword [rel faults]
        PRINT   "  #PF error "
        PUTHEX  qword [rbx + F_ERROR]
        PRINT   ", CR2 user+"
        mov     rax, cr2
        mov     rdx, USER_CODE
        sub     rax, rdx
        PUTHEX  rax
        PRINT   ", RIP user+"
        mov     rax, [rbx + F_RIP]
        mov     rdx, USER_CODE
        sub     rax, rdx
        PUTHEX  rax
        PRINT   ", CS "
        PUTHEX  qword [rbx + F_CS]
        NEWLINE
        cmp     qword [rel faults], 1           ; after case 1: CR0.WP = 0 for case 2
        jne     .resume
        mov     rax, cr0
        and     rax, ~(1 << 16)
        mov     cr0, rax
.resume:
        mov     rax, [rbx + F_R15]
        mov     [rbx + F_RIP], rax
        pop     rbx
        ret

on_done:
        mov     rsp, [rel kernel_resume]
        mov     eax, BOOT_PML4
        mov     cr3, rax
        PRINT   "  INT 0x80: the program is done; page faults: "
        PUTDEC  qword [rel faults]
        NEWLINE
        CHECK_EQ qword [rel faults], 6, "page faults"
        mov     al, EXIT_OK
        call    exit_debug

; The program, copied to USER_CODE. Position-independent: every address is absolute.
user_start:
        mov     rbx, USER_RO
        lea     r15, [rel .u1]
        mov     [rbx], eax                      ; 1: write, read-only page
.u1:    lea     r15, [rel .u2]
        mov     [rbx + 8], eax                  ; 2: the same with CR0.WP = 0
.u2:    lea     r15, [rel .u3]
        mov     rcx, SUPER_PAGE
        mov     eax, [rcx]                      ; 3: read, supervisor page
.u3:    lea     r15, [rel .u4]
        jmp     rcx                             ; 4: fetch, supervisor page
.u4:    lea     r15, [rel .u5]
        mov     rcx, USER_ABSENT
        mov     eax, [rcx]                      ; 5: not present
.u5:    mov     eax, [rbx]                      ; a read: the page's TLB entry is cached now
        lea     r15, [rel .u6]
        mov     [rbx + 16], eax                 ; 6: write through the cached read-only entry
.u6:    int     0x80
user_end:
