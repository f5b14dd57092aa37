; pml4-image: elf
;
; demo — the kernel `make run` boots: the MMU at work, in a dozen lines of output.
;
; 1. It builds its own four-level page tables (SDM vol. 3A, 4.5) in frames it takes, zeroed,
;    from the first free physical address the loader reports (shared/BOOT.md, boot info +40):
;      - an identity map of the first 4 MiB with two 2 MiB pages, so that its code, stack,
;        boot info and the new tables themselves stay where they are;
;      - a higher-half alias of the kernel, 0xFFFFFFFF80000000 + phys, with 4 KiB pages;
;      - ONE data frame mapped at TWO virtual addresses, ALIAS_A and ALIAS_B below.
; 2. It loads CR3 with its PML4 and jumps to its own higher-half alias (the RIP it prints
;    before and after is the same code at two virtual addresses).
; 3. It writes a value through ALIAS_A and reads it back through ALIAS_B.
; 4. It reads the two leaf PTEs back: the page walker set Accessed in both and Dirty only in
;    the one written through (SDM 4.8); the kernel wrote them with A = D = 0.
; Then cli; hlt: status 0.
;
; Physical layout (kernel.ld, boot info of a default run): kernel 0x100000-0x102030, first free
; 0x103000; the tables take 0x103000-0x10efff in the order they are needed, and the data frame
; is 0x109000. See guest/demo.expected.
;
; Registers: rbx = boot info throughout. The helpers below preserve every register they do not
; return a value in. No IDT: a mistake here is a triple fault (status 4).

%include "pml4.inc"
%include "serial.inc"

default rel

%assign IDENTITY_END    0x400000                ; identity-map [0, 4 MiB)
%assign ALIAS_A         0x0000004000000000      ; PML4[0]   PDPT[256] PD[0]   PT[0]
%assign ALIAS_B         0xFFFF8000DEAD0000      ; PML4[256] PDPT[3]   PD[245] PT[208]
%assign VALUE           0x00C0FFEE5CA1AB1E

%assign TABLE_FLAGS     PTE_P | PTE_RW          ; non-leaf entries: present, writable, supervisor
%assign PAGE_FLAGS      PTE_P | PTE_RW          ; 4 KiB leaves (A = D = 0: the walker sets them)
%assign LARGE_FLAGS     PTE_P | PTE_RW | PTE_PS ; 2 MiB leaves

section .bss
alignb 8
next_free:      resq 1          ; the frame allocator: next free physical frame
pml4_phys:      resq 1          ; the new PML4
data_frame:     resq 1          ; the frame behind ALIAS_A and ALIAS_B
pte_a:          resq 1          ; physical address of ALIAS_A's PTE
pte_b:          resq 1          ; physical address of ALIAS_B's PTE
pages:          resq 1          ; number of 4 KiB pages in the kernel alias

section .text
global _start
_start:
        cld
        mov     rbx, rdi                        ; boot info

        PRINT   "pml4 demo: this kernel builds its own page tables", 10

        ; --- 1. new tables, from the first free frame on
        mov     rax, [rbx + BI_FIRST_FREE]
        mov     [next_free], rax
        call    alloc_frame
        mov     [pml4_phys], rax
        PRINT   "  PML4 at "
        call    serial_hex64
        PRINT   ", frames from the boot info's first free address", 10

        ; identity map [0, IDENTITY_END) with 2 MiB pages
        xor     edi, edi
        mov     edx, LARGE_FLAGS
.identity:
        mov     rsi, rdi
        call    map_page
        add     rdi, LARGE_PAGE_SIZE
        cmp     rdi, IDENTITY_END
        jb      .identity
        PRINT   "  identity 0x0000000000000000-"
        PUTHEX64 IDENTITY_END - 1
        PRINT   ": 2 MiB pages (code, stack, tables)", 10

        ; higher-half alias of the kernel: KERNEL_HIGH_BASE + phys -> phys, 4 KiB pages
        mov     rsi, [rbx + BI_KERNEL_START]
        mov     r12, [rbx + BI_KERNEL_END]
        ALIGN_UP r12, PAGE_SIZE
        mov     edx, PAGE_FLAGS
        mov     r13, KERNEL_HIGH_BASE
.alias:
        lea     rdi, [r13 + rsi]
        call    map_page
        inc     qword [pages]
        add     rsi, PAGE_SIZE
        cmp     rsi, r12
        jb      .alias
        PRINT   "  alias    "
        mov     rax, [rbx + BI_KERNEL_START]
        add     rax, r13
        call    serial_hex64
        PRINT   " -> "
        PUTHEX64 qword [rbx + BI_KERNEL_START]
        PRINT   ": "
        PUTDEC  qword [pages]
        PRINT   " pages of 4 KiB (this kernel)", 10

        ; one data frame, two virtual addresses
        call    alloc_frame
        mov     [data_frame], rax
        mov     rsi, rax
        mov     edx, PAGE_FLAGS
        mov     rdi, ALIAS_A
        call    map_page
        mov     [pte_a], rax
        mov     rdi, ALIAS_B
        call    map_page
        mov     [pte_b], rax
        PRINT   "  data frame "
        PUTHEX64 rsi
        PRINT   " mapped twice:", 10
        mov     rdi, ALIAS_A
        call    print_walk
        mov     rdi, ALIAS_B
        call    print_walk

        ; after the switch the tables are reached through the identity map only
        cmp     qword [next_free], IDENTITY_END
        ja      tables_too_high

        ; --- 2. switch to the new tables, then to the higher half
        mov     rax, [pml4_phys]
        PRINT   "mov cr3, "
        call    serial_hex64
        mov     cr3, rax                        ; from here on only the new tables count
        PRINT   ": the new tables are live", 10
        PRINT   "  rip "
        lea     rax, [rel $]
        call    serial_hex64
        PRINT   " (identity map)", 10

        lea     rax, [rel .high]                ; .high's physical = identity address
        add     rax, r13                        ; + KERNEL_HIGH_BASE: its higher-half alias
        jmp     rax
.high:
        PRINT   "jmp to the higher-half alias", 10
        PRINT   "  rip "
        lea     rax, [rel $]
        call    serial_hex64
        PRINT   " (same code, another address)", 10

        ; --- 3. write through one address, read through the other
        mov     r14, [pte_a]                    ; the two leaf PTEs, reached through the
        mov     r15, [pte_b]                    ; identity map
        PRINT   "fresh PTEs: "
        PUTHEX64 qword [r14]
        PRINT   " and "
        PUTHEX64 qword [r15]
        PRINT   ", A=0 D=0", 10

        mov     rax, VALUE
        mov     r8, ALIAS_A
        mov     r9, ALIAS_B
        mov     [r8], rax                       ; write through ALIAS_A
        PRINT   "write "
        call    serial_hex64
        PRINT   " to   "
        PUTHEX64 r8
        NEWLINE
        mov     rdx, [r9]                       ; read through ALIAS_B
        PRINT   "read  "
        PUTHEX64 rdx
        PRINT   " from "
        PUTHEX64 r9
        cmp     rdx, rax
        jne     alias_broken
        PRINT   ": one frame, two addresses", 10

        ; --- 4. what the page walker wrote back into the PTEs
        mov     rdi, r8
        mov     rax, [r14]
        call    print_pte
        PRINT   " (written through)", 10
        mov     rdi, r9
        mov     rax, [r15]
        call    print_pte
        PRINT   " (only read through)", 10

        PRINT   "done: cli; hlt", 10
        POWEROFF

tables_too_high:
        PRINT   "ERROR: the page tables would lie above the 4 MiB identity map", 10
        mov     al, EXIT_FAIL
        call    exit_debug

alias_broken:
        PRINT   ": DIFFERENT, the two addresses do not reach one frame", 10
        mov     al, EXIT_FAIL
        call    exit_debug

; alloc_frame: rax = the next free physical frame, zeroed. (Before the CR3 switch the boot
; identity map of 4 GiB reaches it; the caller checks it stays below IDENTITY_END.)
alloc_frame:
        push    rcx
        push    rdi
        mov     rax, [next_free]
        lea     rcx, [rax + PAGE_SIZE]
        mov     [next_free], rcx
        push    rax
        mov     rdi, rax
        xor     eax, eax
        mov     ecx, PAGE_SIZE / 8
        rep stosq
        pop     rax
        pop     rdi
        pop     rcx
        ret

; map_page: one translation in the tables rooted at [pml4_phys].
;   rdi = virtual address, rsi = physical address (both aligned to the page size)
;   rdx = flags of the leaf entry; with PTE_PS the leaf is a PDE (2 MiB page), else a PTE
; Missing tables on the way are allocated and linked with TABLE_FLAGS.
; Out: rax = physical address of the leaf entry.
map_page:
        push    rbx
        push    rcx
        push    r8
        mov     rbx, [pml4_phys]                ; the table of the current level
        mov     ecx, 39                         ; shift of this level's index: 39, 30, 21, 12
        mov     r8d, 12                         ; shift of the leaf's level
        test    edx, PTE_PS
        jz      .walk
        mov     r8d, 21
.walk:
        mov     rax, rdi
        shr     rax, cl
        and     eax, ENTRIES_PER_TABLE - 1
        lea     rax, [rbx + rax * 8]            ; the entry for rdi in this table
        cmp     ecx, r8d
        je      .leaf
        mov     rbx, [rax]
        test    bl, PTE_P
        jnz     .descend
        mov     rbx, rax                        ; no table below yet: make one
        call    alloc_frame
        or      rax, TABLE_FLAGS
        mov     [rbx], rax
        mov     rbx, rax
.descend:
        mov     rax, PTE_ADDR_MASK
        and     rbx, rax                        ; the next table's physical address
        sub     ecx, 9
        jmp     .walk
.leaf:
        mov     rbx, rsi
        or      rbx, rdx
        mov     [rax], rbx
        pop     r8
        pop     rcx
        pop     rbx
        ret

; print_walk: "    <rdi> = PML4[i] PDPT[j] PD[k] PT[l]" and a newline.
print_walk:
        push    rax
        PRINT   "    "
        PUTHEX64 rdi
        PRINT   " = PML4["
        mov     rax, rdi
        shr     rax, 39
        call    .index
        PRINT   "] PDPT["
        mov     rax, rdi
        shr     rax, 30
        call    .index
        PRINT   "] PD["
        mov     rax, rdi
        shr     rax, 21
        call    .index
        PRINT   "] PT["
        mov     rax, rdi
        shr     rax, 12
        call    .index
        PRINT   "]", 10
        pop     rax
        ret
.index:
        and     eax, ENTRIES_PER_TABLE - 1
        jmp     serial_dec

; print_pte: "PTE of <rdi>: <rax> A=a D=d" (rax = the PTE's value), no newline.
print_pte:
        PRINT   "PTE of "
        PUTHEX64 rdi
        PRINT   ": "
        call    serial_hex64
        PRINT   " A="
        bt      rax, 5                          ; PTE_A
        call    .bit
        PRINT   " D="
        bt      rax, 6                          ; PTE_D
.bit:                                           ; print CF as 0 or 1
        push    rax
        mov     al, '0'
        adc     al, 0
        call    serial_putc
        pop     rax
        ret
