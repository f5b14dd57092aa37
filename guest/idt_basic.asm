; pml4-image: elf
;
; idt_basic — exceptions through the kernel's own IDT, and a user program (SDM Vol. 3A ch. 6).
;
;  1. INT3: #BP (vector 3) is a trap: the saved RIP is the instruction after INT3 (6.15).
;  2. DIV by zero: #DE (vector 0), a fault: the saved RIP is the DIV itself; the handler skips it.
;  3. a read of a non-canonical address: #GP(0) (3.3.7.1).
;  4. a read of an unmapped address: #PF with error code 0 (not present, read, supervisor) and
;     CR2 = the address (4.7).
;  5. IRETQ to CPL 3 (a user code segment in the kernel's GDT; the boot identity map's first
;     GiB marked U=1), then from user mode:
;     - INT 0x80 through a DPL 3 gate: the CPU switches to RSP0 of the TSS (6.14.4) and the frame
;       shows CS = 0x23 (user code, RPL 3);
;     - SYSCALL (EFER.SCE, STAR, LSTAR, FMASK) and SYSRETQ back to CPL 3;
;     - INT 0x81 through a DPL 0 gate: #GP with error code 0x81 << 3 | 2 (IDT, 6.13);
;     - a read of a supervisor-only page: #PF with error code 5 (P | U/S): the kernel kills the
;       program and exits.
; Expected: guest/idt_basic.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "gate.inc"

default rel

%assign KERNEL_CS       0x08
%assign USER_DS         0x18 | 3
%assign USER_CS         0x20 | 3
%assign TSS_SEL         0x28
%assign SUPERVISOR_PAGE 0x40000000              ; the second GiB: its PDPTE has U/S = 0
%assign USER_STACK_TOP  0x60000
%assign KERNEL_STACK0   0x70000                 ; RSP0

section .text
global _start
_start:
        PRINT   "idt_basic: exceptions through the IDT, and a user program", 10
        lgdt    [gdtr]
        lea     rax, [tss]                      ; the TSS descriptor's base
        mov     [gdt_tss + 2], ax
        shr     rax, 16
        mov     [gdt_tss + 4], al
        mov     [gdt_tss + 7], ah
        shr     rax, 16
        mov     [gdt_tss + 8], eax
        mov     qword [tss + 4], KERNEL_STACK0  ; RSP0
        mov     ax, TSS_SEL
        ltr     ax

        lea     rdi, [idt]
        SETGATE 0, h_de, 0x8E
        SETGATE 3, h_bp, 0x8E
        SETGATE 13, h_gp, 0x8E
        SETGATE 14, h_pf, 0x8E
        SETGATE 0x80, h_int80, 0xEE             ; DPL 3: INT 0x80 is allowed from user mode
        SETGATE 0x81, h_int80, 0x8E             ; DPL 0: INT 0x81 from user mode is #GP
        lidt    [idtr]

        PRINT   "1. INT3", 10
        int3
after_int3:
        PRINT   "2. DIV by zero", 10
        xor     ecx, ecx
        mov     eax, 7
        xor     edx, edx
div_insn:
        div     ecx
        PRINT   "3. read of the non-canonical 0x8000000000000000", 10
        mov     rax, 0x8000000000000000
        mov     rbx, [rax]                      ; 3 bytes: 48 8b 18
        PRINT   "4. read of the unmapped 0x0000010000000000", 10
        mov     rax, 0x10000000000
        mov     rbx, [rax]

        PRINT   "5. to user mode with IRETQ", 10
        or      qword [abs BOOT_PML4], PTE_US       ; PML4[0], PDPT[0] and the first GiB's 2 MiB
        mov     rax, [abs BOOT_PML4]                ; pages become user-accessible
        and     rax, ~0xfff
        or      qword [rax], PTE_US
        mov     rdi, [rax]
        and     rdi, ~0xfff
        mov     ecx, 512
