; pml4-image: elf
;
; idt_exceptions — five exceptions taken through the kernel's own IDT, each reported and resumed
; after the instruction that raised it.
;
; SDM vol. 3A 6.5: a fault is reported with the saved RIP on the faulting instruction, and the
; instruction has not changed any state; a trap with the saved RIP on the next instruction.
; 6.14.2: in 64-bit mode the processor aligns RSP down to 16 and pushes SS, RSP, RFLAGS, CS,
; RIP (and an error code for some vectors) even without a privilege change. 6.15: what each
; vector pushes. The five:
;   div_zero       DIV RCX with RCX = 0           #DE (0)   fault, no error code
;   undefined      UD2                            #UD (6)   fault, no error code
;   breakpoint     INT3                           #BP (3)   trap, no error code: RIP = INT3 + 1
;   noncanonical   MOV RAX, [RBX], RBX = 2^63     #GP (13)  fault, error code 0 (vol. 3A 6.15
;                                                           "interrupt 13", vol. 1 3.3.7.1)
;   bad_wrmsr      WRMSR, ECX = 0xdead0000        #GP (13)  fault, error code 0 (vol. 2B WRMSR:
;                                                           "reserved or unimplemented MSR")
; The handler checks the vector, the error code, RIP (printed relative to the site's label, so
; the transcript does not move with the code), CS = 0x08, SS = 0x10, that the saved RSP is the
; RSP at the site and that the frame was pushed from that RSP aligned down to 16; then it sets the
; saved RIP to the label after the instruction and returns with IRETQ. The kernel checks that
; the faulting DIV changed neither RAX nor RDX and that the registers survived each round trip.
; Any wrong value prints "FAIL: ..." and exits with EXIT_FAIL (status 3); an exception nobody
; expected prints "FAIL: unexpected ..." (lib/idt.inc). Success: EXIT_OK, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "idt.inc"

default rel

%assign MAGIC           0x5eed5eed5eed5eed      ; kept in r12-r15 across every exception
%assign NO_ERROR        -1

; A test case: where the exception comes from, where to resume, what must be seen.
%assign T_SITE          0
%assign T_RESUME        8
%assign T_NAME          16
%assign T_VECTOR        24
%assign T_ERROR         32                      ; NO_ERROR: the vector pushes none
%assign T_RIP_OFFSET    40                      ; saved RIP - site: 0 for a fault, length for a trap

section .data
align 8
case_de:        dq div_zero, div_zero.resume, name_de, VEC_DE, NO_ERROR, 0
case_ud:        dq undefined, undefined.resume, name_ud, VEC_UD, NO_ERROR, 0
case_bp:        dq breakpoint, breakpoint.resume, name_bp, VEC_BP, NO_ERROR, 1
case_nc:        dq noncanonical, noncanonical.resume, name_nc, VEC_GP, 0, 0
case_msr:       dq bad_wrmsr, bad_wrmsr.resume, name_msr, VEC_GP, 0, 0

section .rodata
name_de:        db "div_zero", 0
name_ud:        db "undefined", 0
name_bp:        db "breakpoint", 0
name_nc:        db "noncanonical", 0
name_msr:       db "bad_wrmsr", 0

section .bss
alignb 8
current_case:   resq 1                  ; the case the next exception belongs to
site_rsp:       resq 1                  ; RSP at the site
caught:         resq 1                  ; exceptions handled

; ARM case: the next exception belongs to `case`; records RSP and loads the magic registers.
%macro ARM 1
        lea     rax, [rel %1]
        mov     [rel current_case], rax
        mov     [rel site_rsp], rsp
%endmacro

; SURVIVED: r12-r15 still hold MAGIC.
%macro SURVIVED 0
        CHECK_EQ r12, r15, "r12 after the exception"
        CHECK_EQ r13, r15, "r13 after the exception"
        CHECK_EQ r14, r15, "r14 after the exception"
        mov     rax, MAGIC
        CHECK_EQ r15, rax, "r15 after the exception"
%endmacro

section .text
global _start
_start:
        PRINT   "idt_exceptions: five exceptions through the IDT, each resumed (SDM vol. 3A 6.5, 6.15)", 10
        call    idt_init
        ISR     VEC_DE, on_exception
        ISR     VEC_UD, on_exception
        ISR     VEC_BP, on_exception
        ISR     VEC_GP, on_exception
        PRINT   "  IDT of 256 interrupt gates, handlers for #DE #UD #BP #GP", 10
        mov     r12, MAGIC
        mov     r13, r12
        mov     r14, r12
        mov     r15, r12

        ; --- #DE: the DIV faults before it writes RDX:RAX
        PRINT   "div rcx with rcx = 0", 10
        ARM     case_de
        mov     eax, 1
        xor     edx, edx
        xor     ecx, ecx
