; pml4-image: elf32
; pml4-link: kernel32.ld
;
; mb1_elf32 — a Multiboot 1 kernel as an ELF32 file, the way OSDev's "Bare Bones" builds one
; (nasm -f elf32, ld -m elf_i386). It checks the machine state Multiboot 0.6.96 section 3.2
; promises (EAX magic, CR0 = PE|ET with paging off, flat CS/DS/SS, EFLAGS.IF clear) and the ESP
; pml4 documents, prints the information structure (section 3.3) to COM1 and the VGA screen, then
; switches to long mode by itself and says so from 64-bit code.
;
; Expected: mb1_elf32.expected (COM1), mb1_elf32.expected-vga (the screen), status 1.

%include "multiboot.inc"

MB_FLAGS        equ 0x3                 ; bit 0: page-aligned modules; bit 1: memory information

[section .multiboot]
align 4
        dd      0x1badb002
        dd      MB_FLAGS
        dd      -(0x1badb002 + MB_FLAGS)

[section .text]
bits 32
global _start
_start:
        MULTIBOOT_ENTRY "mb1_elf32: Multiboot 1, ELF32, 32-bit protected mode"
        CHECK_MAGIC 0x2badb002, "Multiboot 1"
        call    mb1_report
        call    enter_long_mode

bits 64
global long_mode_entry
long_mode_entry:
        LONG_MODE_DONE "mb1_elf32: now in 64-bit mode, paging on"

