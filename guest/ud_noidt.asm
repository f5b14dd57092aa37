; pml4-image: elf
;
; ud_noidt — CALL FAR with a register operand (ff d8, the bytes that open every JPEG file) in the
; middle of a block, in a kernel with no IDT. Unicorn 2.0.1 aborts the process on it (unicorn
; issue 1716); pml4 raises #UD (SDM Vol. 2A CALL: "#UD if the operand is a register"), which
; without an IDT becomes #GP, #DF and a triple fault (SDM 6.15, interrupt 8).
; Expected: guest/ud_noidt.expected, status 4.

%include "pml4.inc"
%include "serial.inc"

section .text
global _start
_start:
        PRINT   "ud_noidt: CALL FAR rax with no IDT", 10
        mov     ebx, 1
        inc     ebx
        db      0xff, 0xd8
        PRINT   "FAIL: ran past CALL FAR rax", 10
        EXIT    EXIT_FAIL
