; pml4-image: elf
;
; echo — prints what COM1 receives, upper-cased, until the input ends (LSR.DR stays 0 for 64
; polls: input given with --serial-in, or a spec's serial_in, is read ahead, so every byte is
; there at once). The grader's tests use it for serial_in.

%include "pml4.inc"
%include "serial.inc"

default rel
section .text
global _start
_start:
        PRINT   "echo: "
.poll:
        mov     ecx, 64
.wait:
        mov     dx, COM1_LSR
        in      al, dx
        test    al, LSR_DR
        jnz     .byte
        loop    .wait
        NEWLINE
        mov     al, EXIT_OK
        out     DEBUG_EXIT_PORT, al
.byte:
        mov     dx, COM1_RBR
        in      al, dx
        cmp     al, 'a'
        jb      .put
        cmp     al, 'z'
        ja      .put
        sub     al, 'a' - 'A'
.put:
        call    serial_putc
        jmp     .poll
