; pml4-image: flat
;
; paging32 — 32-bit paging (SDM Vol. 3A 4.3) from a Multiboot 1 kernel that stays in 32-bit
; protected mode: a page directory of 4-byte entries with a 4 MiB identity page (CR4.PSE) and a
; page table for 0x400000; a 32-bit IDT whose #PF handler (an 8-byte interrupt gate) maps the
; missing page and returns with IRETD to retry; a PTE changed without INVLPG keeps the stale
; translation until INVLPG; A and D read back from the 4-byte entries.
;
; Expected: paging32.expected, status 1.

%include "mb1_flat_header.inc"
%include "multiboot.inc"

CR4_PSE         equ 1 << 4
PG_P            equ 1
PG_W            equ 2
PG_PS           equ 0x80
WINDOW          equ 0x400000            ; PDE 1 -> page_table
FRAME_A         equ 0x300000            ; inside the 4 MiB identity page
FRAME_B         equ 0x301000
FRAME_C         equ 0x302000

_start:
        mov     esp, lm_stack_top
        SAY     "paging32: 32-bit paging, 4-byte entries", 10
        ; Page directory: PDE 0 a 4 MiB identity page (P W PS), PDE 1 -> page_table.
        mov     dword [page_dir], PG_P | PG_W | PG_PS
        mov     dword [page_dir + 4], page_table + PG_P + PG_W
        mov     dword [page_table], FRAME_A | PG_P | PG_W
        ; The IDT: vector 14 -> pf_handler, a 32-bit interrupt gate (type 0xE, P, DPL 0) in CS 0x08.
        GATE    14, pf_handler
        lidt    [idtr]
        mov     eax, cr4
        or      eax, CR4_PSE
        mov     cr4, eax
        mov     eax, page_dir
        mov     cr3, eax
        mov     eax, cr0
        or      eax, CR0_PG
        mov     cr0, eax
        SAY     "paging on: CR0 "
        mov     eax, cr0
        call    hex_32
        SAY     " CR4 "
        mov     eax, cr4
        call    hex_32
        SAY     10

        ; One frame at two addresses: WINDOW and its identity address FRAME_A.
        mov     dword [WINDOW], 0x1234abcd
        SAY     "write 0x1234abcd at 0x00400000, read at 0x00300000: "
        mov     eax, [FRAME_A]
        call    hex_32
        SAY     10

        ; Demand paging: 0x401000 is not present; the handler maps FRAME_B and the write is retried.
        mov     dword [WINDOW + 0x1000], 0x600d600d
        SAY     "retried write, read at 0x00301000: "
        mov     eax, [FRAME_B]
        call    hex_32
        SAY     10

        ; A stale entry: PTE 0 now names FRAME_C, but the TLB still holds FRAME_A until INVLPG.
        mov     dword [FRAME_C], 0xcccccccc
        mov     dword [page_table], FRAME_C | PG_P | PG_W
        SAY     "PTE 0 -> 0x00302000 without INVLPG, read 0x00400000: "
        mov     eax, [WINDOW]
        call    hex_32
        SAY     10
        invlpg  [WINDOW]
        SAY     "after INVLPG: "
        mov     eax, [WINDOW]
        call    hex_32
        SAY     10

        ; A and D as the walks left them.
        SAY     "PDE 1 "
        mov     eax, [page_dir + 4]
        and     eax, 0xfff
        call    hex_32
        SAY     " PTE 1 "
        mov     eax, [page_table + 4]
        and     eax, 0xfff
        call    hex_32
        SAY     " PTE 0 "
        mov     eax, [page_table]
        and     eax, 0xfff
        call    hex_32
        SAY     10
        SAY     "paging32: done", 10
        xor     eax, eax
        out     DEBUG_EXIT, al
        cli
        hlt

; #PF: print CR2 and the error code; map FRAME_B at 0x401000 and retry, anything else stops.
pf_handler:
        pushad
        SAY     "#PF CR2 "
        mov     eax, cr2
        call    hex_32
        SAY     " error "
        mov     eax, [esp + 32]
        call    hex_32
        SAY     10
        mov     eax, cr2
        cmp     eax, WINDOW + 0x1000
        jne     .fatal
        mov     dword [page_table + 4], FRAME_B | PG_P | PG_W
        popad
        add     esp, 4                  ; the error code
        iretd
.fatal: FAIL32  "unexpected page fault"

[section .rodata]
align 8
idtr:           dw      256 * 8 - 1
                dd      idt

MB1_FLAT_END
page_dir:       resb    4096
page_table:     resb    4096
idt:            resb    256 * 8
bss_end:
