; pml4-image: elf
;
; idt_double — a kernel stack overflow inside the #PF handler: the handler's own stack reaches an
; unmapped guard page, the processor cannot push the frame of that page fault, and the result is
; a double fault, delivered on the IST1 stack of the TSS.
;
; SDM vol. 3A 6.15 (interrupt 8) and table 6-5: a page fault detected while the processor is
; delivering a page fault is a double fault; its error code is always 0 and its saved CS:RIP is
; undefined, so the handler does not look at it; #DF is an abort. A page fault raised by the
; handler's *code* is not one: once the handler runs, delivery is over, and a fault there is a
; new #PF like any other. Here it is the delivery of that new #PF that faults — the stack it
; must be pushed on lies in the guard page — which makes it a #DF (the case Linux reports as a
; kernel stack overflow). 6.14.5: the #DF gate names IST1, so the processor switches to the
; IST1 stack unconditionally, whatever RSP was; 6.14.2: and pushes the frame from there
; (aligned to 16). CR2 holds the address of the last page fault detected (6.15, interrupt 14),
; which lies in the guard page; which byte of it (the handler's store or the processor's push)
; depends on the processor, so only its page is printed.
;
; Layout (boot tables, PML4[2], 4 KiB pages):
;   0x000001000000f000  guard page, never mapped
;   0x0000010000010000  the kernel's stack page: RSP = 0x0000010000011000 from step 1 on
;   0x0000010000100000  a demand region the #PF handler maps page by page
; The #PF gate has IST = 0: a #PF at CPL 0 is pushed on the current stack. The #DF gate: IST1.
; 1. Read R: #PF, the handler runs on the stack page, maps a zeroed frame, returns: reads 0.
; 2. Read R + 0x1000: #PF; this time the handler first takes a 4 KiB local buffer
;    (SUB RSP, 4096) and stores into it: RSP is now in the guard page, the store faults, the
;    processor's push of that #PF's frame faults as well: #DF, on IST1.
; The #DF handler checks error code 0, that its frame sits at the top of the IST1 stack, and CR2's
; page, prints them and exits with EXIT_OK (status 1). Anything else: "FAIL: ...", status 3.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "gdt.inc"
%include "idt.inc"

default rel

%assign GUARD           0x000001000000f000
%assign STACK_PAGE      0x0000010000010000
%assign STACK_TOP       STACK_PAGE + PAGE_SIZE
%assign R               0x0000010000100000

section .bss
alignb 8
overflow:       resq 1                  ; step 2: the #PF handler overflows its stack
faults:         resq 1

section .text
global _start
_start:
        call    frames_init                     ; rdi = boot info
        call    gdt_init
        call    idt_init
        ISR     VEC_PF, on_page_fault
        ISR     VEC_DF, on_double_fault, GATE_INTERRUPT, 1
        PRINT   "idt_double: a #PF whose frame cannot be pushed is a #DF (SDM vol. 3A 6.15, table 6-5)", 10
        PRINT   "  TSS loaded: IST1 = its own 4 KiB stack; #DF gate: IST1, #PF gate: IST 0", 10

        call    alloc_frame
        mov     rsi, rax
        mov     rcx, cr3
        mov     rax, PTE_ADDR_MASK
        and     rcx, rax
        mov     rdi, STACK_PAGE
        mov     edx, PTE_P | PTE_RW
        call    map_4k
        PRINT   "  kernel stack page 0x0000010000010000, guard page below it at 0x000001000000f000 (not mapped)", 10
        mov     rsp, STACK_TOP                  ; the kernel never returns from _start
        PRINT   "  rsp = 0x0000010000011000", 10

        ; --- 1. an ordinary demand fault, handled on the stack page
        PRINT   "read [0x0000010000100000]", 10
        mov     rbx, R
        mov     rax, -1
        mov     rax, [rbx]
        PRINT   "  = "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0, "read of a fresh page"
        CHECK_EQ qword [faults], 1, "page faults"

        ; --- 2. the handler overflows its stack
        PRINT   "read [0x0000010000101000], with a #PF handler that needs 4 KiB of stack", 10
        mov     qword [overflow], 1
        mov     rax, [rbx + PAGE_SIZE]
        FAIL    "the read returned: no #DF"

; on_page_fault: rdi = frame. Map a zeroed frame at CR2's page (demand region only); in step 2,
; first take a 4 KiB local buffer and store into it.
on_page_fault:
        push    rbx
        mov     rbx, rdi
        mov     rdi, cr2
        mov     rax, R
        cmp     rdi, rax
        jb      .foreign
        add     rax, 2 * PAGE_SIZE
        cmp     rdi, rax
        jae     .foreign
        test    qword [rbx + F_ERROR], PF_P | PF_US
        jnz     .foreign

        PRINT   "  #PF: CR2 "
        PUTHEX64 rdi
        PRINT   ", error code "
        mov     rax, [rbx + F_ERROR]
        call    print_pf_error
        NEWLINE
        mov     rax, rsp
        and     rax, ~(PAGE_SIZE - 1)
        CHECK_EQ rax, STACK_PAGE, "the #PF handler's RSP (the kernel stack page)"
        cmp     qword [rel overflow], 0
        je      .map
        PRINT   "    handler: sub rsp, 4096 and a store to [rsp] (the guard page)", 10
        sub     rsp, 4096
        mov     qword [rsp], 0                  ; #PF, whose delivery faults: #DF
        FAIL    "the store to the guard page did not fault"
.map:
        PRINT   "    handler on the kernel stack page: zeroed frame mapped, retry", 10
        call    alloc_frame
        mov     rsi, rax
        mov     rcx, cr3
        mov     rax, PTE_ADDR_MASK
        and     rcx, rax
        and     rdi, ~(PAGE_SIZE - 1)
        mov     edx, PTE_P | PTE_RW
        call    map_4k
        inc     qword [rel faults]
        pop     rbx
        ret
.foreign:
        mov     rdi, rbx
        call    isr_unexpected

; on_double_fault: rdi = frame, on IST1. Report and stop: #DF is an abort.
on_double_fault:
        mov     rbx, rdi
        PRINT   "double-fault handler: "
        mov     rax, [rbx + F_VECTOR]
        call    print_vector
        PRINT   ", "
        call    print_error
        NEWLINE
        CHECK_EQ qword [rbx + F_ERROR], 0, "#DF error code"
        lea     rax, [rbx + F_SIZE]
        lea     rdx, [rel ist1_stack_top]
        CHECK_EQ rax, rdx, "top of the #DF frame"
        PRINT   "  the frame sits at the top of the IST1 stack (TSS.IST1), not below the overflowed RSP", 10
        mov     rax, cr2
        and     rax, ~(PAGE_SIZE - 1)
        CHECK_EQ rax, GUARD, "page of CR2"
        PRINT   "  CR2 in page "
        PUTHEX64 rax
        PRINT   ": the guard page", 10
        PRINT   "  (the saved RIP of a #DF is undefined: not shown)", 10
        PRINT   "idt_double: ok, kernel stack overflow in the #PF handler caught as #DF", 10
        mov     al, EXIT_OK
        call    exit_debug
