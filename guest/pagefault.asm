; pml4-image: elf
;
; pagefault — reads an address no page table maps, with no IDT loaded, and so dies.
;
; The boot page tables map only the first 4 GiB (shared/BOOT.md), so a read of
; 0x0000_0100_0000_0000 (1 TiB; PML4 index 2, an empty PML4 entry) finds P = 0 at the first
; level of the walk and raises #PF (vector 14, error code 0: not present, read, supervisor;
; CR2 = the address). Delivering it needs the IDT, but IDTR.limit is 0, so the delivery itself
; faults (#GP), the #GP cannot be delivered either, which makes a double fault (#DF), and a
; fault while delivering #DF is a triple fault: pml4 stops with status 4 and shows the chain,
; RIP (the faulting mov), CR2 = 0x10000000000 and CR3 = 0x1000.
;
; Expected: guest/pagefault.expected holds only the line printed before the read; status 4.
; Should the read ever succeed, the kernel says so and exits with status 3 (EXIT_FAIL).

%include "pml4.inc"
%include "serial.inc"

default rel

%assign UNMAPPED 0x0000010000000000

section .text
global _start
_start:
        PRINT   "pagefault: reading 0x0000010000000000, which no page table maps; expect a triple fault", 10
        mov     rbx, UNMAPPED
global faulting_read
faulting_read:
        mov     rax, [rbx]              ; #PF -> no IDT -> #GP -> #DF -> triple fault

        PRINT   "ERROR: the read of an unmapped address did not fault; it returned "
        call    serial_hex64
        NEWLINE
        mov     al, EXIT_FAIL
        call    exit_debug
