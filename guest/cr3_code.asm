; pml4-image: elf
;
; cr3_code — the instruction after MOV to CR3 is fetched through the new address space. MOV to
; CR3 is serializing and invalidates the non-global TLB entries (SDM vol. 3A 4.10.4.1, 8.3), so
; when the code page it runs on maps another frame in the new space, the next instruction comes
; from that frame: the trick trampolines and some teaching kernels use.
;
; Two address spaces share the kernel's identity map (PML4 entry 0). The page L maps frame FA in
; space A and frame FB in space B; both hold
;       mov cr3, rax ; mov ebx, <0xAAAA in FA, 0xBBBB in FB> ; ret
; The kernel calls L in A with rax = B's CR3 (ebx = 0xBBBB), then in B with rax = A's CR3
; (ebx = 0xAAAA), a hundred times over.
; Expected: guest/cr3_code.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"

default rel

%assign L               0x0000010000000000

section .bss
alignb 8
space_a:        resq 1
space_b:        resq 1

section .text
global _start
_start:
        call    frames_init
        PRINT   "cr3_code: the instruction after MOV to CR3 comes from the new address space", 10
        call    space_new
        mov     [rel space_a], rax
        call    space_new
        mov     [rel space_b], rax
        mov     r12d, 0xaaaa
        mov     r13, [rel space_a]
        call    code_frame_at_l
        mov     r12d, 0xbbbb
        mov     r13, [rel space_b]
        call    code_frame_at_l

        mov     rax, [rel space_a]
        mov     cr3, rax
        xor     r14d, r14d                      ; rounds that found the other frame's code
        mov     r15d, 100
.round: mov     rax, [rel space_b]
        mov     rdx, L
        call    rdx                             ; A -> B
        cmp     ebx, 0xbbbb
        jne     .wrong
        mov     rax, [rel space_a]
        mov     rdx, L
        call    rdx                             ; B -> A
        cmp     ebx, 0xaaaa
        jne     .wrong
        inc     r14d
        dec     r15d
        jnz     .round
        PRINT   "  100 rounds: A -> B ran FB's MOV (0xbbbb), B -> A ran FA's (0xaaaa)", 10
        mov     al, EXIT_OK
        call    exit_debug
.wrong: PRINT   "FAIL: round "
        PUTDEC  r14
        PRINT   ": ebx = "
        PUTHEX  rbx
        NEWLINE
        mov     al, EXIT_FAIL
        call    exit_debug

; code_frame_at_l: a frame holding mov cr3, rax; mov ebx, r12d; ret, mapped at L in the space r13.
code_frame_at_l:
        call    alloc_frame
        mov     dword [rax], 0xbbd8220f         ; 0F 22 D8 = mov cr3, rax; BB = mov ebx, imm32
        mov     [rax + 4], r12d
        mov     byte [rax + 8], 0xc3            ; ret
        mov     rsi, rax
        mov     rdi, L
        mov     rcx, r13
        mov     edx, PTE_P | PTE_RW
        jmp     map_4k
