; pml4-image: elf
;
; smc_block — self-modifying code inside the running translation block, timed by the TSC.
; Each turn of the loop stores the counter's low byte into the imm32 of an ADD two
; instructions further on in the same straight-line block, then runs that ADD. The x86
; guarantees the store is seen by the very next fetch of the modified bytes (SDM vol. 3A,
; 11.6 "Self-Modifying Code": a write to a code byte in the prefetch queue or the pipeline is
; detected and the instruction re-fetched), so the sum is that of (n mod 256) for n = TURNS
; down to 1: 78 x (0 + ... + 255) + (1 + ... + 32) = 2,546,448.
;
; pml4's TSC counts retired instructions, so the RDTSC difference around the loop is exactly
; the number of instructions between the two reads; a turn that counted instructions of the
; block that never ran after the store (an emulator counting whole blocks as they start)
; shows up here as a larger difference.
;
;   turns           TURNS = 20,000 (crosses fast mode's start at instruction 50,000)
;   per turn        6 instructions: mov [imm], cl; mov eax, ecx; xor eax, ebx; add ebx, imm32;
;                                   dec ecx; jnz
;   between RDTSCs  the first RDTSC + shl, or, mov r12, mov ecx, xor ebx + 6 x TURNS = 120,006
;                   (the TSC is the count of instructions retired before the reading one)
;
; It does this twice, with the store first in its block and in the middle of it, then times a
; loop that jumps back into the middle of its own block, which must count every instruction.
;
; Expected: guest/smc_block.expected, status 1.

%include "pml4.inc"
%include "serial.inc"

default rel

%assign TURNS 20000
%assign SPINS 1000

section .text
global _start
_start:
        PRINT   "self-modifying code in the running block", 10
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        mov     r12, rax                ; TSC before
        mov     ecx, TURNS
        xor     ebx, ebx
.turn:
        mov     [.patch + 2], cl        ; the low byte of the ADD's imm32 below (81 /0 id)
        mov     eax, ecx
        xor     eax, ebx                ; something between the store and its target
.patch:
        add     ebx, strict dword 0
        dec     ecx
        jnz     .turn
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        sub     rax, r12
        mov     r13, rax                ; instructions between the two reads

        PRINT   "store first in its block:  sum "
        PUTDEC  rbx
        PRINT   ", instructions between the RDTSCs "
        PUTDEC  r13
        NEWLINE

        ; The same with the store in the middle of its block: the instruction before it ran, the
        ; three after it are translated anew. 6 x TURNS + 6 again.
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        mov     r12, rax
        mov     ecx, TURNS
        xor     ebx, ebx
.turn2:
        mov     eax, ecx
        mov     [.patch2 + 2], cl
        xor     eax, ebx
.patch2:
        add     ebx, strict dword 0
        dec     ecx
        jnz     .turn2
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        sub     rax, r12
        mov     r13, rax
        PRINT   "store inside its block:    sum "
        PUTDEC  rbx
        PRINT   ", instructions between the RDTSCs "
        PUTDEC  r13
        NEWLINE

        ; No store: a block whose branch goes back into its own middle (MOV ECX starts the block
        ; that DEC and JNZ continue). The first RDTSC, shl, or, mov r12, mov ecx + 2 x SPINS = 2,005.
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        mov     r12, rax
        mov     ecx, SPINS
.spin:
        dec     ecx
        jnz     .spin
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        sub     rax, r12
        PRINT   "jump into its own block:   instructions between the RDTSCs "
        PUTDEC  rax
        NEWLINE
        EXIT    EXIT_OK
