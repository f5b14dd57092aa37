; pml4-image: elf
;
; ud_engine — invalid instructions on which Unicorn 2.0.1's translator aborts the process (tcg
; fatal error) or that it runs although the processor refuses them, each reaching the kernel's
; #UD handler at its own RIP (issue 13). The SDM gives each #UD: LOCK on an instruction that does
; not take it, or with a register destination (Vol. 2A, LOCK); CALL FAR / JMP FAR with a register
; operand (Vol. 2A, CALL, JMP: FF /3 and FF /5 take m16:64 only).
; Every site but the first two sits in the middle of a block, after instructions that must run
; first (EBX counts to 2 before it); the first two are also reached by a jump (a block's start).
; One is written over code that already ran (self-modifying code is translated, and checked, again).
; The last runs at CPL 3: the handler sees CS = 0x23 and the user's RIP.
; Expected: guest/ud_engine.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "gdt.inc"
%include "idt.inc"

default rel

%assign USER_CODE       0x8000000000
%assign USER_STACK_TOP  0x8000100000

section .bss
expect_rip:     resq 1
resume_rip:     resq 1
expect_cs:      resq 1
caught:         resq 1
lockable:       resq 1

section .text

; SITE name, bytes...: the bytes, mid-block, must raise #UD at their first byte and change nothing.
%macro SITE 2+
        lea     rax, [%%site]
        mov     [expect_rip], rax
        lea     rax, [%%resume]
        mov     [resume_rip], rax
        mov     ebx, 1
        inc     ebx
%%site: db      %2
        times 16 db 0x90                        ; never reached: the handler resumes below
%%resume:
        CHECK_EQ rbx, 2, %1
        PRINT   "  ", %1, ": #UD at its own RIP", 10
%endmacro

; JUMP_SITE name, bytes...: the same, reached by a jump, so that it starts a block.
%macro JUMP_SITE 2+
        lea     rax, [%%site]
        mov     [expect_rip], rax
        lea     rax, [%%resume]
        mov     [resume_rip], rax
        jmp     %%site
        times 3 db 0x90
%%site: db      %2
        times 16 db 0x90
%%resume:
        PRINT   "  ", %1, " (a jump's target): #UD at its own RIP", 10
%endmacro

global _start
_start:
        PRINT   "ud_engine: instructions the execution engine must never see", 10
        call    frames_init
        call    gdt_init
        call    idt_init
        ISR     VEC_UD, on_ud
        mov     qword [expect_cs], SEL_KERNEL_CODE

        JUMP_SITE "LOCK CMPSB (f0 a6)", 0xf0, 0xa6
        JUMP_SITE "CALL FAR rax (ff d8)", 0xff, 0xd8
        SITE    "LOCK CMPSB (f0 a6)", 0xf0, 0xa6
        SITE    "CALL FAR rax (ff d8)", 0xff, 0xd8
        SITE    "JMP FAR rax (ff e8)", 0xff, 0xe8
        SITE    "LOCK BT eax, eax (f0 0f a3 c0)", 0xf0, 0x0f, 0xa3, 0xc0
        SITE    "LOCK BT eax, 1 (f0 0f ba e0 01)", 0xf0, 0x0f, 0xba, 0xe0, 0x01
        SITE    "LOCK MOVSB (f0 a4)", 0xf0, 0xa4
        SITE    "LOCK STOSB (f0 aa)", 0xf0, 0xaa
        SITE    "REP LOCK MOVSB (f3 f0 a4)", 0xf3, 0xf0, 0xa4
        SITE    "LOCK CMP [rax], 1 (f0 48 83 38 01)", 0xf0, 0x48, 0x83, 0x38, 0x01
        SITE    "LOCK BTS eax, eax (f0 0f ab c0)", 0xf0, 0x0f, 0xab, 0xc0
        SITE    "LOCK ADD eax, eax (f0 01 c0)", 0xf0, 0x01, 0xc0

        lea     rax, [.hidden + 2]              ; LOCK CMPSB inside an immediate: an operand
        mov     [expect_rip], rax               ; where the block runs through it, #UD where a
        lea     rax, [.hidden_resume]           ; jump makes it an instruction
        mov     [resume_rip], rax
.hidden:
        mov     eax, 0x00a6f000                 ; b8 00 f0 a6 00
        cmp     eax, 0x00a6f000
        jne     .hidden_wrong
        lea     rax, [.hidden + 2]
        jmp     rax
.hidden_wrong:
        FAIL    "MOV EAX, imm32 with f0 a6 inside"
.hidden_resume:
        PRINT   "  f0 a6 inside MOV's immediate: runs as an operand, #UD when jumped into", 10

        lea     rax, [smc_site]                 ; self-modifying code: two NOPs that ran become
        mov     [expect_rip], rax               ; CALL FAR rax, translated again and caught
        lea     rax, [.smc_resume]
        mov     [resume_rip], rax
        call    smc_site
        mov     word [smc_site], 0xd8ff
        call    smc_site
        FAIL    "the patched CALL FAR rax ran"
.smc_resume:
        add     rsp, 8                          ; the return address the second call pushed
        PRINT   "  NOP NOP patched to CALL FAR rax after it ran: #UD at its own RIP", 10

        lea     rax, [lockable]                 ; a lockable form still runs: LOCK ADD [m], r
        mov     ecx, 5
        lock add [rax], ecx
        CHECK_EQ qword [lockable], 5, "LOCK ADD [m], r"
        PRINT   "  LOCK ADD [m], r runs", 10

        ; --- CPL 3: a user program whose second instruction is CALL FAR rax
        call    space_new
        mov     rcx, rax
        mov     r12, rax
        call    alloc_frame
        mov     rdi, rax
        lea     rsi, [rel user_start]
        push    rcx
        mov     ecx, user_end - user_start
        rep movsb
        pop     rcx
        mov     rsi, rax
        mov     rdi, USER_CODE
        mov     edx, PTE_P | PTE_US
        call    map_4k
        call    alloc_frame
        mov     rsi, rax
        mov     rdi, USER_STACK_TOP - PAGE_SIZE
        mov     edx, PTE_P | PTE_RW | PTE_US
        call    map_4k
        mov     rax, USER_CODE + (user_site - user_start)
        mov     [expect_rip], rax
        lea     rax, [user_done]
        mov     [resume_rip], rax
        mov     qword [expect_cs], SEL_USER_CODE
        mov     cr3, r12
        push    SEL_USER_DATA
        mov     rax, USER_STACK_TOP
        push    rax
        push    2                               ; RFLAGS: IF = 0
        push    SEL_USER_CODE
        mov     rax, USER_CODE
        push    rax
        iretq

; The handler resumed here at CPL 0 (it changed the frame's CS and SS back to the kernel's).
user_done:
        PRINT   "  CALL FAR rax at CPL 3: #UD at its own RIP, CS = 0x23 in the frame", 10
        CHECK_EQ qword [caught], 16, "#UD count"
        PRINT   "done: 16 #UD", 10
        EXIT    EXIT_OK

; on_ud: rdi = frame. The RIP and CS pushed must be the site's; resume where the site says.
on_ud:
        CHECK_EQ qword [rdi + F_RIP], [expect_rip], "#UD's saved RIP"
        CHECK_EQ qword [rdi + F_CS], [expect_cs], "#UD's saved CS"
        inc     qword [caught]
        mov     rax, [resume_rip]
        mov     [rdi + F_RIP], rax
        mov     qword [rdi + F_CS], SEL_KERNEL_CODE
        mov     qword [rdi + F_SS], SEL_KERNEL_DATA
        lea     rax, [kernel_stack_top]
        mov     [rdi + F_RSP], rax
        ret

smc_site:
        nop
        nop
        ret

user_start:
        mov     ebx, 1
user_site:
        db      0xff, 0xd8                      ; CALL FAR rax
        jmp     $
user_end:
