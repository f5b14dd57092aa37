package dev.pml4.cpu;

import static org.junit.jupiter.api.Assertions.*;

import dev.pml4.ffi.unicorn.X86Reg;

import org.junit.jupiter.api.Test;

/** The processor entered in 32-bit protected mode with paging off, as Multiboot leaves it. */
class ProtectedModeTest {
    /** Prints AL's byte on COM1. */
    static final String LIB = """
            %macro putc 1
                mov dx, 0x3f8
                mov al, %1
                out dx, al
            %endmacro
            %macro exit 1
                mov al, %1
                out 0xf4, al
            %endmacro
            """;

    @Test
    void entersWithTheMultibootStateAndRuns32BitCode() throws Exception {
        try (var m = ProtectedModeMachine.of(LIB + """
                mov [0x8000], eax       ; the magic
                mov [0x8004], ebx       ; the information structure
                pushfd
                pop dword [0x8008]
                mov eax, cr0
                mov [0x800c], eax
                xor eax, eax
                db 0x40                 ; INC EAX in 32-bit code (a REX prefix in 64-bit code)
                mov [0x8010], eax
                mov ebp, esp
                push eax
                sub ebp, esp
                mov [0x8014], ebp       ; the push width: 4 on a 32-bit stack
                mov ecx, 0xc0000080
                rdmsr
                mov [0x8018], eax       ; EFER as the guest sees it
                putc '3'
                putc '2'
                hlt
                """)) {
            var r = m.run();
            assertEquals(0, r.exitStatus(), r.reason().describe());
            assertEquals("32", m.serial());
            var mem = m.machine.memory();
            assertEquals(ProtectedModeMachine.MAGIC, mem.read32(0x8000));
            assertEquals(ProtectedModeMachine.INFO, mem.read32(0x8004));
            assertEquals(0, mem.read32(0x8008) & (1 << 9 | 1 << 17), "IF and VM clear");
            assertEquals(0x11, mem.read32(0x800c), "CR0 = PE | ET");
            assertEquals(1, mem.read32(0x8010), "0x40 decoded as INC EAX");
            assertEquals(4, mem.read32(0x8014), "a 32-bit stack (SS.B = 1)");
            assertEquals(0, mem.read32(0x8018), "EFER = 0: long mode is not active");
            assertEquals("protected mode", m.cpu().processorMode());
            assertTrue(m.cpu().code32());
        }
    }
}
