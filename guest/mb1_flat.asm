; pml4-image: flat
;
; mb1_flat — a Multiboot 1 kernel as a flat binary: no ELF headers, so its Multiboot header sets
; flags bit 16 and gives the load addresses itself (0.6.96 section 3.1.3, the "a.out kludge"):
; loaded at 0x100000 from its first byte, bss up to bss_end_addr, entered at entry_addr. It
; checks the entry state, prints the information structure (with a module and a command line when
; given), switches to long mode and says so on COM1 and VGA.
;
; Expected: mb1_flat.expected, mb1_flat.expected-vga, status 1.

MB_FLAGS        equ 0x00010003          ; bit 16: address fields valid; bits 0, 1

        org     0x100000
[section .text]
bits 32
header:                                 ; first in the file: 4-byte aligned, in the first 8 KiB
        dd      0x1badb002
        dd      MB_FLAGS
        dd      -(0x1badb002 + MB_FLAGS)
        dd      header                  ; header_addr
        dd      $$                      ; load_addr: the file from its first byte (file offset 0)
        dd      load_end                ; load_end_addr
        dd      bss_end                 ; bss_end_addr
        dd      _start                  ; entry_addr

%include "multiboot.inc"

_start:
        MULTIBOOT_ENTRY "mb1_flat: Multiboot 1, flat image (a.out kludge), 32-bit protected mode"
        CHECK_MAGIC 0x2badb002, "Multiboot 1"
        call    mb1_report
        call    enter_long_mode

bits 64
long_mode_entry:
        LONG_MODE_DONE "mb1_flat: now in 64-bit mode, paging on"


[section .text]
[section .rodata follows=.text]
[section .data follows=.rodata]
load_end:                               ; the last section with file bytes ends here
[section .bss]
bss_end:
