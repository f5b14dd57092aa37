; pml4-image: elf
;
; idt_user — a user program at CPL 3 makes system calls through SYSCALL and through INT 0x80,
; raises #GP with INT 0x81 (a DPL 0 gate), and is killed when it reads kernel memory.
;
; What the SDM says the hardware does, and what the kernel checks:
; - IRETQ to CPL 3 (vol. 2A IRET; vol. 3A 6.14.3) pops RIP, CS, RFLAGS, RSP, SS: the program
;   starts at USER_CODE with CS = 0x23, SS = 0x1b, RFLAGS = 0x202.
; - SYSCALL (vol. 2B), enabled by EFER.SCE: RCX = the next RIP, R11 = RFLAGS, RFLAGS &= ~FMASK,
;   CS = STAR[47:32] = 0x08, SS = STAR[47:32] + 8 = 0x10, CPL 0, RIP = LSTAR; RSP is NOT
;   changed, so the entry point executes SWAPGS (vol. 2B SWAPGS: GS base <-> IA32_KERNEL_GS_BASE)
;   to reach its per-CPU area and take the kernel stack from there (Linux's entry_SYSCALL_64).
; - SYSRET with REX.W: RIP = RCX, RFLAGS = (R11 & 0x3c7fd7) | 2, CS = STAR[63:48] + 16 | 3 =
;   0x23, SS = STAR[63:48] + 8 | 3 = 0x1b, CPL 3. The program checks CS, SS, IF, RSP, R12.
; - INT 0x80 through a DPL 3 trap gate (vol. 3A 6.12.1.1, 6.14.3-6.14.4): allowed at CPL 3; the
;   privilege change loads RSP from TSS.RSP0, then SS, RSP, RFLAGS, CS, RIP (the next
;   instruction) are pushed there; a trap gate leaves IF as it was (1).
; - INT 0x81 through a DPL 0 gate from CPL 3 (6.12.1.1): #GP with error code 0x81 << 3 | 2
;   (IDT = 1, EXT = 0: a software interrupt, 6.13) = 0x40a; a fault, so RIP = the INT 0x81
;   itself. The kernel skips the 2-byte instruction and returns (through an interrupt gate:
;   IF = 0 in the handler).
; - A CPL 3 read of a supervisor page (vol. 3A 4.6.1, 4.7): #PF, error code 0x5 (P = 1, W/R = 0,
;   U/S = 1), CR2 = the address (0x100000: the first byte of this kernel). The kernel kills the
;   program: it leaves the interrupt frame and goes on with its own work.
; Address space of the program (lib/paging.inc space_new: PML4[0] is the kernel's identity map,
; supervisor-only): its code, copied from user_start..user_end to a frame, at USER_CODE
; (read-only, U/S = 1); one stack page below USER_STACK_TOP (writable, U/S = 1).
; The kernel's report lines start with "kernel:", the program's own (its write calls) with
; "user:". A wrong value: "FAIL: ..." and EXIT_FAIL (status 3); the program reports a failed
; check through exit(1), which the kernel turns into FAIL. Success: EXIT_OK, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "gdt.inc"
%include "idt.inc"

default rel

%assign USER_CODE       0x0000008000000000      ; PML4[1]
%assign USER_STACK_TOP  0x0000008000100000
%assign USER_FLAGS      0x202                   ; IF = 1
%assign SYSCALL_FMASK   0x700                   ; TF, IF, DF cleared on SYSCALL
%assign STAR_VALUE      (SEL_KERNEL_DATA << 48) | (SEL_KERNEL_CODE << 32)
%assign MSR_GS_BASE     0xC0000101
%assign MSR_KERNEL_GS_BASE 0xC0000102

%assign SYS_WRITE       1                       ; write(buf = rdi, len = rsi) -> rax = len
%assign SYS_EXIT        60                      ; exit(code = rdi)

; The per-CPU area, reached through GS in the kernel.
%assign PC_SELF         0
%assign PC_KERNEL_RSP   8
%assign PC_USER_RSP     16

; UADDR label: the address of a user_start..user_end label in the program's space.
%define UADDR(l)        (USER_CODE + ((l) - user_start))

section .bss
alignb 16
percpu:         resq 4
kernel_resume:  resq 1                  ; RSP of _start while the program runs
user_space:     resq 1                  ; its PML4
writes_syscall: resq 1
writes_int80:   resq 1
reported_syscall: resq 1
reported_int80: resq 1
gp_caught:      resq 1
killed:         resq 1

