; pml4-image: elf
;
; tlb_code_invlpg — the running code page remapped, then invalidated by the code on it. INVLPG is
; serializing (SDM vol. 3A 8.3) and removes the page's TLB entries (4.10.4.1), so the instruction
; after it is fetched through the PTE as it is now.
;
; Frames FA and FB both hold, at the same offset,
;       invlpg [rax] ; mov ebx, <0xAAAA in FA, 0xBBBB in FB> ; ret
; and the page L maps one of them. Each round the kernel points L's PTE at the other frame
; without invalidating (the TLB still holds the old frame for L: SDM 4.10.4.2), calls L with
; rax = L: the INVLPG runs from the old frame, the MOV after it from the new one. 100 rounds each
; way.
; Expected: guest/tlb_code_invlpg.expected (and .expected-report: --check-tlb reports each stale fetch of the INVLPG), status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"

default rel

%assign L               0x0000010000000000

section .bss
alignb 8
pte:            resq 1
frame_a:        resq 1
frame_b:        resq 1

section .text
global _start
_start:
        call    frames_init
        PRINT   "tlb_code_invlpg: the instruction after INVLPG of its own page comes from the new frame", 10
        mov     r12d, 0xaaaa
        call    code_frame
        mov     [rel frame_a], rax
        mov     r12d, 0xbbbb
        call    code_frame
        mov     [rel frame_b], rax
        mov     rsi, [rel frame_a]
        mov     rdi, L
        mov     rcx, cr3
        mov     rdx, PTE_ADDR_MASK
        and     rcx, rdx
        mov     edx, PTE_P | PTE_RW
        call    map_4k
        mov     [rel pte], rax
        mov     rax, L
        call    rax                             ; L -> FA in the TLB: ebx = 0xaaaa
        CHECK_EQ rbx, 0xaaaa, "first call"

        xor     r14d, r14d
        mov     r15d, 100
.round: mov     rdx, [rel frame_b]              ; L -> FB in the PTE; the TLB still says FA
        or      rdx, PTE_P | PTE_RW
        mov     rax, [rel pte]
        mov     [rax], rdx
        mov     rax, L
        call    rax
        cmp     ebx, 0xbbbb
        jne     .wrong
        mov     rdx, [rel frame_a]              ; and back
        or      rdx, PTE_P | PTE_RW
        mov     rax, [rel pte]
        mov     [rax], rdx
        mov     rax, L
        call    rax
        cmp     ebx, 0xaaaa
        jne     .wrong
        inc     r14d
        dec     r15d
        jnz     .round
        PRINT   "  100 rounds: each time the MOV after the INVLPG came from the frame the PTE names", 10
        mov     al, EXIT_OK
        call    exit_debug
.wrong: PRINT   "FAIL: round "
        PUTDEC  r14
        PRINT   ": ebx = "
        PUTHEX  rbx
        NEWLINE
        mov     al, EXIT_FAIL
        call    exit_debug

; code_frame: rax = a frame holding invlpg [rax]; mov ebx, r12d; ret.
code_frame:
        call    alloc_frame
        mov     dword [rax], 0xbb38010f         ; 0F 01 38 = invlpg [rax]; BB = mov ebx, imm32
        mov     [rax + 4], r12d
        mov     byte [rax + 8], 0xc3
        ret
