package dev.pml4.cpu;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/**
 * Exceptions and interrupts in 32-bit protected mode (EFER.LMA = 0) through the guest's 32-bit IDT
 * (SDM Vol. 3A 6.11, 6.12): 8-byte gates, the 32-bit frame with and without SS:ESP, the stack
 * switch through the 32-bit TSS, and IRETD back, to CPL 0 and to CPL 3.
 */
class ProtectedModeInterruptsTest {
    /** A 32-bit IDT (vector 0: #DE, 0x30, 0x80 at DPL 3), a TSS with SS0:ESP0 = 0x10:0x80000, and their loads. */
    static final String SETUP = """
                lgdt [gdtr]
                lidt [idtr]
                mov ax, 0x28
                ltr ax
                jmp start
            %macro gate 2                           ; handler, type and DPL byte
                dw (%1 - $$ + 0x100000) & 0xffff
                dw 0x08
                db 0, %2
                dw (%1 - $$ + 0x100000) >> 16
            %endmacro
            align 8
            gdt:
                dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
                dq 0x00cffa000000ffff               ; 0x18: 32-bit code, DPL 3
                dq 0x00cff2000000ffff               ; 0x20: data, DPL 3
                dw 103, (tss - $$ + 0x100000) & 0xffff
                db ((tss - $$ + 0x100000) >> 16) & 0xff, 0x89, 0, ((tss - $$ + 0x100000) >> 24) & 0xff
            gdtr:
                dw $ - gdt - 1
                dd gdt
            tss:
                dd 0, 0x80000, 0x10                 ; link, ESP0, SS0
                times 104 - 12 db 0
            align 8
            idt:
                gate divide_error, 0x8e
                times 0x30 - 1 dq 0
                gate int30, 0x8f                    ; a trap gate
                times 0x80 - 0x31 dq 0
                gate int80, 0xee                    ; DPL 3
            idtr:
                dw $ - idt - 1
                dd idt
            start:
            """;

    @Test
    void exceptionsAndInterruptsThroughA32BitIdt() throws Exception {
        try (var m = ProtectedModeMachine.of(ProtectedModeTest.LIB + SETUP + """
                mov esp, 0x90000
                xor ecx, ecx
                div ecx                             ; #DE: the handler skips the 2-byte DIV
                putc 'D'
                int 0x30
                putc 'T'
                push dword 0x23                     ; to CPL 3: SS, ESP, EFLAGS, CS, EIP
                push dword 0x70000
                push dword 0x3002                   ; IOPL 3
                push dword 0x1b
                push dword user
                iretd
            user:
                putc 'U'
                mov eax, 7
                int 0x80
                mov [0x8010], eax
                mov [0x8014], esp
                exit 0
            divide_error:
                mov [0x8000], esp
                add dword [esp], 2
                iretd
            int30:
                pushfd
                pop dword [0x8004]                  ; a trap gate leaves IF as it was
                iretd
            int80:
                mov [0x8008], esp
                putc 'K'
                mov eax, [esp + 12]                 ; the user ESP in the frame
                mov [0x800c], eax
                mov eax, 0x77
                iretd
                """).traced(dev.pml4.trace.TraceOptions.Format.TEXT)) {
            var r = m.run();
            assertEquals(1, r.exitStatus(), r.reason().describe());
            assertEquals("DTUK", m.serial());
            var mem = m.machine.memory();
            assertEquals(0x90000 - 12, mem.read32(0x8000), "EIP, CS, EFLAGS at the same privilege level");
            assertEquals(0x80000 - 20, mem.read32(0x8008), "SS, ESP, EFLAGS, CS, EIP on ESP0");
            assertEquals(0x70000, mem.read32(0x800c));
            assertEquals(0x77, mem.read32(0x8010));
            assertEquals(0x70000, mem.read32(0x8014));
            assertEquals(0x1b, m.cpu().cs());
            assertEquals(0x23, m.cpu().ss());
            assertEquals(3, m.cpu().cpl());
            assertEquals("protected mode", m.cpu().processorMode());
            String deliveries = String.join("\n", m.trace().lines().filter(l -> l.contains("deliver ")).toList());
            assertTrue(deliveries.contains("frame at 0x7ffec: eip=0x"), deliveries);
            assertTrue(deliveries.contains("eflags=0x3002 esp=0x70000 ss=0x23"), deliveries);
            assertFalse(deliveries.contains("rip="), deliveries);
        }
    }
}
