; pml4-image: flat
;
; paging_pae — PAE paging (SDM Vol. 3A 4.4) from a Multiboot 1 kernel in 32-bit protected mode:
; a 32-byte PDPT at CR3[31:5] (not page-aligned here), 8-byte PDEs and PTEs, 2 MiB pages. It
; proves the PDPTE-register rule (4.4.1): a PDPTE written in memory is not used until MOV to CR3
; loads the registers again, and MOV to CR3 with a reserved bit in a present PDPTE is #GP(0).
; Its #PF handler maps a missing page and IRETD retries; a stale PTE lasts until INVLPG; XD with
; EFER.NXE makes a fetch fault with I/D set; A and D read back.
;
; Expected: paging_pae.expected, status 1.

%include "mb1_flat_header.inc"
%include "multiboot.inc"

PG_P            equ 1
PG_W            equ 2
PG_PS           equ 0x80
EFER_NXE        equ 1 << 11
WINDOW          equ 0x400000            ; PDE 2 -> page_table
FRAME_A         equ 0x300000            ; inside the 2 MiB identity page at 0x200000
FRAME_B         equ 0x301000
FRAME_C         equ 0x302000
FRAME_D         equ 0x303000            ; code, mapped execute-disable at WINDOW + 0x2000
HIGH            equ 0x40100000          ; PDPTE 1 -> pd1, whose PDE 0 maps 0x200000 (2 MiB)
PDPT            equ pae_page + 0x20     ; CR3 bits 11:5 matter under PAE paging

_start:
        mov     esp, lm_stack_top
        SAY     "paging_pae: PAE paging, 8-byte entries, PDPT at CR3[31:5]", 10
        mov     dword [PDPT], pd0 + PG_P                  ; PDPTE 0: P only (bits 2:1 are reserved)
        mov     dword [pd0], PG_P | PG_W | PG_PS          ; 0x000000: 2 MiB identity
        mov     dword [pd0 + 8], 0x200000 | PG_P | PG_W | PG_PS
        mov     dword [pd0 + 16], page_table + PG_P + PG_W
        mov     dword [page_table], FRAME_A | PG_P | PG_W
        mov     dword [pd1], 0x200000 | PG_P | PG_W | PG_PS
        mov     byte [FRAME_D], 0xc3                      ; ret
        mov     dword [page_table + 16], FRAME_D | PG_P | PG_W
        mov     dword [page_table + 16 + 4], 0x80000000   ; XD
        GATE    14, pf_handler
        GATE    13, gp_handler
        lidt    [idtr]
        mov     ecx, MSR_EFER
        rdmsr
        or      eax, EFER_NXE
        wrmsr
        mov     eax, cr4
        or      eax, CR4_PAE
        mov     cr4, eax
        mov     eax, PDPT
        mov     cr3, eax
        mov     eax, cr0
        or      eax, CR0_PG
        mov     cr0, eax
        SAY     "paging on: CR0 "
        mov     eax, cr0
        call    hex_32
        SAY     " CR3 "
        mov     eax, cr3
        call    hex_32
        SAY     " CR4 "
        mov     eax, cr4
        call    hex_32
        SAY     10

        mov     dword [WINDOW], 0x1234abcd
        SAY     "write 0x1234abcd at 0x00400000, read at 0x00300000: "
        mov     eax, [FRAME_A]
        call    hex_32
        SAY     10

        ; PDPTE 1 written in memory: the registers still say not present until CR3 is loaded.
        mov     dword [PDPT + 8], pd1 + PG_P
        SAY     "PDPTE 1 written in memory, read 0x40100000:", 10
        mov     eax, [HIGH]
        SAY     "read 0x40100000 after the reload: "
        call    hex_32
        SAY     10

        ; A reserved bit (bit 1) in a present PDPTE: MOV to CR3 is #GP(0) and changes nothing.
        mov     dword [PDPT + 24], pd1 + PG_P + PG_W
        SAY     "PDPTE 3 with reserved bit 1, MOV to CR3:", 10
        mov     eax, PDPT
        mov     cr3, eax
        SAY     "MOV to CR3 done after the handler cleared PDPTE 3", 10

        mov     dword [WINDOW + 0x1000], 0x600d600d
        SAY     "retried write, read at 0x00301000: "
        mov     eax, [FRAME_B]
        call    hex_32
        SAY     10

        mov     dword [FRAME_C], 0xcccccccc
        mov     eax, [WINDOW]           ; the MOVs to CR3 above flushed it: cache it again
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

        SAY     "call 0x00402000 (XD, EFER.NXE = 1):", 10
        call    WINDOW + 0x2000
xd_done:
        add     esp, 4                  ; the return address the CALL pushed

        SAY     "PDE 2 "
        mov     eax, [pd0 + 16]
        and     eax, 0xfff
        call    hex_32
        SAY     " PTE 1 "
        mov     eax, [page_table + 8]
        and     eax, 0xfff
        call    hex_32
        SAY     " PDPTE 0 "
        mov     eax, [PDPT]
        and     eax, 0xfff
        call    hex_32
        SAY     10
        SAY     "paging_pae: done", 10
        xor     eax, eax
        out     DEBUG_EXIT, al
        cli
        hlt

; #PF: CR2 and the error code; three faults are expected and fixed, then retried.
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
        cmp     eax, HIGH
        je      .reload
        cmp     eax, WINDOW + 0x1000
        je      .map
        cmp     eax, WINDOW + 0x2000
        je      .xd
        FAIL32  "unexpected page fault"
.reload:
        SAY     "  handler: MOV to CR3 reloads the PDPTE registers", 10
        mov     eax, cr3
        mov     cr3, eax
        jmp     .back
.map:   mov     dword [page_table + 8], FRAME_B | PG_P | PG_W
        jmp     .back
.xd:    mov     dword [esp + 36], xd_done   ; resume after the CALL instead
.back:  popad
        add     esp, 4                  ; the error code
        iretd

; #GP: the MOV to CR3 with a bad PDPTE; clear PDPTE 3 and retry it.
gp_handler:
        pushad
        SAY     "#GP error "
        mov     eax, [esp + 32]
        call    hex_32
        SAY     " CR3 still "
        mov     eax, cr3
        call    hex_32
        SAY     10
        mov     dword [PDPT + 24], 0
        popad
        add     esp, 4
        iretd

[section .rodata]
align 8
idtr:           dw      256 * 8 - 1
                dd      idt

MB1_FLAT_END
pae_page:       resb    4096
pd0:            resb    4096
pd1:            resb    4096
page_table:     resb    4096
idt:            resb    256 * 8
bss_end:
