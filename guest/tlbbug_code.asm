; pml4-image: elf
;
; tlbbug_code — a code page remapped without INVLPG (as a loader that reuses a virtual address
; for another program's code): the ITLB keeps fetching the old frame. For `pml4 run
; --check-tlb`; the report it must give is tlbbug_code.expected-report (a stale fetch).
;
; SDM vol. 3A 4.10.2.2: instruction fetches use the ITLB's cached translation; 4.10.4.2: after the
; PTE changes, INVLPG must remove it before the new code runs.
;
; 1. Frames A and B each hold a function: mov eax, 0xaaaa / 0xbbbb; ret. Map V -> A; call V.
; 2. Point V's PTE at frame B, no INVLPG; call V (call_stale): the stale ITLB entry runs A's code.
; 3. INVLPG [V]; call V: 0xbbbb.
; Checked: FAIL and EXIT_FAIL (status 3) on a wrong value, EXIT_OK (status 1) at the end.

%include "tlbbug.inc"                 ; pml4.inc, serial.inc, paging.inc, V

default rel

section .text
global _start
_start:
        call    frames_init                     ; rdi = boot info
        PRINT   "tlbbug_code: a code page remapped without INVLPG (SDM 4.10.4.2)", 10
        call    alloc_frame
        mov     r12, rax                        ; frame A: mov eax, 0xaaaa; ret
        mov     byte [rax], 0xb8
        mov     dword [rax + 1], 0xaaaa
        mov     byte [rax + 5], 0xc3
        call    alloc_frame
        mov     r13, rax                        ; frame B: mov eax, 0xbbbb; ret
        mov     byte [rax], 0xb8
        mov     dword [rax + 1], 0xbbbb
        mov     byte [rax + 5], 0xc3
        MAP_BOOT V, r12, PTE_P | PTE_RW
        mov     r14, rax                        ; V's PTE
        mov     rbx, V
        call    rbx
        PRINT   "  call V: "
        PUTHEX  rax
        PRINT   " (frame A's code)", 10
        CHECK_EQ rax, 0xaaaa, "first call of V"

        mov     rax, r13
        or      rax, PTE_P | PTE_RW | PTE_A
global remap
remap:
        mov     [r14], rax
        PRINT   "  PTE of V -> frame B, no INVLPG", 10
global call_stale
call_stale:
        call    rbx
        PRINT   "  call V: "
        PUTHEX  rax
        PRINT   " (the stale ITLB entry: frame A's code)", 10
        CHECK_EQ rax, 0xaaaa, "call of V after the PTE change"
        invlpg  [rbx]
        call    rbx
        PRINT   "  invlpg [V]; call V: "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0xbbbb, "call of V after INVLPG"
        PRINT   "tlbbug_code: ok", 10
        mov     al, EXIT_OK
        call    exit_debug
