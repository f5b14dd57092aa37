; pml4-image: flat
;
; hello_flat — a flat binary image: no ELF headers, just the bytes, which pml4 loads at
; physical 0x100000 and enters at their first byte (shared/BOOT.md, "Images"). Hence the
; `org 0x100000` and the rule that the first instruction comes first: serial.inc puts its
; routines in .text.lib, after .text, and the strings go to .rodata after that.
; A flat image has no .bss that the loader would know of: keep everything in the file.
;
; Expected: guest/hello_flat.expected, status 0 (cli; hlt).

%include "pml4.inc"
%include "serial.inc"

        org     KERNEL_PHYS
default rel

section .text
_start:
        PRINT   "Hello from a flat pml4 image!", 10
        PRINT   "first instruction at "
        lea     rax, [rel _start]
        call    serial_hex64
        PRINT   ", image ends at "
        mov     rax, [rdi + BI_KERNEL_END]
        call    serial_hex64
        NEWLINE
        PRINT   "halting (cli; hlt)", 10
        POWEROFF
