; pml4-image: elf
;
; handler_absent — an interrupt gate whose handler is on a page that is not present. Delivering
; INT 0x40 succeeds (the IDT, the stack and the frame are fine); fetching the handler's first
; instruction then faults like any other fetch: #PF with error 0x10 (I/D; EFER.NXE = 1), CR2 and
; the saved RIP the handler's address, and the INT's frame already on the stack beneath the #PF
; frame (SDM vol. 3A 6.12, 6.15: the delivery completed; the fault belongs to the fetch, so it is
; no double fault). The #PF handler maps the page and returns; the INT handler then runs and
; returns after the INT.
; Expected: guest/handler_absent.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "idt.inc"

default rel

%assign H               0x0000010000000000      ; the INT 0x40 handler's page, not present at first
%assign IA32_EFER       0xc0000080
%assign EFER_NXE        1 << 11

section .bss
alignb 8
handler_frame:  resq 1
int_rsp:        resq 1

section .text
global _start
_start:
        call    frames_init
        call    idt_init
        ISR     VEC_PF, on_page_fault
        mov     ecx, IA32_EFER
        rdmsr
        or      eax, EFER_NXE
        wrmsr
        PRINT   "handler_absent: INT 0x40 through a gate whose handler page is not present", 10
        call    alloc_frame                     ; the handler: mov r8, 0x40; iretq
        mov     dword [rax], 0x40c0c749         ; 49 C7 C0 40 00 00 00 = mov r8, 0x40
        mov     dword [rax + 4], 0x48000000     ; the rest of the imm32, then 48 CF = iretq
        mov     byte [rax + 8], 0xcf
        mov     [rel handler_frame], rax
        ; gate 0x40 -> H, interrupt gate, DPL 0 (written directly: idt_set installs the lib's stub)
        lea     rdi, [rel idt + 0x40 * 16]
        mov     rax, H
        mov     word [rdi], ax
        mov     word [rdi + 2], 0x08
        mov     byte [rdi + 4], 0
        mov     byte [rdi + 5], 0x8e
        shr     rax, 16
        mov     word [rdi + 6], ax
        shr     rax, 16
        mov     dword [rdi + 8], eax
        mov     dword [rdi + 12], 0
        xor     r8d, r8d
        mov     [rel int_rsp], rsp
.int:   int     0x40
.after: PRINT   "  back after the INT, r8 = "
        PUTHEX  r8
        NEWLINE
        CHECK_EQ r8, 0x40, "the handler ran"
        mov     al, EXIT_OK
        call    exit_debug

on_page_fault:
        push    rbx
        mov     rbx, rdi
        PRINT   "  #PF error "
        PUTHEX  qword [rbx + F_ERROR]
        PRINT   ", CR2 H+"
        mov     rax, cr2
        mov     rdx, H
        sub     rax, rdx
        PUTHEX  rax
        PRINT   ", RIP H+"
        mov     rax, [rbx + F_RIP]
        mov     rdx, H
        sub     rax, rdx
        PUTHEX  rax
        PRINT   "; beneath it the INT's frame, RIP "
        mov     rax, [rbx + F_RSP]              ; the #PF interrupted the handler: its RSP is the INT frame
        mov     rax, [rax]
        lea     rdx, [rel _start.after]
        cmp     rax, rdx
        je      .ok
        PRINT   "NOT "
.ok:    PRINT   "after the INT", 10
        mov     rsi, [rel handler_frame]
        mov     rdi, H
        mov     rcx, cr3
        mov     rax, PTE_ADDR_MASK
        and     rcx, rax
        mov     edx, PTE_P | PTE_RW
        call    map_4k
        pop     rbx
        ret
