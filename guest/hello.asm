; pml4-image: elf
;
; hello — the first kernel to boot on pml4. It greets, reads the boot info the loader left at
; RDI (shared/BOOT.md, "Boot info"), checks its magic and version, and prints what the loader
; says about RAM, the kernel and the command line. Then it writes 0 to the debug-exit port.
;
; Linked by toolchain/kernel.ld at 0x100000: .text at 0x100000, .rodata at 0x101000,
; .bss (8 bytes) at 0x102000, so the loader should report kernel start 0x100000,
; kernel end 0x102008 and first free 0x103000.
;
; Expected: guest/hello.expected (a default run: 64 MiB, no command line) and status 1.
; A wrong magic or version prints what it found and ends with status 3 (EXIT_FAIL).

%include "pml4.inc"
%include "serial.inc"

default rel

extern _kernel_start, _kernel_end       ; from kernel.ld

section .bss
boot_info:      resq 1                  ; the boot-info pointer, kept for later

section .text
global _start
_start:
        mov     [boot_info], rdi
        mov     rbx, rdi                ; rbx = boot info for the rest of the kernel

        PRINT   "Hello from pml4!", 10

        PRINT   "boot info at  "
        PUTHEX64 rbx
        NEWLINE

        ; --- magic: the 8 bytes "PML4BOOT"
        PRINT   "magic         "
        PUTHEX64 qword [rbx + BI_MAGIC]
        PRINT   ' "'
        xor     ecx, ecx
.magic_char:                            ; the bytes as text, '.' for anything unprintable
        mov     al, [rbx + BI_MAGIC + rcx]
        cmp     al, ' '
        jb      .unprintable
        cmp     al, '~'
        jbe     .printable
.unprintable:
        mov     al, '.'
.printable:
        call    serial_putc
        inc     ecx
        cmp     ecx, 8
        jb      .magic_char
        PUTC    '"'
        mov     rax, BOOT_MAGIC
        cmp     [rbx + BI_MAGIC], rax
        jne     bad_magic
        PRINT   " ok", 10

        ; --- version
        PRINT   "version       "
        PUTDEC  qword [rbx + BI_VERSION]
        cmp     qword [rbx + BI_VERSION], BOOT_VERSION
        jne     bad_version
        PRINT   " ok", 10

        ; --- RAM
        PRINT   "RAM size      "
        mov     rax, [rbx + BI_RAM_SIZE]
        call    serial_hex64
        PRINT   " ("
        shr     rax, 20
        call    serial_dec
        PRINT   " MiB)", 10

        ; --- where the loader put this kernel
        PRINT   "kernel start  "
        mov     rax, [rbx + BI_KERNEL_START]
        call    serial_hex64
        lea     rdx, [_kernel_start]
        cmp     rax, rdx
        jne     .start_differs
        PRINT   " = _kernel_start", 10
        jmp     .end
.start_differs:
        PRINT   " but _kernel_start is "
        PUTHEX64 rdx
        NEWLINE

.end:
        PRINT   "kernel end    "
        mov     rax, [rbx + BI_KERNEL_END]
        call    serial_hex64
        lea     rdx, [_kernel_end]
        cmp     rax, rdx
        jne     .end_differs
        PRINT   " = _kernel_end (bss included)", 10
        jmp     .free
.end_differs:
        PRINT   " but _kernel_end is "
        PUTHEX64 rdx
        NEWLINE

.free:
        PRINT   "first free    "
        mov     rax, [rbx + BI_FIRST_FREE]
        call    serial_hex64
        mov     rdx, [rbx + BI_KERNEL_END]
        ALIGN_UP rdx, PAGE_SIZE
        cmp     rax, rdx
        jne     .free_differs
        PRINT   " = kernel end rounded up to 4 KiB", 10
        jmp     .cmdline
.free_differs:
        PRINT   " (kernel end rounded up to 4 KiB would be "
        PUTHEX64 rdx
        PRINT   ")", 10

        ; --- command line
.cmdline:
        PRINT   "command line  "
        mov     rsi, [rbx + BI_CMDLINE]
        test    rsi, rsi
        jz      .no_cmdline
        PUTC    '"'
        call    serial_puts
        PRINT   '"', 10
        jmp     .bye
.no_cmdline:
        PRINT   "(none)", 10

.bye:
        PRINT   "bye: writing 0 to the debug-exit port (0xf4), so pml4 exits with status 1", 10
        mov     al, EXIT_OK
        call    exit_debug

bad_magic:
        PRINT   " BAD, expected "
        PUTHEX64 BOOT_MAGIC
        NEWLINE
        mov     al, EXIT_FAIL
        call    exit_debug

bad_version:
        PRINT   " BAD, this kernel speaks boot protocol version 1", 10
        mov     al, EXIT_FAIL
        call    exit_debug
