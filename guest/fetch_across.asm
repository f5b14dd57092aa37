; pml4-image: elf
;
; fetch_across — instruction fetches that run off a present page into one that is not present.
; SDM vol. 3A 6.15 (interrupt 14): #PF is a fault, reported with the saved RIP of the
; instruction whose fetch faulted; 4.7: CR2 is the linear address that was accessed and the
; error code has I/D = 1 (with EFER.NXE = 1 and PAE paging), P = 0, W/R = 0. The instructions
; before it in the same straight line have run, once.
;
;   A  inc r8; inc r9 end page R+0; inc r10; ret start page R+0x1000 (not present):
;      the fault is at R+0x1000, the first instruction on the missing page.
;   B  inc r8 ends at R+0x2ffc, then mov rax, imm64 (10 bytes) straddles into R+0x3000 (not
;      present): the fault is at the MOV's own address, R+0x2ffc, and CR2 is R+0x3000.
;
; The handler maps the missing page onto a frame that already holds the rest of the code and
; returns; the code then runs on. Afterwards r8, r9, r10 and rax show each instruction ran once.
; Expected: guest/fetch_across.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "idt.inc"

default rel

%assign R               0x0000010000000000
%assign IA32_EFER       0xc0000080
%assign EFER_NXE        1 << 11

section .bss
alignb 8
frames:         resq 4                  ; the frame behind each page of R
faults:         resq 1

section .text
global _start
_start:
        call    frames_init
        call    idt_init
        ISR     VEC_PF, on_page_fault
        mov     ecx, IA32_EFER                  ; I/D in the error code needs NXE (SDM 4.7)
        rdmsr
        or      eax, EFER_NXE
        wrmsr
        PRINT   "fetch_across: code that runs off a present page into one that is not", 10

        xor     ebx, ebx                        ; four frames; pages 0 and 2 mapped now
.frame: call    alloc_frame
        lea     rdx, [rel frames]
        mov     [rdx + rbx * 8], rax
        inc     ebx
        cmp     ebx, 4
        jb      .frame
        ; A: the bytes before the split at the end of frame 0, the rest at the start of frame 1
        mov     rdi, [rel frames]
        add     rdi, PAGE_SIZE - (a_split - a_start)
        lea     rsi, [rel a_start]
        mov     ecx, a_split - a_start
        rep movsb
        mov     rdi, [rel frames + 8]
        mov     ecx, a_end - a_split
        rep movsb
        ; B: the same, split 4 bytes into the MOV
        mov     rdi, [rel frames + 16]
        add     rdi, PAGE_SIZE - (b_split - b_start)
        lea     rsi, [rel b_start]
        mov     ecx, b_split - b_start
        rep movsb
        mov     rdi, [rel frames + 24]
        mov     ecx, b_end - b_split
        rep movsb
        mov     rdi, R
        call    map_page
        mov     rdi, R + 2 * PAGE_SIZE
        call    map_page

        PRINT   "A: inc r8; inc r9 | inc r10; ret, split between the INCs", 10
        xor     r8d, r8d
        xor     r9d, r9d
        xor     r10d, r10d
        mov     rax, R + PAGE_SIZE - (a_split - a_start)
        call    rax
        PRINT   "  then r8 "
        PUTDEC  r8
        PRINT   ", r9 "
        PUTDEC  r9
        PRINT   ", r10 "
        PUTDEC  r10
        NEWLINE
        CHECK_EQ r8, 1, "r8"
        CHECK_EQ r9, 1, "r9"
        CHECK_EQ r10, 1, "r10"

        PRINT   "B: inc r8 | mov rax, imm64 straddling the pages | inc r10; ret", 10
        xor     r8d, r8d
        xor     r10d, r10d
        mov     rax, R + 3 * PAGE_SIZE - (b_split - b_start)
        call    rax
        mov     rbx, rax
        PRINT   "  then r8 "
        PUTDEC  r8
        PRINT   ", rax "
        PUTHEX64 rbx
        PRINT   ", r10 "
        PUTDEC  r10
        NEWLINE
        CHECK_EQ r8, 1, "r8"
        CHECK_EQ r10, 1, "r10"
        CHECK_EQ rbx, 0x1122334455667788, "rax"
        CHECK_EQ qword [rel faults], 2, "page faults"
        PRINT   "fetch_across: ok", 10
        mov     al, EXIT_OK
        call    exit_debug

; map_page: page rdi of R onto its frame, present, writable, executable.
map_page:
        mov     rax, rdi
        mov     rsi, R
        sub     rax, rsi
        shr     rax, 12
        lea     rsi, [rel frames]
        mov     rsi, [rsi + rax * 8]
        mov     rcx, cr3
        mov     rax, PTE_ADDR_MASK
        and     rcx, rax
        mov     edx, PTE_P | PTE_RW
        jmp     map_4k

on_page_fault:
        push    rbx
        mov     rbx, rdi
        mov     rax, cr2
        mov     rdx, R
        sub     rax, rdx
        cmp     rax, 4 * PAGE_SIZE
        jae     .foreign
        PRINT   "  #PF error "
        PUTHEX  qword [rbx + F_ERROR]
        PRINT   ", RIP R+"
        mov     rax, [rbx + F_RIP]
        mov     rdx, R
        sub     rax, rdx
        PUTHEX  rax
        PRINT   ", CR2 R+"
        mov     rax, cr2
        mov     rdx, R
        sub     rax, rdx
        PUTHEX  rax
        PRINT   ": the page mapped, retry", 10
        mov     rdi, cr2
        and     rdi, ~(PAGE_SIZE - 1)
        call    map_page
        inc     qword [rel faults]
        pop     rbx
        ret
.foreign:
        mov     rdi, rbx
        pop     rbx
        jmp     isr_unexpected

section .rodata
a_start:
        inc     r8
        inc     r9
a_split:
        inc     r10
        ret
a_end:
b_start:
        inc     r8
        mov     rax, 0x1122334455667788
b_split equ $ - 6                               ; 4 bytes of the MOV (REX.W B8 and 2 of the imm64) before the split
        inc     r10
        ret
b_end:
