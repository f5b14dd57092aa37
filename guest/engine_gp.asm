; pml4-image: elf
;
; engine_gp — general-protection faults the execution engine runs into, several in a row:
; CMPXCHG16B on one that is not (vol. 2A CMPXCHG8B/CMPXCHG16B: #GP(0)), and LDMXCSR or FXRSTOR
; loading an MXCSR with a reserved bit set (vol. 2A LDMXCSR, FXRSTOR: #GP(0)). Each is a fault of its own: the handler sees vector
; 13, error code 0 and the faulting RIP, and resumes after the instruction, so the next one is a
; first fault again, never a double fault (SDM vol. 3A 6.15, interrupt 8: only a fault while
; delivering another makes a #DF).
; Expected: guest/engine_gp.expected, status 1.

%include "pml4.inc"
%include "serial.inc"
%include "paging.inc"
%include "idt.inc"
%include "faultcase.inc"

default rel

section .bss
alignb 16
buffer:         resb 64
fx_area:        resb 512
mxcsr_bad:      resq 1

%macro CASE 2+
        PRINT   %1
        EXPECT_FAULT %%site, %%after
        lea     rsi, [rel buffer + 1]           ; not 16-byte aligned
%%site: %2
%%after:
        ONE_FAULT_TAKEN
%endmacro

section .rodata
mxcsr_good:     dd 0x1f80

section .text
global _start
_start:
        call    idt_init
        ISR     VEC_GP, on_gp
        ISR     8, on_df
        PRINT   "engine_gp: #GP(0) the engine runs into, one after another", 10
        mov     dword [rel mxcsr_bad], 0xffff0000  ; reserved bits 31:16
        CASE    "  cmpxchg16b [misaligned]       ", cmpxchg16b [rsi]
        CASE    "  ldmxcsr with reserved bits    ", ldmxcsr [rel mxcsr_bad]
        CASE    "  cmpxchg16b [misaligned] again ", cmpxchg16b [rsi]
        CASE    "  ldmxcsr again                 ", ldmxcsr [rel mxcsr_bad]
        fxsave  [rel fx_area]
        or      dword [rel fx_area + 24], 0x10000  ; MXCSR in the FXSAVE area, a reserved bit set
        CASE    "  fxrstor, MXCSR bit 16 set     ", fxrstor [rel fx_area]
        ldmxcsr [rel mxcsr_good]                ; a valid MXCSR loads without a fault
        stmxcsr [rel mxcsr_bad]
        CHECK_EQ qword [rel mxcsr_bad], 0x1f80, "MXCSR after LDMXCSR 0x1f80"
        PRINT   "engine_gp: ok, no #DF", 10
        mov     al, EXIT_OK
        call    exit_debug

on_gp:
        push    rbx
        mov     rbx, rdi
        FAULT_TAKEN
        PRINT   "#GP("
        PUTHEX  qword [rbx + F_ERROR]
        PRINT   ")"
        mov     rax, [rbx + F_RIP]
        cmp     rax, [rel expect_rip]
        je      .ok
        PRINT   ", RIP NOT the instruction"
.ok:    NEWLINE
        FAULT_RESUME
        pop     rbx
        ret

on_df:
        PRINT   "FAIL: #DF", 10
        mov     al, EXIT_FAIL
        call    exit_debug
