; pml4-image: elf32
; pml4-link: kernel32.ld
;
; mb1_vga32 — the smallest kind of tutorial kernel: Multiboot 1, ELF32, and it never leaves
; 32-bit protected mode. It writes its greeting straight into the VGA text buffer at 0xB8000 (as
; OSDev's Bare Bones terminal does), draws a box with code page 437 line characters, waits for a
; vertical retrace on port 0x3DA, shapes and moves the cursor through the CRTC (0x3D4/0x3D5),
; says one line on COM1 and halts with interrupts off.
;
; Expected: mb1_vga32.expected, mb1_vga32.expected-vga, status 0.

MB_FLAGS        equ 0x3

[section .multiboot]
align 4
        dd      0x1badb002
        dd      MB_FLAGS
        dd      -(0x1badb002 + MB_FLAGS)

[section .rodata]
greeting:       db      "Hello, kernel World!", 0
line2:          db      "32-bit protected mode, paging off, Multiboot magic ", 0
box:            db      0xc9, 0xcd, 0xcd, 0xcd, 0xcd, 0xbb, 0
box2:           db      0xc8, 0xcd, 0xcd, 0xcd, 0xcd, 0xbc, 0
serial_line:    db      "mb1_vga32: greeting written to VGA", 10, 0
hex:            db      "0123456789abcdef"

[section .bss]
                resb    4096
stack_top:

[section .text]
bits 32
global _start
_start:
        mov     esp, stack_top
        mov     ebp, eax                ; the magic
        mov     esi, greeting
        mov     edi, 0xb8000
        mov     ah, 0x0a                ; light green on black
        call    write
        mov     esi, line2
        mov     edi, 0xb8000 + 160
        mov     ah, 0x07
        call    write
        mov     ecx, 8                  ; the magic in hex, after line 2
.digit: rol     ebp, 4
        mov     eax, ebp
        and     eax, 0xf
        mov     al, [hex + eax]
        mov     ah, 0x0e                ; yellow
        mov     [edi], ax
        add     edi, 2
        loop    .digit
        mov     esi, box
        mov     edi, 0xb8000 + 4 * 160
        mov     ah, 0x1f                ; white on blue
        call    write
        mov     esi, box2
        mov     edi, 0xb8000 + 5 * 160
        call    write

        mov     dx, 0x3da               ; wait for a vertical retrace to end and begin
.retrace_end:
        in      al, dx
        test    al, 8
        jnz     .retrace_end
.retrace_begin:
        in      al, dx
        test    al, 8
        jz      .retrace_begin

        mov     dx, 0x3d4               ; a block cursor (scan lines 0-15) at row 6, column 0
        mov     al, 0x0a
        out     dx, al
        inc     dx
        mov     al, 0x00
        out     dx, al
        dec     dx
        mov     al, 0x0b
        out     dx, al
        inc     dx
        mov     al, 0x0f
        out     dx, al
        dec     dx
        mov     ax, 0x000e              ; position 6 * 80 = 480 = 0x01e0
        mov     ah, 0x01
        out     dx, ax
        mov     ax, 0xe00f
        out     dx, ax

        mov     esi, serial_line
.serial:
        mov     al, [esi]
        test    al, al
        jz      .done
        mov     dx, 0x3f8
        out     dx, al
        inc     esi
        jmp     .serial
.done:  cli
        hlt

; write: the NUL-terminated string at esi to the cells from edi, in attribute ah.
write:
        mov     al, [esi]
        test    al, al
        jz      .end
        mov     [edi], ax
        add     edi, 2
        inc     esi
        jmp     write
.end:   ret
