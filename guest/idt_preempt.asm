; pml4-image: elf
;
; idt_preempt — two user processes, each in its own address space, preempted by the PIT: the
; scheduler switches between them on every timer interrupt, round robin.
;
; What the hardware does (and pml4 must model):
; - 8259A PIC pair, initialised by the kernel (pml4 has no BIOS: the PICs start uninitialised,
;   every IRQ masked): IRQ 0-7 -> vectors 0x20-0x27, IRQ 8-15 -> 0x28-0x2f, all masked but IRQ 0;
;   a non-specific EOI ends each IRQ (lib/pic.inc).
; - 8254 PIT channel 0, mode 2, divisor 100: IRQ 0 every 100 input clocks of 1,193,182 Hz; in
;   pml4's virtual time (1 instruction = 1 ns) that is once per ~83,810 instructions.
; - SDM vol. 3A 6.8.1: a maskable interrupt is taken between instructions when RFLAGS.IF = 1;
;   the processes run with IF = 1, the kernel with IF = 0 (every gate here is an interrupt
;   gate, 6.8.1/6.12.1.3), so a tick never lands inside the kernel. 6.14.3-6.14.4: from CPL 3 the
;   frame goes onto TSS.RSP0's stack, which the scheduler points at the next process's kernel
;   stack before it resumes it.
; The switch: the timer handler saves the interrupted process's frame pointer, loads the other
; process's CR3 and TSS.RSP0 and resumes that process's saved frame (lib/idt.inc: a handler
; that returns with rbp = another frame resumes that frame).
;
; Each process runs the same code at the same addresses (USER_CODE, USER_DATA, the stack below
; USER_STACK_TOP) on frames of its own; the kernel writes each one's name into its data page,
; so the two names in the output come from two address spaces. A process spins until the
; kernel's slice counter in its data page changes (the kernel bumps it each time it schedules
; the process), then prints "process X: line n" through INT 0x80, 5 times, then exits.
; Printing only at the start of a slice makes the transcript independent of exact instruction
; counts: a slice is ~83,810 instructions, a line a few hundred, so every slice holds exactly
; one line and the lines alternate A, B, A, B... The kernel checks, at every write, that the
; process has printed once per slice of its own; at the end that each printed 5 lines in 5
; slices and that at least 8 timer interrupts happened (one per switch while both ran; the 9th
; switch, to B, comes from A's exit). A wrong value: "FAIL: ...", EXIT_FAIL (status 3).
; Success: EXIT_OK, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "gdt.inc"
%include "idt.inc"
%include "pic.inc"

default rel

%assign USER_CODE       0x0000008000000000      ; PML4[1]
%assign USER_DATA       0x0000008000001000
%assign USER_STACK_TOP  0x0000008000100000
%assign USER_FLAGS      0x202                   ; IF = 1
%assign LINES           5
%assign PIT_DIVISOR     100
%assign VEC_TIMER       0x20                    ; IRQ 0 after the remap

%assign SYS_WRITE       1                       ; write(buf = rdi, len = rsi) -> rax = len
%assign SYS_EXIT        60                      ; exit(code = rdi)

; A process's data page.
%assign D_NAME          0                       ; byte: 'A' or 'B', written by the kernel
%assign D_SLICES        8                       ; qword: slices so far, written by the kernel
%assign D_LINE          64                      ; the process's line buffer

; A process.
%assign P_CR3           0
%assign P_KSTACK_TOP    8
%assign P_FRAME         16                      ; its saved frame while it does not run
%assign P_DATA          24                      ; physical address of its data page
%assign P_LINES         32
%assign P_SLICES        40
%assign P_ALIVE         48
%assign P_NAME          56
%assign P_SIZE          64

section .bss
alignb 4096
kstack_a:       resb 4096
kstack_a_top:
kstack_b:       resb 4096
kstack_b_top:
alignb 8
proc_a:         resb P_SIZE
proc_b:         resb P_SIZE
current:        resq 1                  ; the running process
kernel_resume:  resq 1                  ; RSP of _start while the processes run
ticks:          resq 1
timer_switches: resq 1

section .text
global _start
_start:
        call    frames_init                     ; rdi = boot info
        call    gdt_init
        call    idt_init
        ISR     VEC_TIMER, on_timer
        ISR     0x80, on_syscall, GATE_INTERRUPT | GATE_DPL3
        PRINT   "idt_preempt: two processes at CPL 3, preempted by the PIT (SDM vol. 3A 6.8.1, 6.14; 8259A, 8254)", 10

        lea     rbx, [rel proc_a]
        mov     al, 'A'
        lea     rdx, [rel kstack_a_top]
        call    process_new
        lea     rbx, [rel proc_b]
        mov     al, 'B'
        lea     rdx, [rel kstack_b_top]
        call    process_new
        PRINT   "  process A: own PML4; code 0x0000008000000000, data 0x0000008000001000 (holds its name, 'A'),", 10
        PRINT   "  stack below 0x0000008000100000; process B: the same addresses on frames of its own ('B')", 10
        PRINT   "  each prints a line once per time slice, 5 times, through INT 0x80 (interrupt gate, DPL 3)", 10

        mov     al, VEC_TIMER
        mov     ah, VEC_TIMER + 8
        call    pic_init
        mov     al, 0xfe                        ; IRQ 0 only
        mov     ah, 0xff
        call    pic_mask
        PRINT   "  PIC: ICW1-ICW4, IRQ 0-7 -> vectors 0x20-0x27, IRQ 8-15 -> 0x28-0x2f; all masked but IRQ 0", 10
        PRINT   "  PIT channel 0: mode 2, divisor 100; iretq to A", 10

        mov     [kernel_resume], rsp
        lea     rbx, [rel proc_a]
        call    switch_to
        mov     eax, PIT_DIVISOR
        mov     edx, 2
        call    pit_start
        mov     rsp, [rbx + P_FRAME]
        jmp     isr_exit                        ; IRETQ into A, IF = 1

; all_done: both processes exited; rsp = kernel_resume, IF = 0.
all_done:
        mov     al, 0xff
        mov     ah, 0xff
        call    pic_mask
        mov     eax, BOOT_PML4
        mov     cr3, rax
        lea     rbx, [rel proc_a]
        CHECK_EQ qword [rbx + P_LINES], LINES, "lines of A"
        CHECK_EQ qword [rbx + P_SLICES], LINES, "slices of A"
        lea     rbx, [rel proc_b]
        CHECK_EQ qword [rbx + P_LINES], LINES, "lines of B"
        CHECK_EQ qword [rbx + P_SLICES], LINES, "slices of B"
        PRINT   "kernel: A printed 5 lines in 5 slices, B printed 5 lines in 5 slices", 10
        CHECK_EQ qword [timer_switches], 2 * LINES - 2, "switches on a timer interrupt"
        mov     rax, [ticks]
        cmp     rax, 2 * LINES - 2
        jae     .enough
        FAIL    "fewer than 8 timer interrupts"
.enough:
        PRINT   "kernel: at least 8 timer interrupts; 8 switches on a tick, 1 on A's exit", 10
        PRINT   "idt_preempt: ok", 10
        mov     al, EXIT_OK
        call    exit_debug

; process_new: rbx = the process, al = its name, rdx = its kernel stack's top.
process_new:
        push    rax
        push    rcx
        push    rdx
        push    rsi
        push    rdi
        mov     [rbx + P_NAME], al
        mov     [rbx + P_KSTACK_TOP], rdx
        mov     qword [rbx + P_ALIVE], 1
        call    space_new
        mov     [rbx + P_CR3], rax
        mov     rcx, rax
        call    alloc_frame                     ; code
        mov     rdi, rax
        lea     rsi, [rel user_start]
        push    rcx
        mov     ecx, user_end - user_start
        rep movsb
        pop     rcx
        mov     rsi, rax
        mov     rdi, USER_CODE
        mov     edx, PTE_P | PTE_US
        call    map_4k
        call    alloc_frame                     ; data
        mov     [rbx + P_DATA], rax
        mov     dl, [rbx + P_NAME]
        mov     [rax + D_NAME], dl
        mov     rsi, rax
        mov     rdi, USER_DATA
        mov     edx, PTE_P | PTE_RW | PTE_US
        call    map_4k
        call    alloc_frame                     ; stack
        mov     rsi, rax
        mov     rdi, USER_STACK_TOP - PAGE_SIZE
        call    map_4k
        ; its first frame, as if it had been interrupted at its first instruction
        mov     rdi, [rbx + P_KSTACK_TOP]
        sub     rdi, F_SIZE
        mov     [rbx + P_FRAME], rdi
        push    rdi
        xor     eax, eax
        mov     ecx, F_SIZE / 8
        rep stosq
        pop     rdi
        mov     rax, USER_CODE
        mov     [rdi + F_RIP], rax
        mov     qword [rdi + F_CS], SEL_USER_CODE
        mov     qword [rdi + F_RFLAGS], USER_FLAGS
        mov     rax, USER_STACK_TOP
        mov     [rdi + F_RSP], rax
        mov     qword [rdi + F_SS], SEL_USER_DATA
        mov     qword [rdi + F_VECTOR], VEC_TIMER
        pop     rdi
        pop     rsi
        pop     rdx
        pop     rcx
        pop     rax
        ret

; switch_to: make rbx the running process: TSS.RSP0, CR3, a new slice in its data page.
; The caller then resumes [rbx + P_FRAME].
switch_to:
        push    rax
        push    rdx
        mov     [rel current], rbx
        mov     rax, [rbx + P_KSTACK_TOP]
        mov     [rel tss + TSS_RSP0], rax
        mov     rax, [rbx + P_CR3]
        mov     cr3, rax
        inc     qword [rbx + P_SLICES]
        mov     rax, [rbx + P_SLICES]
        mov     rdx, [rbx + P_DATA]
        mov     [rdx + D_SLICES], rax
        pop     rdx
        pop     rax
        ret

; other: rax = the process that is not rbx.
other:
        lea     rax, [rel proc_a]
        cmp     rax, rbx
        jne     .done
        lea     rax, [rel proc_b]
.done:
        ret

; on_timer: rdi = frame (IRQ 0). Switch to the other process if it is alive.
on_timer:
        push    rbx
        inc     qword [rel ticks]
        mov     al, 0
        call    pic_eoi
        CHECK_EQ qword [rdi + F_CS], SEL_USER_CODE, "CS of the code a tick interrupted (the kernel runs with IF = 0)"
        mov     rbx, [rel current]
        mov     [rbx + P_FRAME], rdi
        call    other
        cmp     qword [rax + P_ALIVE], 0
        je      .stay
        mov     rbx, rax
        call    switch_to
        inc     qword [rel timer_switches]
        mov     rbp, [rbx + P_FRAME]            ; resume the other process
.stay:
        pop     rbx
        ret

; on_syscall: rdi = frame (INT 0x80 from the running process).
on_syscall:
        push    rbx
        mov     rbx, [rel current]
        mov     [rbx + P_FRAME], rdi
        mov     rax, [rdi + F_RAX]
        cmp     rax, SYS_WRITE
        je      .write
        cmp     rax, SYS_EXIT
        je      .exit
        mov     qword [rdi + F_RAX], -38        ; ENOSYS
        pop     rbx
        ret
.write:
        mov     rsi, [rdi + F_RDI]              ; the buffer, at its user address (this CR3)
        mov     rcx, [rdi + F_RSI]
        mov     [rdi + F_RAX], rcx
        test    rcx, rcx
        jz      .written
.byte:
        mov     al, [rsi]
        call    serial_putc
        inc     rsi
        dec     rcx
        jnz     .byte
.written:
        inc     qword [rbx + P_LINES]
        CHECK_EQ qword [rbx + P_LINES], qword [rbx + P_SLICES], "lines = slices of the process at a write (one line per slice)"
        pop     rbx
        ret
.exit:
        mov     qword [rbx + P_ALIVE], 0
        PRINT   "kernel: process "
        PUTC    [rbx + P_NAME]
        PRINT   " exited", 10
        call    other
        cmp     qword [rax + P_ALIVE], 0
        je      .none_left
        mov     rbx, rax
        call    switch_to
        mov     rbp, [rbx + P_FRAME]            ; resume the other process
        pop     rbx
        ret
.none_left:
        mov     rsp, [rel kernel_resume]
        jmp     all_done

; ---------------------------------------------------------------------------------------------
; The user program: position-independent, copied to USER_CODE in each space, runs at CPL 3.
align 16
user_start:
        mov     rbx, USER_DATA
        xor     r13d, r13d                      ; lines printed
        xor     r14d, r14d                      ; the last slice seen
user_wait:
        mov     rax, [rbx + D_SLICES]
        cmp     rax, r14
        je      user_wait                       ; spin until a new slice begins
        mov     r14, rax
        inc     r13
        lea     rsi, [rel user_template]
        lea     rdi, [rbx + D_LINE]
        mov     ecx, user_template_len
        rep movsb
        mov     al, [rbx + D_NAME]
        mov     [rbx + D_LINE + 8], al
        lea     eax, [r13 + '0']
        mov     [rbx + D_LINE + 16], al
        lea     rdi, [rbx + D_LINE]
        mov     esi, user_template_len
        mov     eax, SYS_WRITE
        int     0x80
        cmp     r13, LINES
        jb      user_wait
        xor     edi, edi
        mov     eax, SYS_EXIT
        int     0x80
        ud2
user_template:  db "process ?: line ?", 10      ; name at 8, digit at 16
user_template_len equ $ - user_template
user_end:
