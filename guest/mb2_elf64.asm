; pml4-image: elf
;
; mb2_elf64 — a Multiboot2 kernel as an ELF64 file whose entry is 32-bit code, the way "Writing an
; OS in Rust" (first edition) and OSDev's "Setting Up Long Mode" build one. Its header asks for
; the command line, boot loader name, memory information, memory map and framebuffer (2.0 section
; 3.1.4), says it supports EGA text (3.1.9) and prefers text mode (3.1.10, optional). It checks the
; entry state (section 3.3), prints every information tag (3.6), switches to long mode itself and
; says so on COM1 and VGA.
;
; Expected: mb2_elf64.expected, mb2_elf64.expected-vga, status 1.

%include "multiboot.inc"

MB2_MAGIC       equ 0xe85250d6
MB2_ARCH        equ 0                   ; i386, 32-bit protected mode

[section .multiboot]
align 8, db 0
mb2_header:
        dd      MB2_MAGIC
        dd      MB2_ARCH
        dd      mb2_header_end - mb2_header
        dd      0x100000000 - (MB2_MAGIC + MB2_ARCH + (mb2_header_end - mb2_header))
        align   8, db 0
        dw      1, 0                    ; information request
        dd      8 + 4 * 5
        dd      1, 2, 4, 6, 8           ; cmdline, boot loader name, basic meminfo, mmap, framebuffer
        align   8, db 0
        dw      4, 0                    ; console flags
        dd      12
        dd      2                       ; EGA text supported
        align   8, db 0
        dw      5, 1                    ; framebuffer, optional
        dd      20
        dd      80, 25, 0               ; text
        align   8, db 0
        dw      0, 0                    ; end
        dd      8
mb2_header_end:

[section .text]
bits 32
global _start
_start:
        MULTIBOOT_ENTRY "mb2_elf64: Multiboot2, ELF64 with a 32-bit entry, 32-bit protected mode"
        CHECK_MAGIC 0x36d76289, "Multiboot2"
        test    ebx, 7
        jz      .aligned
        FAIL32  "the information structure is not 8-byte aligned"
.aligned:
        call    mb2_report
        call    enter_long_mode

bits 64
global long_mode_entry
long_mode_entry:
        LONG_MODE_DONE "mb2_elf64: now in 64-bit mode, paging on"