global div_zero
div_zero:
        div     rcx
.resume:
        CHECK_EQ rax, 1, "rax after the faulting DIV"
        CHECK_EQ rdx, 0, "rdx after the faulting DIV"
        SURVIVED
        PRINT   "  rax = 0x1, rdx = 0x0: the faulting DIV changed nothing", 10

        ; --- #UD
        PRINT   "ud2", 10
        ARM     case_ud
global undefined
undefined:
        ud2
.resume:
        SURVIVED

        ; --- #BP: a trap, RIP after the INT3
        PRINT   "int3", 10
        ARM     case_bp
global breakpoint
breakpoint:
        int3
.resume:
        SURVIVED

        ; --- #GP(0): a non-canonical data address
        PRINT   "mov rax, [rbx] with rbx = 0x8000000000000000 (not canonical)", 10
        ARM     case_nc
        mov     rbx, 0x8000000000000000
        mov     eax, 0x77
global noncanonical
noncanonical:
        mov     rax, [rbx]
.resume:
        CHECK_EQ rax, 0x77, "rax after the faulting MOV"
        SURVIVED

        ; --- #GP(0): WRMSR to an MSR the processor does not implement
        PRINT   "wrmsr with ecx = 0xdead0000 (no such MSR)", 10
        ARM     case_msr
        mov     ecx, 0xdead0000
        xor     eax, eax
        xor     edx, edx
global bad_wrmsr
bad_wrmsr:
        wrmsr
.resume:
        SURVIVED

        CHECK_EQ qword [caught], 5, "exceptions handled"
        PRINT   "idt_exceptions: ok, 5 exceptions handled and resumed", 10
        mov     al, EXIT_OK
        call    exit_debug

; on_exception: rdi = frame. Check it against current_case, print it, resume after the site.
on_exception:
        push    rbx
        push    r12
        mov     rbx, rdi
        mov     r12, [rel current_case]
        test    r12, r12
        jnz     .known
        jmp     isr_unexpected                  ; nothing armed: report the frame and fail
.known:
        PRINT   "  -> "
        mov     rax, [rbx + F_VECTOR]
        call    print_vector
        PRINT   ", "
        call    print_error
        PRINT   ", RIP = "
        mov     rsi, [r12 + T_NAME]
        call    serial_puts
        PUTC    '+'
        mov     rax, [rbx + F_RIP]
        sub     rax, [r12 + T_SITE]
        call    serial_dec
        mov     rax, [r12 + T_RIP_OFFSET]
        test    rax, rax
        jnz     .trap
        PRINT   " (fault: the instruction itself)", 10
        jmp     .check
.trap:
        PRINT   " (trap: the next instruction)", 10
.check:
        CHECK_EQ qword [rbx + F_VECTOR], qword [r12 + T_VECTOR], "vector"
        mov     rcx, [r12 + T_ERROR]
        cmp     rcx, NO_ERROR
        je      .rip
        CHECK_EQ qword [rbx + F_ERROR], rcx, "error code"
.rip:
        mov     rcx, [r12 + T_SITE]
        add     rcx, [r12 + T_RIP_OFFSET]
        CHECK_EQ qword [rbx + F_RIP], rcx, "saved RIP"
        CHECK_EQ qword [rbx + F_CS], SEL_KERNEL_CODE, "saved CS"
        CHECK_EQ qword [rbx + F_SS], SEL_KERNEL_DATA, "saved SS (pushed at CPL 0 too, in 64-bit mode)"
        CHECK_EQ qword [rbx + F_RSP], qword [rel site_rsp], "saved RSP"
        mov     rcx, [rel site_rsp]
        and     rcx, -16
        lea     r8, [rbx + F_SIZE]
        CHECK_EQ r8, rcx, "top of the frame (RSP at the site aligned down to 16)"

        mov     rax, [r12 + T_RESUME]
        mov     [rbx + F_RIP], rax              ; resume after the site
        mov     qword [rel current_case], 0
        inc     qword [rel caught]
        pop     r12
        pop     rbx
        ret
