; pml4-image: elf
;
; syscall_loop — the system-call benchmark (pml4 bench): a user program makes 100,000 SYSCALLs,
; each answered with SYSRETQ (SDM Vol. 2B SYSCALL, SYSRET), then exits through INT 0x80.
; The GDT and TSS are guest/lib/gdt.inc's; the first GiB of the boot identity map is made
; user-accessible so that the program can run from the kernel's own image.
; Expected: guest/syscall_loop.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "gate.inc"
%include "gdt.inc"

default rel

%assign USER_STACK_TOP  0x60000
%assign CALLS           100000

section .text
global _start
_start:
        PRINT   "syscall_loop: 100,000 SYSCALL/SYSRETQ round trips from CPL 3", 10
        call    gdt_init
        lea     rdi, [idt]
        SETGATE 0x80, h_int80, 0xEE             ; DPL 3: the way out
        SETGATE 13, h_fault, 0x8E
        SETGATE 14, h_fault, 0x8E
        lidt    [idtr]

        mov     rax, [abs BOOT_PML4]                ; PML4[0], PDPT[0] and the first GiB: U = 1
        or      qword [abs BOOT_PML4], PTE_US
        and     rax, ~0xfff
        or      qword [rax], PTE_US
        mov     rdi, [rax]
        and     rdi, ~0xfff
        mov     ecx, 512
.user:  or      qword [rdi], PTE_US
        add     rdi, 8
        loop    .user
        mov     rax, cr3
        mov     cr3, rax

        mov     ecx, 0xC0000080                 ; EFER.SCE
        rdmsr
        or      eax, 1
        wrmsr
        mov     ecx, 0xC0000081                 ; STAR: SYSCALL CS 0x08; SYSRETQ CS 0x20|3, SS 0x18|3
        xor     eax, eax
        mov     edx, (0x10 | 3) << 16 | 0x08
        wrmsr
        mov     ecx, 0xC0000082                 ; LSTAR
        lea     rax, [syscall_entry]
        mov     rdx, rax
        shr     rdx, 32
        wrmsr

        push    0x18 | 3                        ; SS
        push    USER_STACK_TOP                  ; RSP
        push    0x202                           ; RFLAGS: IF
        push    0x20 | 3                        ; CS
        lea     rax, [user_main]
        push    rax
        iretq

user_main:
        mov     r12, CALLS
.call:  syscall
        dec     r12
        jnz     .call
        int     0x80

h_int80:
        CHECK_EQ qword [calls], CALLS, "every SYSCALL reached the kernel"
        PRINT   "  back from 100,000 system calls", 10
        mov     al, EXIT_OK
        out     DEBUG_EXIT_PORT, al

h_fault:
        FAIL    "an unexpected #GP or #PF"

syscall_entry:
        inc     qword [calls]
        o64 sysret

section .data
calls:  dq 0
idtr:   dw 256 * 16 - 1
        dq idt

section .bss
alignb 16
idt:    resb 256 * 16
