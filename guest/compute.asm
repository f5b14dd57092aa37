; pml4-image: elf
;
; compute — a compute-bound kernel for benchmarking pml4's execution modes: one tight loop of
; plain register arithmetic, no memory access, no I/O, no fault inside it, then a checksum.
;
; Instruction count of the loop:
;     10 instructions per iteration x 20,000,000 iterations = 200,000,000 instructions,
; plus about 3,200 for the set-up and the printing around it (0.002 %): a whole run is
; 200,003,184 instructions as counted by a reference run (Unicorn with QEMU's MMU, all hooks).
;
; The three state registers mix an add/xor/rotate chain with a 64-bit multiply by an odd
; constant; the result depends on every iteration, so a skipped or repeated instruction
; changes the checksum. A Python model of the loop, for checking the expected value:
;     M = 2**64 - 1; rol = lambda x, n: ((x << n) | (x >> (64 - n))) & M
;     a, b, c = 0x0123456789abcdef, 0xfedcba9876543210, 0
;     for _ in range(20_000_000):
;         a = (a + b) & M; b ^= a; a = rol(a, 13); b = (b * 0x9E3779B97F4A7C15) & M
;         c = (c + a) & M; c ^= b; c = rol(c, 64 - 7); a = (a - c) & M
;     checksum = a ^ b ^ c
;
; Expected: guest/compute.expected, status 0 (cli; hlt).

%include "pml4.inc"
%include "serial.inc"

default rel

%assign ITERATIONS      20000000
%assign PER_ITERATION   10

section .text
global _start
_start:
        PRINT   "compute: "
        PUTDEC  ITERATIONS
        PRINT   " iterations x "
        PUTDEC  PER_ITERATION
        PRINT   " instructions = "
        PUTDEC  ITERATIONS * PER_ITERATION
        PRINT   " instructions of register arithmetic", 10

        mov     rax, 0x0123456789abcdef ; a
        mov     rbx, 0xfedcba9876543210 ; b
        xor     edx, edx                ; c
        mov     r8, 0x9E3779B97F4A7C15  ; an odd multiplier (2^64 / golden ratio)
        mov     ecx, ITERATIONS

        align   16
.loop:                                  ; PER_ITERATION = 10 instructions:
        add     rax, rbx                ;  1  a += b
        xor     rbx, rax                ;  2  b ^= a
        rol     rax, 13                 ;  3  a = rol(a, 13)
        imul    rbx, r8                 ;  4  b *= M (low 64 bits)
        add     rdx, rax                ;  5  c += a
        xor     rdx, rbx                ;  6  c ^= b
        ror     rdx, 7                  ;  7  c = ror(c, 7)
        sub     rax, rdx                ;  8  a -= c
        dec     ecx                     ;  9
        jnz     .loop                   ; 10

        PRINT   "a ^ b ^ c = "
        xor     rax, rbx
        xor     rax, rdx
        call    serial_hex64
        NEWLINE
        PRINT   "halting (cli; hlt)", 10
        POWEROFF
