; pml4-image: elf
;
; tlbbug_widths — PTE changes of every width, for `pml4 run --check-tlb` (the report it must give
; is tlbbug_widths.expected-report): the checker judges the entries a write leaves, whatever the
; write's width, so a byte that clears A is benign, and a 2-byte write into the frame field, a
; 4-byte write to the upper half that sets XD, and a REP MOVSQ that copies a whole table over the
; live one each make the entry stale (SDM vol. 3A 4.10.4.2), each reported once, at the next read.
;
; 1. V -> frame A; read V. A byte write clears A (0x23 -> 0x03): read V, nothing to report.
; 2. A word write at PTE + 1 changes frame bits 23:8 (A -> B); read V: stale use 1 (frame A).
;    INVLPG [V].
; 3. EFER.NXE = 1; a dword write at PTE + 4 sets XD; read V: stale use 2 (the TLB still says
;    executable). INVLPG [V].
; 4. A copy of V's page table whose entry 0 maps frame C; REP MOVSQ copies it over the live table;
;    read V: stale use 3 (frame B). INVLPG [V]; read V: frame C.
; Checked: FAIL and EXIT_FAIL (status 3) on a wrong value, EXIT_OK (status 1) at the end.

%include "tlbbug.inc"                 ; pml4.inc, serial.inc, paging.inc, V

default rel

section .text
global _start
_start:
        call    frames_init                     ; rdi = boot info
        PRINT   "tlbbug_widths: PTE writes of 1, 2, 4 bytes and REP MOVSQ (SDM 4.10.4.2)", 10
        ; frames A, B, C at 0x...000, each holding its name; B = A + 0x1000 so a word write at
        ; PTE + 1 (bits 23:8) moves the PTE from A to B
        DATA_FRAME r12, 0xaaaa                  ; frame A
        DATA_FRAME r13, 0xbbbb                  ; frame B
        DATA_FRAME r15, 0xcccc                  ; frame C
        MAP_BOOT V, r12, PTE_P | PTE_RW
        mov     r14, rax                        ; V's PTE
        mov     rbx, V
        mov     rax, [rbx]
        CHECK_EQ rax, 0xaaaa, "first read of V"

        ; --- 1. one byte: A cleared, benign
global clear_a
clear_a:
        mov     byte [r14], PTE_P | PTE_RW
        mov     rax, [rbx]
        PRINT   "  byte write clears A: V = "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0xaaaa, "read of V after clearing A"

        ; --- 2. two bytes: the frame
        mov     rax, r13
        shr     rax, 8
global word_write
word_write:
        mov     [r14 + 1], ax
        mov     rax, [rbx]
        PRINT   "  word write moves the frame to B: V = "
        PUTHEX  rax
        PRINT   " (stale)", 10
        CHECK_EQ rax, 0xaaaa, "read of V after the word write"
        invlpg  [rbx]
        mov     rax, [rbx]
        CHECK_EQ rax, 0xbbbb, "read of V after INVLPG"

        ; --- 3. four bytes: XD
        mov     ecx, MSR_EFER
        rdmsr
        or      eax, EFER_NXE
        wrmsr
global dword_write
dword_write:
        mov     dword [r14 + 4], 0x80000000
        mov     rax, [rbx]
        PRINT   "  dword write sets XD: V = "
        PUTHEX  rax
        PRINT   " (stale: the TLB says executable)", 10
        CHECK_EQ rax, 0xbbbb, "read of V after the dword write"
        invlpg  [rbx]

        ; --- 4. REP MOVSQ of a whole table
        call    alloc_frame
        mov     rdi, rax
        mov     rsi, r14                        ; V's PTE is entry 0 of its table
        call    copy_frame
        mov     rax, r15
        or      rax, PTE_P | PTE_RW
        mov     [rdi], rax                      ; the copy maps V to frame C
        mov     rax, [rbx]
        CHECK_EQ rax, 0xbbbb, "read of V before the table copy"
        mov     rsi, rdi
        mov     rdi, r14
global table_copy
table_copy:
        call    copy_frame                      ; rep movsq over the live table
        mov     rax, [rbx]
        PRINT   "  rep movsq of a table over the live one: V = "
        PUTHEX  rax
        PRINT   " (stale)", 10
        CHECK_EQ rax, 0xbbbb, "read of V after the table copy"
        invlpg  [rbx]
        mov     rax, [rbx]
        PRINT   "  invlpg [V]: V = "
        PUTHEX  rax
        NEWLINE
        CHECK_EQ rax, 0xcccc, "read of V after INVLPG"
        PRINT   "tlbbug_widths: ok", 10
        mov     al, EXIT_OK
        call    exit_debug
