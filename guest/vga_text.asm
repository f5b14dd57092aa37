; pml4-image: elf
;
; vga_text — the VGA text screen from a boot protocol 1 (64-bit) kernel: the buffer at 0xB8000
; starts blank (0x0720 in every cell, as a BIOS leaves it), cells written with plain stores show
; on the screen, and the VGA registers tutorial kernels touch keep what is written to them: the
; CRTC (0x3D4/0x3D5, cursor shape and position, also with a 16-bit OUT), the sequencer
; (0x3C4/0x3C5), the graphics controller (0x3CE/0x3CF), the attribute controller (0x3C0/0x3C1,
; its flip-flop reset by reading 0x3DA), misc output (0x3C2, read at 0x3CC) and the DAC
; (0x3C8/0x3C9). Every read-back goes to COM1; no port draws a warning.
;
; Expected: vga_text.expected, vga_text.expected-vga, status 1.

%include "pml4.inc"
%include "serial.inc"

default rel

VGA     equ 0xb8000

; READBACK index_port, index, value, "name": writes value at index, reads it back, prints it.
%macro READBACK 4
        mov     dx, %1
        mov     al, %2
        out     dx, al
        inc     dx
        mov     al, %3
        out     dx, al
        xor     eax, eax
        in      al, dx
        PRINT   %4, " "
        PUTHEX  rax
        NEWLINE
%endmacro

section .text
global _start
_start:
        PRINT   "vga_text: cell 0 at start "
        movzx   eax, word [VGA]
        PUTHEX  rax
        PRINT   ", last cell "
        movzx   eax, word [VGA + 2 * 80 * 25 - 2]
        PUTHEX  rax
        NEWLINE

        lea     rsi, [rel title]
        mov     edi, VGA
        mov     ah, 0x1e                ; yellow on blue
        call    write
        lea     rsi, [rel cp437]
        mov     edi, VGA + 2 * 80 * 2
        mov     ah, 0x07
        call    write
        lea     rsi, [rel last_row]
        mov     edi, VGA + 2 * 80 * 24 + 2 * 60
        mov     ah, 0x4f                ; white on red
        call    write

        READBACK 0x3d4, 0x0a, 0x0d, "CRTC 0x0a (cursor start)"
        READBACK 0x3d4, 0x0b, 0x0e, "CRTC 0x0b (cursor end)  "
        mov     dx, 0x3d4
        mov     ax, 0x010e              ; 16-bit OUT: index 0x0e, data 0x01
        out     dx, ax
        mov     ax, 0x400f              ; position 0x140 = 320: row 4, column 0
        out     dx, ax
        mov     al, 0x0e
        out     dx, al
        inc     dx
        in      al, dx
        PRINT   "CRTC 0x0e (cursor high)  "
        movzx   eax, al
        PUTHEX  rax
        NEWLINE
        READBACK 0x3c4, 0x02, 0x03, "sequencer 0x02          "
        READBACK 0x3ce, 0x05, 0x10, "graphics 0x05           "

        mov     dx, 0x3da               ; reset the attribute flip-flop
        in      al, dx
        mov     dx, 0x3c0
        mov     al, 0x10                ; index: mode control
        out     dx, al
        mov     al, 0x0c                ; data
        out     dx, al
        mov     al, 0x10
        out     dx, al                  ; the flip-flop is at "index" again
        inc     dx
        in      al, dx
        PRINT   "attribute 0x10           "
        movzx   eax, al
        PUTHEX  rax
        NEWLINE

        mov     dx, 0x3c2               ; misc output, read back at 0x3cc
        mov     al, 0x67
        out     dx, al
        mov     dx, 0x3cc
        in      al, dx
        PRINT   "misc output              "
        movzx   eax, al
        PUTHEX  rax
        NEWLINE

        mov     dx, 0x3c8               ; DAC entry 1 = (1, 2, 3), read back through 0x3c7
        mov     al, 1
        out     dx, al
        inc     dx
        mov     al, 1
        out     dx, al
        inc     al
        out     dx, al
        inc     al
        out     dx, al
        mov     dx, 0x3c7
        mov     al, 1
        out     dx, al
        mov     dx, 0x3c9
        in      al, dx
        mov     bl, al
        in      al, dx
        mov     bh, al
        in      al, dx
        PRINT   "DAC 1                    "
        movzx   eax, al
        shl     eax, 16
        movzx   ebx, bx
        or      eax, ebx
        PUTHEX  rax
        NEWLINE

        PRINT   "vga_text: done", 10
        EXIT    EXIT_OK

; write: the NUL-terminated string at rsi to the cells from edi, in attribute ah.
write:
        mov     al, [rsi]
        test    al, al
        jz      .end
        mov     [rdi], ax
        add     edi, 2
        inc     rsi
        jmp     write
.end:   ret

section .rodata
title:          db      "pml4 VGA text mode: 80x25, code page 437", 0
cp437:          db      0xc9, 0xcd, 0xcd, 0xbb, " ", 0x01, 0x02, 0x03, " ", 0xb0, 0xb1, 0xb2, 0xdb, " caf", 0x82, " ", 0xe0, 0xe1, 0xe3, 0
last_row:       db      "bottom right", 0