section .text
global _start
_start:
        call    frames_init                     ; rdi = boot info
        call    gdt_init
        call    idt_init
        ISR     VEC_GP, on_gp
        ISR     VEC_PF, on_pf
        ISR     0x80, on_int80, GATE_TRAP | GATE_DPL3
        ; 0x81 keeps idt_init's gate: interrupt gate, DPL 0, the default handler
        PRINT   "idt_user: a program at CPL 3 (SDM vol. 3A 5.6, 6.12, 6.14; vol. 2B SYSCALL, SYSRET, SWAPGS)", 10
        PRINT   "  GDT: user data 0x1b, user code 0x23, TSS 0x28 (RSP0 = the kernel stack); IDT: 0x80 trap gate", 10
        PRINT   "  DPL 3, 0x81 interrupt gate DPL 0, handlers for #GP and #PF", 10

        ; --- SYSCALL: EFER.SCE, STAR, LSTAR, FMASK
        mov     ecx, MSR_EFER
        rdmsr
        or      eax, EFER_SCE
        wrmsr
        mov     ecx, MSR_STAR
        xor     eax, eax
        mov     edx, STAR_VALUE >> 32
        wrmsr
        mov     ecx, MSR_LSTAR
        lea     rax, [rel syscall_entry]
        mov     rdx, rax
        shr     rdx, 32
        wrmsr
        mov     ecx, MSR_FMASK
        mov     eax, SYSCALL_FMASK
        xor     edx, edx
        wrmsr
        PRINT   "  EFER.SCE = 1, STAR = "
        mov     ecx, MSR_STAR
        call    rdmsr64
        call    serial_hex64
        PRINT   ", LSTAR = syscall_entry, FMASK = "
        mov     ecx, MSR_FMASK
        call    rdmsr64
        call    serial_hex
        NEWLINE
        mov     ecx, MSR_LSTAR
        call    rdmsr64
        lea     rdx, [rel syscall_entry]
        CHECK_EQ rax, rdx, "LSTAR read back"

        ; --- GS: the kernel's per-CPU area now, the user's (0) after SWAPGS
        lea     rax, [rel percpu]
        mov     [rax + PC_SELF], rax
        lea     rdx, [rel kernel_stack_top]
        mov     [rax + PC_KERNEL_RSP], rdx
        mov     rdx, rax
        shr     rdx, 32
        mov     ecx, MSR_GS_BASE
        wrmsr
        xor     eax, eax
        xor     edx, edx
        mov     ecx, MSR_KERNEL_GS_BASE
        wrmsr
        PRINT   "  GS base = the kernel's per-CPU area, KERNEL_GS_BASE = 0 (the user's)", 10

        ; --- the program's address space
        call    space_new
        mov     [user_space], rax
        mov     rcx, rax
        call    alloc_frame
        mov     rdi, rax
        lea     rsi, [rel user_start]
        push    rcx
        mov     ecx, user_end - user_start
        rep movsb                               ; the program, into its frame
        pop     rcx
        mov     rsi, rax
        mov     rdi, USER_CODE
        mov     edx, PTE_P | PTE_US             ; read-only
        call    map_4k
        call    alloc_frame
        mov     rsi, rax
        mov     rdi, USER_STACK_TOP - PAGE_SIZE
        mov     edx, PTE_P | PTE_RW | PTE_US
        call    map_4k
        PRINT   "  user space: code at 0x0000008000000000 (U/S = 1, read-only), stack page 0x00000080000ff000", 10
        PRINT   "  (U/S = 1); the kernel's identity map is supervisor-only", 10

        ; --- to CPL 3
        PRINT   "iretq to 0x0000008000000000, CS = 0x23, SS = 0x1b, RSP = 0x0000008000100000, RFLAGS = 0x202", 10
        mov     [kernel_resume], rsp
        mov     rax, [user_space]
        mov     cr3, rax
        swapgs                                  ; GS base = 0, KERNEL_GS_BASE = percpu
        push    SEL_USER_DATA
        mov     rax, USER_STACK_TOP
        push    rax
        push    USER_FLAGS
        push    SEL_USER_CODE
        mov     rax, USER_CODE
        push    rax
        iretq

