; pml4-image: elf
;
; engine_crash — a kernel that takes the engine down in native code: it prints a line, then jumps
; to LOCK CMPSB (f0 a6). The SDM says LOCK on a string instruction raises #UD (Vol. 2A, "LOCK"),
; but Unicorn 2.0.1's translator aborts the whole process on it ("tcg fatal error", SIGABRT)
; when the instruction starts a translation block, before any hook runs. pml4's translation guard
; now raises #UD on it first (issue 13): with no IDT this kernel ends in a triple fault, and
; pml4 grade's tests make its worker abort on purpose instead. It lives under guest/labs/ so that
; GuestKernelsTest, which boots every guest/*.asm in its own JVM, never runs it.

%include "pml4.inc"
%include "serial.inc"

default rel
section .text
global _start
_start:
        PRINT   "engine_crash: LOCK CMPSB next", 10
        lea     rsi, [rel _start]
        mov     rdi, rsi
        jmp     lock_cmpsb                      ; a new translation block starts at the LOCK CMPSB
lock_cmpsb:
        db      0xf0, 0xa6                      ; lock cmpsb
        PRINT   "engine_crash: survived (LOCK CMPSB raised nothing?)", 10
        mov     al, EXIT_FAIL
        out     DEBUG_EXIT_PORT, al
