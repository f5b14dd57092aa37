; pml4-image: elf
;
; smc_rep — self-modifying code by a string instruction: each turn, REP MOVSB (RCX = 1) copies
; the counter's low byte into the imm32 of an ADD further on in the same straight-line block
; (SDM vol. 3A 11.6: the store is seen by the next fetch of those bytes). The sum of the patched
; immediates is 2,546,448 for 20,000 turns, as in smc_block. The RDTSC difference is the same in
; both modes: 9 x TURNS + 6 = 180,006. pml4's TSC counts what the engine starts, and the engine
; starts a REP string instruction once per iteration and once more to find RCX = 0 (QEMU's REP),
; so this REP MOVSB of one byte counts 2 where the processor retires 1 (160,006 in all): a known
; difference of pml4's virtual time (README, "Choices where the spec is silent"), the same in both
; modes, and the store into the block changes nothing of it.
; Expected: guest/smc_rep.expected, status 1.

%include "pml4.inc"
%include "serial.inc"

default rel

%assign TURNS 20000

section .bss
alignb 8
byte_src:       resb 8

section .text
global _start
_start:
        PRINT   "smc_rep: REP MOVSB patching the running block", 10
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        mov     r12, rax
        mov     r8d, TURNS
        xor     ebx, ebx
.turn:
        mov     [rel byte_src], r8b
        lea     rsi, [rel byte_src]
        lea     rdi, [rel .patch + 2]
        mov     ecx, 1
        rep movsb
.patch:
        add     ebx, strict dword 0
        dec     r8d
        jnz     .turn
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        sub     rax, r12
        mov     r13, rax
        PRINT   "sum "
        PUTDEC  rbx
        PRINT   ", instructions between the RDTSCs "
        PUTDEC  r13
        NEWLINE
        mov     al, EXIT_OK
        call    exit_debug