; user_gone: the program was killed (or exited); rsp = kernel_resume, GS = the kernel's.
user_gone:
        mov     eax, BOOT_PML4
        mov     cr3, rax
        CHECK_EQ qword [killed], 1, "processes killed"
        CHECK_EQ qword [writes_syscall], 4, "writes through SYSCALL"
        CHECK_EQ qword [writes_int80], 1, "writes through INT 0x80"
        CHECK_EQ qword [gp_caught], 1, "#GP from INT 0x81"
        PRINT   "idt_user: ok, 5 writes (4 through SYSCALL, 1 through INT 0x80), 1 #GP, 1 process killed", 10
        mov     al, EXIT_OK
        call    exit_debug

; rdmsr64: rax = MSR ecx.
rdmsr64:
        push    rdx
        rdmsr
        shl     rdx, 32
        or      rax, rdx
        pop     rdx
        ret

; ---------------------------------------------------------------------------------------------
; SYSCALL entry (LSTAR). RCX = user RIP, R11 = user RFLAGS, RSP = user RSP, GS = user's.
global syscall_entry
syscall_entry:
        swapgs
        mov     [gs:PC_USER_RSP], rsp
        mov     rsp, [gs:PC_KERNEL_RSP]
        push    rcx
        push    r11
        push    rbx
        push    rbp
        push    rdi
        push    rsi
        push    rdx
        push    r8
        push    r9
        push    r10
        push    r12
        push    r13
        push    r14
        push    r15
        cld
        cmp     qword [rel reported_syscall], 0
        jne     .dispatch
        inc     qword [rel reported_syscall]
        call    report_syscall
.dispatch:
        call    do_syscall                      ; rax, rdi, rsi -> rax
        inc     qword [rel writes_syscall]
        pop     r15
        pop     r14
        pop     r13
        pop     r12
        pop     r10
        pop     r9
        pop     r8
        pop     rdx
        pop     rsi
        pop     rdi
        pop     rbp
        pop     rbx
        pop     r11
        pop     rcx
        mov     rsp, [gs:PC_USER_RSP]
        swapgs
        o64 sysret

; report_syscall: what SYSCALL did, checked. The saved RCX and R11 are on the kernel stack.
report_syscall:
        push    rax
        push    rcx
        push    rdx
        mov     rcx, [rel kernel_stack_top - 8]  ; the user's RCX, pushed first by syscall_entry
        mov     rdx, [rel kernel_stack_top - 16] ; the user's R11
        PRINT   "kernel: SYSCALL entry: CS = "
        xor     eax, eax
        mov     ax, cs
        PUTHEX  rax
        CHECK_EQ rax, SEL_KERNEL_CODE, "CS after SYSCALL"
        PRINT   ", SS = "
        mov     ax, ss
        PUTHEX  rax
        CHECK_EQ rax, SEL_KERNEL_DATA, "SS after SYSCALL"
        PRINT   ", RFLAGS.IF = "
        pushfq
        pop     rax
        shr     eax, 9
        and     eax, 1
        PUTDEC  rax
        CHECK_EQ rax, 0, "RFLAGS.IF after SYSCALL (FMASK)"
        PRINT   " (FMASK), R11.IF = "
        mov     rax, rdx
        shr     eax, 9
        and     eax, 1
        PUTDEC  rax
        CHECK_EQ rax, 1, "IF in R11 (the user's RFLAGS)"
        NEWLINE
        mov     rdx, UADDR(user_syscall_1) + 2
        CHECK_EQ rcx, rdx, "RCX after SYSCALL (the user's next RIP)"
        PRINT   "kernel:   RCX = the instruction after the user's SYSCALL, RSP = "
        mov     rax, [gs:PC_USER_RSP]
        call    serial_hex64
        PRINT   " (the user's: SYSCALL does not switch stacks)", 10
        mov     rdx, USER_STACK_TOP
        CHECK_EQ rax, rdx, "RSP at SYSCALL entry"
        mov     rax, [gs:PC_SELF]
        lea     rdx, [rel percpu]
        CHECK_EQ rax, rdx, "GS:0 after SWAPGS (the per-CPU area)"
        mov     ecx, MSR_KERNEL_GS_BASE
        call    rdmsr64
        PRINT   "kernel:   after SWAPGS: GS base = the per-CPU area, KERNEL_GS_BASE = "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0, "KERNEL_GS_BASE after SWAPGS"
        pop     rdx
        pop     rcx
        pop     rax
        ret

