; pml4-image: elf
;
; alias_code — code changed through another linear address of its frame, then run. The
; processor checks stores against code it has fetched by physical address (SDM vol. 3A 11.6,
; "Self-Modifying Code": "This check is based on the physical address of the instruction"), so
; the next call runs the new bytes, whichever linear address wrote them: a loader or exec() that
; writes a program through its own mapping of the frame relies on it.
;
; Frame F is mapped at X (where the code runs) and at Y (where the kernel writes). F holds
; mov eax, imm32; ret.
;   1. call X                              0x1111
;   2. the imm32 written through Y; call X 0x2222
;   3. 1,000 times: the imm32 = i through Y, call X, add up       499,500
;   4. a new function copied over F through Y with REP MOVSB; call X  0x3333
; Expected: guest/alias_code.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"

default rel

%assign X               0x0000010000000000
%assign Y               0x0000010000100000

section .text
global _start
_start:
        call    frames_init
        PRINT   "alias_code: code written through another mapping of its frame", 10
        call    alloc_frame
        mov     r12, rax                        ; F
        mov     byte [r12], 0xb8                ; mov eax, 0x1111
        mov     dword [r12 + 1], 0x1111
        mov     byte [r12 + 5], 0xc3            ; ret
        mov     rdi, X
        call    map_f
        mov     rdi, Y
        call    map_f
        mov     rbx, X
        mov     r13, Y

        call    rbx
        PRINT   "  call X: "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0x1111, "first call"

        mov     dword [r13 + 1], 0x2222
        call    rbx
        PRINT   "  imm32 written through Y, call X: "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0x2222, "after the write through Y"

        xor     r14d, r14d                      ; the sum
        xor     r15d, r15d                      ; i
.loop:  mov     [r13 + 1], r15d
        call    rbx
        add     r14, rax
        inc     r15d
        cmp     r15d, 1000
        jb      .loop
        PRINT   "  1,000 writes through Y, each followed by a call of X, sum: "
        PUTDEC  r14
        NEWLINE
        CHECK_EQ r14, 499500, "sum of the calls"

        lea     rsi, [rel new_code]
        mov     rdi, r13
        mov     ecx, new_code_end - new_code
        rep movsb
        call    rbx
        PRINT   "  a new function copied through Y (rep movsb), call X: "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0x3333, "after the copy"
        mov     al, EXIT_OK
        call    exit_debug

; map_f: linear rdi -> F (r12), present and writable.
map_f:
        mov     rsi, r12
        mov     rcx, cr3
        mov     rax, PTE_ADDR_MASK
        and     rcx, rax
        mov     edx, PTE_P | PTE_RW
        jmp     map_4k

section .rodata
new_code:
        xor     eax, eax
        add     eax, 0x3333
        ret
new_code_end:
