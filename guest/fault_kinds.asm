; pml4-image: elf
;
; fault_kinds — a #PF in every shape of memory access, each the first touch of a page that no
; table maps, each right after a CMP in the same straight-line code (so the status flags are
; ones an emulator computes lazily). The handler maps the page and returns; the access runs
; again. For each fault the handler prints the error code, CR2 as an offset into the page, and
; checks the frame: the saved RIP is the faulting instruction and the saved status flags are
; those of the CMP (SDM vol. 3A 6.15, interrupt 14: a fault saves the state before the
; instruction; 4.7: W/R = 1 for a write, and for an instruction that reads and then writes the
; location the access is a write: Bochs translates such operands for read-write at once).
;
; REP string instructions fault at the iteration that reaches the page, with RCX, RSI and RDI of
; that iteration (SDM vol. 2B REP: "the processor ... allows interrupts and exceptions between
; iterations"); the handler prints RCX for those. (That a store crossing into a page that is not
; present writes nothing on the page before it is guest/store_across.)
;
; A 60,000-instruction loop first, so that a default run is in fast mode by the time it faults.
; Expected: guest/fault_kinds.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "idt.inc"

default rel

%assign R               0x0000010000000000      ; PML4[2]: nothing maps it in the boot tables
%assign STATUS_FLAGS    0x8d5                   ; CF PF AF ZF SF OF (SDM vol. 1 3.4.3.1)
%assign SHOW_NOTHING    0
%assign SHOW_RCX        1

section .bss
alignb 16
case_name:      resq 1
case_page:      resq 1
expect_rip:     resq 1
expect_flags:   resq 1
show:           resq 1
faults:         resq 1
fx_area:        resb 512

%assign CASE 0
; KIND "name", instruction: the instruction, on its own fresh page in rbx, right after a CMP.
%macro KIND 2+
[section .rodata]
%%name: db %1, 0
__?SECT?__
        mov     rbx, R + CASE * PAGE_SIZE
        lea     rax, [rel %%name]
        mov     [rel case_name], rax
        mov     [rel case_page], rbx
        lea     rax, [rel %%site]
        mov     [rel expect_rip], rax
        mov     eax, 5
        cmp     eax, 7                          ; CF SF AF PF set, ZF OF clear
        pushfq
        pop     qword [rel expect_flags]
        mov     eax, 5
        cmp     eax, 7
%%site: %2
        mov     qword [rel show], SHOW_NOTHING
%assign CASE CASE + 1
%endmacro

section .text
global _start
_start:
        call    frames_init                     ; rdi = boot info
        call    idt_init
        ISR     VEC_PF, on_page_fault
        fninit
        PRINT   "fault_kinds: a #PF in every shape of access, each right after a CMP", 10
        mov     ecx, 30000
.warm:  dec     ecx
        jnz     .warm

        KIND    "mov load        ", mov rax, [rbx + 8]
        KIND    "mov store       ", mov [rbx + 8], rax
        KIND    "add to memory   ", add [rbx + 8], rax
        KIND    "inc memory      ", inc qword [rbx + 8]
        KIND    "adc to memory   ", adc [rbx + 8], rax
        KIND    "lock xadd       ", lock xadd [rbx + 8], rax
        KIND    "xchg            ", xchg [rbx + 8], rax
        KIND    "cmpxchg         ", cmpxchg [rbx + 8], rcx
        KIND    "setc            ", setc byte [rbx + 8]
        KIND    "push memory     ", push qword [rbx + 8]
        add     rsp, 8
        push    0x1234
        KIND    "pop to memory   ", pop qword [rbx + 8]
        KIND    "cmovc load      ", cmovc rax, [rbx + 8]
        KIND    "imul load       ", imul rax, [rbx + 8]
        KIND    "movzx load      ", movzx eax, word [rbx + 8]
        KIND    "bt memory       ", bt qword [rbx + 8], 3
        KIND    "sub load        ", sub rax, [rbx + 8]
        KIND    "movdqu load     ", movdqu xmm0, [rbx + 8]
        KIND    "movdqu store    ", movdqu [rbx + 8], xmm0
        KIND    "pxor load       ", pxor xmm1, [rbx + 16]
        KIND    "movnti store    ", movnti [rbx + 8], rax
        KIND    "fld load        ", fld qword [rbx + 8]
        fstp    st0
        fld1
        KIND    "fstp store      ", fstp qword [rbx + 8]
        KIND    "fxsave          ", fxsave [rbx]
        mov     rsi, R                          ; the first page, mapped by now
        lea     rdi, [rbx + PAGE_SIZE + 8]      ; the next case's page
        KIND    "movsq           ", movsq
        mov     rsi, R
        lea     rdi, [rbx + PAGE_SIZE + 8]      ; the next case's page
        mov     ecx, 16
        mov     qword [rel show], SHOW_RCX
        KIND    "rep movsb       ", rep movsb
        lea     rsi, [rbx + PAGE_SIZE + 8]
        mov     rdi, R
        KIND    "cmpsb           ", cmpsb
        lea     rdi, [rbx + PAGE_SIZE - 16]     ; 16 bytes before the next case's page
        mov     ecx, 32
        mov     qword [rel show], SHOW_RCX
        KIND    "rep stosb across", rep stosb
        KIND    "load across     ", mov rax, [rbx - 4]
        KIND    "store across    ", mov [rbx - 4], rax

        PRINT   "fault_kinds: "
        PUTDEC  qword [rel faults]
        PRINT   " page faults", 10
        CHECK_EQ qword [rel faults], CASE, "page faults in all"
        mov     al, EXIT_OK
        call    exit_debug

; on_page_fault: rdi = frame. Prints the fault, checks RIP and the status flags, maps the page.
on_page_fault:
        push    rbx
        push    r12
        push    r13
        mov     rbx, rdi
        mov     r12, cr2
        test    qword [rbx + F_ERROR], PF_P | PF_US
        jnz     .foreign
        mov     rax, R
        cmp     r12, rax
        jb      .foreign
        add     rax, CASE * PAGE_SIZE
        cmp     r12, rax
        jae     .foreign

        PRINT   "  "
        mov     rsi, [rel case_name]
        call    serial_puts
        PRINT   " error "
        PUTHEX  qword [rbx + F_ERROR]
        PRINT   ", CR2 = page + "
        mov     r13, r12
        sub     r13, [rel case_page]
        PUTHEX  r13
        mov     rax, [rbx + F_RIP]
        cmp     rax, [rel expect_rip]
        je      .rip_ok
        PRINT   ", RIP NOT the instruction: "
        PUTHEX64 qword [rbx + F_RIP]
        jmp     .flags
.rip_ok:
        PRINT   ", RIP ok"
.flags:
        mov     rax, [rbx + F_RFLAGS]
        xor     rax, [rel expect_flags]
        test    rax, STATUS_FLAGS
        jz      .flags_ok
        PRINT   ", status flags NOT kept: "
        PUTHEX  qword [rbx + F_RFLAGS]
        jmp     .extra
.flags_ok:
        PRINT   ", flags ok"
.extra:
        cmp     qword [rel show], SHOW_RCX
        jne     .map
        PRINT   ", RCX "
        PUTDEC  qword [rbx + F_RCX]
.map:
        NEWLINE
        call    alloc_frame
        mov     rsi, rax
        mov     rdi, r12
        and     rdi, ~(PAGE_SIZE - 1)
        mov     rcx, cr3
        mov     rax, PTE_ADDR_MASK
        and     rcx, rax
        mov     edx, PTE_P | PTE_RW
        call    map_4k
        inc     qword [rel faults]
        pop     r13
        pop     r12
        pop     rbx
        ret
.foreign:
        pop     r13
        pop     r12
        pop     rbx
        jmp     isr_unexpected