; do_syscall: rax = number, rdi, rsi = arguments; rax = result. Kernel state, any entry path.
do_syscall:
        cmp     rax, SYS_WRITE
        je      .write
        cmp     rax, SYS_EXIT
        je      .exit
        mov     rax, -38                        ; ENOSYS
        ret
.write:
        push    rcx
        push    rdi
        mov     rcx, rsi
        test    rcx, rcx
        jz      .written
.byte:
        mov     al, [rdi]                       ; the user's buffer, at its user address
        call    serial_putc
        inc     rdi
        dec     rcx
        jnz     .byte
.written:
        pop     rdi
        pop     rcx
        mov     rax, rsi
        ret
.exit:
        PRINT   "FAIL: the user program exited with code "
        PUTDEC  rdi
        PRINT   " (one of its checks failed)", 10
        mov     al, EXIT_FAIL
        call    exit_debug

; ---------------------------------------------------------------------------------------------
; on_int80: rdi = frame (trap gate, DPL 3). The system call in frame.rax, .rdi, .rsi.
on_int80:
        push    rbx
        mov     rbx, rdi
        cmp     qword [rel reported_int80], 0
        jne     .dispatch
        inc     qword [rel reported_int80]
        PRINT   "kernel: INT 0x80 from CPL 3: frame CS = "
        PUTHEX  qword [rbx + F_CS]
        PRINT   ", SS = "
        PUTHEX  qword [rbx + F_SS]
        PRINT   ", RSP = "
        PUTHEX64 qword [rbx + F_RSP]
        PRINT   ", RIP after the INT", 10
        CHECK_EQ qword [rbx + F_CS], SEL_USER_CODE, "CS in the INT 0x80 frame"
        CHECK_EQ qword [rbx + F_SS], SEL_USER_DATA, "SS in the INT 0x80 frame"
        mov     rcx, USER_STACK_TOP
        CHECK_EQ qword [rbx + F_RSP], rcx, "RSP in the INT 0x80 frame"
        mov     rcx, UADDR(user_int80) + 2
        CHECK_EQ qword [rbx + F_RIP], rcx, "RIP in the INT 0x80 frame (the next instruction)"
        lea     rcx, [rbx + F_SIZE]
        lea     rdx, [rel kernel_stack_top]
        CHECK_EQ rcx, rdx, "top of the INT 0x80 frame (TSS.RSP0)"
        pushfq
        pop     rcx
        shr     ecx, 9
        and     ecx, 1
        PRINT   "kernel:   the frame is at the top of the TSS.RSP0 stack; RFLAGS.IF = "
        PUTDEC  rcx
        PRINT   " (trap gate)", 10
        CHECK_EQ rcx, 1, "RFLAGS.IF in a trap-gate handler"
        mov     rax, [gs:PC_SELF]
        lea     rdx, [rel percpu]
        CHECK_EQ rax, rdx, "GS:0 in the INT 0x80 handler (isr_common's SWAPGS)"
.dispatch:
        mov     rax, [rbx + F_RAX]
        mov     rdi, [rbx + F_RDI]
        mov     rsi, [rbx + F_RSI]
        call    do_syscall
        mov     [rbx + F_RAX], rax
        inc     qword [rel writes_int80]
        pop     rbx
        ret

; on_gp: rdi = frame. Only the program's INT 0x81 is expected: skip it.
on_gp:
        push    rbx
        mov     rbx, rdi
        test    qword [rbx + F_CS], 3
        jz      .foreign
        PRINT   "kernel: "
        mov     rax, [rbx + F_VECTOR]
        call    print_vector
        PRINT   ", "
        call    print_error
        PRINT   " = 0x81 << 3 | IDT, RIP on the INT 0x81, RFLAGS.IF = "
        pushfq
        pop     rcx
        shr     ecx, 9
        and     ecx, 1
        PUTDEC  rcx
        PRINT   " (interrupt gate)", 10
        CHECK_EQ qword [rbx + F_ERROR], (0x81 << 3) | ERR_IDT, "#GP error code"
        mov     rcx, UADDR(user_int81)
        CHECK_EQ qword [rbx + F_RIP], rcx, "RIP in the #GP frame (the INT 0x81 itself)"
        mov     rcx, [rbx + F_RFLAGS]
        and     ecx, RFLAGS_IF
        CHECK_EQ rcx, RFLAGS_IF, "IF in the #GP frame (the user's RFLAGS)"
        pushfq
        pop     rcx
        and     ecx, RFLAGS_IF
        CHECK_EQ rcx, 0, "RFLAGS.IF in an interrupt-gate handler"
        add     qword [rbx + F_RIP], 2
        inc     qword [rel gp_caught]
        PRINT   "kernel:   skipped the 2-byte instruction, back to the user", 10
        pop     rbx
        ret
