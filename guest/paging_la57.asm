; pml4-image: flat
;
; paging_la57 — 5-level paging (SDM Vol. 3A 4.5) from a Multiboot 1 kernel: it sets CR4.LA57
; while paging is off (CPUID.(EAX=7,ECX=0):ECX[16] says it may), builds a PML5, enters long mode
; itself, and maps a page at 2^48 (PML5E 1), above what 4-level paging can reach. A #PF at
; 2^48 + 0x1000 goes through its 64-bit IDT, the handler maps the page, IRETQ retries; a stale
; PTE lasts until INVLPG; 0x0000800000000000 is canonical with 57-bit addresses (a #PF, not a
; #GP), 0x0100000000000000 is not (#GP); A and D read back; MOV to CR4 changing LA57 in IA-32e
; mode is #GP.
;
; Expected: paging_la57.expected, status 1.

%include "mb1_flat_header.inc"
%include "multiboot.inc"

PG_P            equ 1
PG_W            equ 2
PG_PS           equ 0x80
CR4_LA57        equ 1 << 12
FRAME_A         equ 0x300000
FRAME_B         equ 0x301000
FRAME_C         equ 0x302000
HIGH            equ 0x0001000000000000  ; PML5E 1, PML4E 0, PDPTE 0, PDE 0, PTE 0
LOW_HALF_TOP    equ 0x0000800000000000  ; non-canonical with 48 bits, canonical with 57
NON_CANONICAL   equ 0x0100000000000000  ; bit 56 set, bits 63:57 clear

_start:
        mov     esp, lm_stack_top
        SAY     "paging_la57: 5-level paging, 57-bit linear addresses", 10
        mov     eax, 7
        xor     ecx, ecx
        cpuid
        SAY     "CPUID.7.0:ECX[16] (LA57) = "
        mov     eax, ecx
        shr     eax, 16
        and     eax, 1
        call    dec_32
        SAY     10
        ; Low half: PML5E 0 -> PML4 -> PDPT -> PD of 2 MiB identity pages for the first 1 GiB.
        mov     dword [pml5], pml4_lo + PG_P + PG_W
        mov     dword [pml4_lo], pdpt_lo + PG_P + PG_W
        mov     dword [pdpt_lo], pd_lo + PG_P + PG_W
        xor     ecx, ecx
.pde:   mov     eax, ecx
        shl     eax, 21
        or      eax, PG_P | PG_W | PG_PS
        mov     [pd_lo + ecx * 8], eax
        inc     ecx
        cmp     ecx, 512
        jb      .pde
        ; 2^48: PML5E 1 -> its own PML4 -> PDPT -> PD -> PT, PTE 0 = FRAME_A.
        mov     dword [pml5 + 8], pml4_hi + PG_P + PG_W
        mov     dword [pml4_hi], pdpt_hi + PG_P + PG_W
        mov     dword [pdpt_hi], pd_hi + PG_P + PG_W
        mov     dword [pd_hi], pt_hi + PG_P + PG_W
        mov     dword [pt_hi], FRAME_A | PG_P | PG_W
        mov     eax, cr4
        or      eax, CR4_PAE | CR4_LA57         ; LA57 changes only with paging off
        mov     cr4, eax
        mov     eax, pml5
        mov     cr3, eax
        mov     ecx, MSR_EFER
        rdmsr
        or      eax, EFER_LME
        wrmsr
        lgdt    [lm_gdtr]
        mov     eax, cr0
        or      eax, CR0_PG
        mov     cr0, eax
        jmp     CODE64_SELECTOR:entry64

bits 64
%macro PHEX64 1
        push    rax
        push    rdx
        mov     rax, %1
        mov     rdx, rax
        shr     rdx, 32
        call    hex64_64
        pop     rdx
        pop     rax
%endmacro

%macro GATE64 2
        mov     rax, %2
        mov     word [idt64 + %1 * 16], ax
        mov     word [idt64 + %1 * 16 + 2], CODE64_SELECTOR
        mov     word [idt64 + %1 * 16 + 4], 0x8e00
        shr     rax, 16
        mov     word [idt64 + %1 * 16 + 6], ax
        mov     dword [idt64 + %1 * 16 + 8], 0
%endmacro

entry64:
        mov     ax, DATA64_SELECTOR
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     esp, lm_stack_top
        GATE64  14, pf_handler
        GATE64  13, gp_handler
        lidt    [idtr64]
        SAY     "long mode: CR4 "
        mov     rax, cr4
        PHEX64  rax
        SAY     10

        mov     rbx, HIGH
        mov     dword [rbx], 0x57575757
        SAY     "write at 0x0001000000000000, read at 0x00300000: "
        mov     eax, [FRAME_A]
        call    hex_64
        SAY     10

        mov     dword [rbx + 0x1000], 0x600d600d
        SAY     "retried write, read at 0x00301000: "
        mov     eax, [FRAME_B]
        call    hex_64
        SAY     10

        mov     dword [FRAME_C], 0xcccccccc
        mov     eax, [rbx]
        mov     dword [pt_hi], FRAME_C | PG_P | PG_W
        SAY     "PTE 0 -> 0x00302000 without INVLPG, read 0x0001000000000000: "
        mov     eax, [rbx]
        call    hex_64
        SAY     10
        invlpg  [rbx]
        SAY     "after INVLPG: "
        mov     eax, [rbx]
        call    hex_64
        SAY     10

        SAY     "read 0x0000800000000000:", 10
        mov     rcx, LOW_HALF_TOP
        mov     eax, [rcx]
resume1:
        SAY     "read 0x0100000000000000:", 10
        mov     rcx, NON_CANONICAL
        mov     eax, [rcx]
resume2:
        SAY     "MOV to CR4 clearing LA57 in IA-32e mode:", 10
        mov     rax, cr4
        and     rax, ~CR4_LA57
        mov     cr4, rax
resume3:
        SAY     "PML5E 1 "
        mov     eax, [pml5 + 8]
        and     eax, 0xfff
        call    hex_64
        SAY     " PTE 1 "
        mov     eax, [pt_hi + 8]
        and     eax, 0xfff
        call    hex_64
        SAY     10
        SAY     "paging_la57: done", 10
        xor     eax, eax
        jmp     exit_64

; #PF: maps 2^48 + 0x1000 and retries; the read of 0x0000800000000000 resumes at resume1.
pf_handler:
        push    rax
        SAY     "#PF CR2 "
        mov     rax, cr2
        PHEX64  rax
        SAY     " error "
        mov     rax, [rsp + 8]
        PHEX64  rax
        SAY     10
        mov     rax, cr2
        cmp     rax, rbx
        je      .fail
        mov     rax, cr2
        sub     rax, rbx
        cmp     rax, 0x1000
        je      .map
        mov     rax, cr2
        mov     rcx, LOW_HALF_TOP
        cmp     rax, rcx
        jne     .fail
        mov     qword [rsp + 16], resume1
        jmp     .back
.map:   mov     dword [pt_hi + 8], FRAME_B | PG_P | PG_W
.back:  pop     rax
        add     rsp, 8
        iretq
.fail:  SAY     "FAIL: unexpected page fault", 10
        mov     al, 1
        jmp     exit_64

; #GP: the non-canonical read resumes at resume2, the MOV to CR4 at resume3.
gp_handler:
        push    rax
        SAY     "#GP error "
        mov     rax, [rsp + 8]
        PHEX64  rax
        SAY     10
        mov     rax, [rsp + 16]
        cmp     rax, resume2
        jb      .first
        mov     qword [rsp + 16], resume3
        jmp     .back
.first: mov     qword [rsp + 16], resume2
.back:  pop     rax
        add     rsp, 8
        iretq

[section .rodata]
align 8
idtr64:         dw      256 * 16 - 1
                dq      idt64

MB1_FLAT_END
pml5:           resb    4096
pml4_lo:        resb    4096
pdpt_lo:        resb    4096
pd_lo:          resb    4096
pml4_hi:        resb    4096
pdpt_hi:        resb    4096
pd_hi:          resb    4096
pt_hi:          resb    4096
idt64:          resb    256 * 16
bss_end:
