; pml4-image: elf
;
; spin — a kernel that never ends: with --max-insns 0 (no limit) only pml4 grade's --timeout
; stops it, by killing the worker that runs it; the grader's tests use it for that path.

%include "pml4.inc"
%include "serial.inc"

default rel
section .text
global _start
_start:
        PRINT   "spin: forever", 10
.again: jmp     .again