.foreign:
        mov     rdi, rbx
        call    isr_unexpected

; on_pf: rdi = frame. Only a user access is expected: kill the program.
on_pf:
        mov     rbx, rdi
        test    qword [rbx + F_CS], 3
        jz      .foreign
        PRINT   "kernel: "
        mov     rax, [rbx + F_VECTOR]
        call    print_vector
        PRINT   ", CR2 "
        mov     rax, cr2
        call    serial_hex64
        PRINT   ", error code "
        mov     rax, [rbx + F_ERROR]
        call    print_pf_error
        PRINT   ", RIP on the user's read", 10
        mov     rax, cr2
        CHECK_EQ rax, KERNEL_PHYS, "CR2"
        CHECK_EQ qword [rbx + F_ERROR], PF_P | PF_US, "#PF error code"
        mov     rcx, UADDR(user_touch)
        CHECK_EQ qword [rbx + F_RIP], rcx, "RIP in the #PF frame (the faulting read)"
        PRINT   "kernel:   a user access to a supervisor page: process killed", 10
        inc     qword [rel killed]
        mov     rsp, [rel kernel_resume]        ; leave the frame for good
        jmp     user_gone
.foreign:
        call    isr_unexpected

; ---------------------------------------------------------------------------------------------
; The user program: position-independent, copied to USER_CODE, runs at CPL 3. Its checks
; end in exit(1) when they fail.
align 16
user_start:
        lea     rdi, [rel umsg_syscall]
        mov     esi, umsg_syscall_len
        mov     eax, SYS_WRITE
        mov     r12, 0x1234
user_syscall_1:
        syscall
        cmp     rax, umsg_syscall_len
        jne     user_bad
        cmp     r12, 0x1234
        jne     user_bad
        mov     rdx, USER_STACK_TOP
        cmp     rsp, rdx
        jne     user_bad
        xor     eax, eax
        mov     ax, cs
        cmp     eax, SEL_USER_CODE
        jne     user_bad
        mov     ax, ss
        cmp     eax, SEL_USER_DATA
        jne     user_bad
        pushfq
        pop     rax
        test    eax, RFLAGS_IF
        jz      user_bad
        lea     rdi, [rel umsg_sysret]
        mov     esi, umsg_sysret_len
        mov     eax, SYS_WRITE
        syscall

        lea     rdi, [rel umsg_int80]
        mov     esi, umsg_int80_len
        mov     eax, SYS_WRITE
user_int80:
        int     0x80
        cmp     rax, umsg_int80_len
        jne     user_bad
        mov     rdx, USER_STACK_TOP
        cmp     rsp, rdx
        jne     user_bad

        lea     rdi, [rel umsg_int81]
        mov     esi, umsg_int81_len
        mov     eax, SYS_WRITE
        syscall
user_int81:
        int     0x81                            ; #GP(0x40a); the kernel skips it

        lea     rdi, [rel umsg_touch]
        mov     esi, umsg_touch_len
        mov     eax, SYS_WRITE
        syscall
        mov     rbx, KERNEL_PHYS
user_touch:
        mov     rax, [rbx]                      ; #PF(0x5): killed here
        mov     edi, 2
        jmp     user_exit
user_bad:
        mov     edi, 1
user_exit:
        mov     eax, SYS_EXIT
        syscall
        ud2

umsg_syscall:   db "user: hello through SYSCALL", 10
umsg_syscall_len equ $ - umsg_syscall
umsg_sysret:    db "user: back at CPL 3 after SYSRET: CS = 0x23, SS = 0x1b, IF = 1, RSP and R12 kept", 10
umsg_sysret_len equ $ - umsg_sysret
umsg_int80:     db "user: hello through INT 0x80", 10
umsg_int80_len equ $ - umsg_int80
umsg_int81:     db "user: int 0x81 (a DPL 0 gate)", 10
umsg_int81_len equ $ - umsg_int81
umsg_touch:     db "user: resumed after the INT 0x81; reading kernel memory at 0x100000", 10
umsg_touch_len equ $ - umsg_touch
user_end:
