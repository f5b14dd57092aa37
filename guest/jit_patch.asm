; pml4-image: elf
;
; jit_patch — what a JIT does: write code into a data buffer, call it, patch it through the same
; address, call it again. The buffer's page is written (as data) before any code is run from it,
; and written again between calls: every call must run the bytes last written (SDM vol. 3A 11.6,
; self-modifying code: a write to a code page is seen by the next fetch after it). 1,000 rounds,
; each patching the immediate of `mov eax, imm32` to the round's number, sum the results:
; 1 + 2 + ... + 1000 = 500,500.
; Expected: guest/jit_patch.expected, status 1.

%include "pml4.inc"
%include "serial.inc"

default rel

%assign ROUNDS 1000

section .bss
alignb 4096
buf:    resb 4096

section .text
global _start
_start:
        PRINT   "jit_patch: code written into a data page, called, patched, called again", 10
        lea     rdi, [buf]
        mov     qword [rdi + 64], 0x5a5a5a5a    ; the page is data first: written, read back
        mov     rax, [rdi + 64]
        mov     byte [rdi], 0xb8                ; mov eax, imm32
        mov     dword [rdi + 1], 0
        mov     byte [rdi + 5], 0xc3            ; ret
        call    rdi
        PRINT   "first call returns "
        PUTDEC  rax
        NEWLINE
        xor     ebx, ebx                        ; the sum
        mov     ecx, 1
.round:
        mov     [rdi + 1], ecx                  ; patch the immediate through the same address
        push    rcx
        call    rdi
        pop     rcx
        add     rbx, rax
        inc     ecx
        cmp     ecx, ROUNDS
        jbe     .round
        PRINT   "sum of 1,000 patched calls "
        PUTDEC  rbx
        NEWLINE
        ; The same code page patched from a second buffer page via REP MOVSB (a string store).
        lea     rsi, [buf + 2048]
        mov     byte [rsi], 0xb8
        mov     dword [rsi + 1], 4242
        mov     byte [rsi + 5], 0xc3
        push    rdi
        mov     ecx, 6
        rep movsb
        pop     rdi
        call    rdi
        PRINT   "after REP MOVSB over it: "
        PUTDEC  rax
        NEWLINE
        EXIT    EXIT_OK