.user_bit:
        or      qword [rdi], PTE_US
        add     rdi, 8
        loop    .user_bit
        mov     rax, cr3                        ; the U bits are new: flush (4.10.4.1)
        mov     cr3, rax

        mov     ecx, 0xC0000080                 ; EFER.SCE
        rdmsr
        or      eax, 1
        wrmsr
        mov     ecx, 0xC0000081                 ; STAR: SYSCALL CS = 0x08, SYSRET base 0x10
        xor     eax, eax                        ; (SYSRETQ: CS = 0x10 + 16 = 0x20, SS = 0x18)
        mov     edx, (0x10 | 3) << 16 | KERNEL_CS
        wrmsr
        mov     ecx, 0xC0000082                 ; LSTAR
        lea     rax, [syscall_entry]
        mov     rdx, rax
        shr     rdx, 32
        wrmsr
        mov     ecx, 0xC0000084                 ; FMASK: IF and TF cleared on entry
        mov     eax, 0x300
        xor     edx, edx
        wrmsr

        push    USER_DS                         ; SS
        push    USER_STACK_TOP                  ; RSP
        push    0x202                           ; RFLAGS: IF
        push    USER_CS                         ; CS
        lea     rax, [user_main]
        push    rax                             ; RIP
        iretq

; ---- the user program (CPL 3) -------------------------------------------------------------
user_main:
        mov     eax, 1
        int     0x80                            ; "write" through the DPL 3 gate
        mov     eax, 2
        syscall
        mov     eax, 3
        int     0x81                            ; a DPL 0 gate: #GP(0x81 << 3 | 2)
        mov     rax, SUPERVISOR_PAGE
        mov     rbx, [rax]                      ; a supervisor page: #PF, killed
        PRINT   "FAIL: the user program was not stopped", 10
        jmp     $

; ---- handlers ------------------------------------------------------------------------------
h_bp:   lea     rax, [after_int3]
        cmp     [rsp], rax
        jne     .bad
        PRINT   "   #BP, saved RIP is the instruction after INT3", 10
        iretq
.bad:   FAIL    "#BP saved RIP"

h_de:   lea     rax, [div_insn]
        cmp     [rsp], rax
        jne     .bad
        PRINT   "   #DE, saved RIP is the DIV; skipping its 2 bytes", 10
        add     qword [rsp], 2
        iretq
.bad:   FAIL    "#DE saved RIP"

h_gp:   PRINT   "   #GP, error code "
        PUTHEX  qword [rsp + 8]                 ; the error code (PUTHEX pushes RAX first)
        PRINT   ", from CPL "
        mov     rax, [rsp + 16]                 ; saved CS
        and     eax, 3
        PUTDEC  rax
        NEWLINE
        test    qword [rsp + 16], 3
        jnz     .user
        add     qword [rsp + 8], 3              ; skip the 3-byte MOV
        add     rsp, 8                          ; drop the error code
        iretq
.user:  add     qword [rsp + 8], 2              ; skip INT 0x81 and go on
        add     rsp, 8
        iretq

h_pf:   PRINT   "   #PF, error code "
        PUTHEX  qword [rsp + 8]                 ; (PUTHEX pushes RAX first)
        PRINT   ", CR2 "
        mov     rax, cr2
        PUTHEX  rax
        NEWLINE
        test    qword [rsp + 16], 3
        jnz     .kill
        add     qword [rsp + 8], 3
        add     rsp, 8
        iretq
.kill:  PRINT   "   the user program read kernel memory: killed", 10
        PRINT   "done", 10
        mov     al, EXIT_OK
        out     DEBUG_EXIT_PORT, al

h_int80:
        PRINT   "   INT 0x80 from CS "
        PUTHEX  qword [rsp + 16]                ; the saved CS (PUTHEX pushes RAX first)
        PRINT   ", RAX "
        PUTHEX  rax
        PRINT   ", on the RSP0 stack: "
        lea     rbx, [rsp + 40]
        cmp     rbx, KERNEL_STACK0
        je      .yes
        PRINT   "no", 10
        iretq
.yes:   PRINT   "yes", 10
        iretq

syscall_entry:                                  ; CPL 0, still on the user stack, IF = 0
        PRINT   "   SYSCALL, RAX "
        PUTHEX  rax
        PRINT   ", return RIP in RCX, RFLAGS in R11 = "
        PUTHEX  r11
        NEWLINE
        o64 sysret

section .data
align 16
gdt:    dq 0
        dq 0x00209A0000000000                   ; 0x08 kernel code, 64-bit
        dq 0x0000920000000000                   ; 0x10 kernel data
        dq 0x0000F20000000000                   ; 0x18 user data, DPL 3
        dq 0x0020FA0000000000                   ; 0x20 user code, 64-bit, DPL 3
gdt_tss:
        dq 0x0000890000000067                   ; 0x28 the 64-bit TSS (base filled in)
        dq 0
gdt_end:
gdtr:   dw gdt_end - gdt - 1
        dq gdt
idtr:   dw 256 * 16 - 1
        dq idt

section .bss
alignb 16
idt:    resb 256 * 16
tss:    resb 104
