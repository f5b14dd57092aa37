; pml4-image: elf
; pml4-link: kernel-higher-half.ld
;
; hello_higher — a kernel linked in the higher half, at virtual 0xFFFFFFFF80100000, but
; loaded at physical 0x100000 (toolchain/kernel-higher-half.ld: p_vaddr != p_paddr). pml4's
; loader maps such segments at p_vaddr with 4 KiB pages (shared/BOOT.md, "State at entry")
; and enters at the virtual e_entry, so this code never runs at a low address. It prints the
; RIP it runs at, where its _start was linked, and where the loader put it in physical memory.
; The stack (RSP = 0x80000) and the boot info (0x8000) are reached through the boot identity
; map of the first 4 GiB.
;
; Expected: guest/hello_higher.expected, status 0 (cli; hlt).

%include "pml4.inc"
%include "serial.inc"

default rel

section .text
global _start
_start:
        mov     rbx, rdi                ; boot info
        mov     r12, rsp                ; the entry stack pointer, before any push

        PRINT   "Hello from the higher half!", 10

        PRINT   "rip now        "
        lea     rax, [rel $]            ; this instruction's own address: the proof
        call    serial_hex64
        NEWLINE

        PRINT   "_start linked  "
        mov     rax, _start             ; a 64-bit absolute: the link-time (virtual) address
        call    serial_hex64
        NEWLINE

        PRINT   "loaded at phys "
        PUTHEX64 qword [rbx + BI_KERNEL_START]
        PRINT   " (boot info: kernel start)", 10

        PRINT   "stack at entry "
        PUTHEX64 r12
        PRINT   " (identity-mapped, low half)", 10

        PRINT   "halting (cli; hlt)", 10
        POWEROFF
