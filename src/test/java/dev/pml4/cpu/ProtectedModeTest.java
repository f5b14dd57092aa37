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
            // Paging off: nothing walked, nothing in the TLB (it caches paging's translations only),
            // and the engine maps identity runs of 2 MiB rather than one region per page.
            var mmu = m.machine.mmu();
            assertEquals(0, mmu.walks());
            for (var kind : dev.pml4.mmu.Tlb.Kind.values()) {
                assertEquals(java.util.List.of(), mmu.tlb().entries(kind));
            }
            var chunk = mmu.mappings().chunkAt(ProtectedModeMachine.LOAD);
            assertEquals(0, chunk.linear());
            assertEquals(2L << 20, chunk.size());
            assertEquals(0, chunk.physical());
        }
    }

    /** The loads of DS, ES, SS and their checks; 32-bit code adds the bases the GDT gives. */
    @Test
    void dataSegmentBasesApplyIn32BitCode() throws Exception {
        try (var m = ProtectedModeMachine.of(LIB + """
                mov dword [0x200100], 0x10      ; at physical 0x200100: a selector, read below through DS
                mov ax, 0x20                    ; data, base 0x200000
                mov ds, ax
                mov dword [0x10], 0xcafe        ; lands at 0x200010
                mov es, [0x100]                 ; emulated in Java: DS:0x100 is physical 0x200100
                mov eax, 0x12345678
                mov edi, 0x8000
                stosd                           ; ES = 0x10, base 0: physical 0x8000
                mov bx, ss
                mov cx, 0x20
                mov ss, cx                      ; a stack based at 0x200000: PUSH writes there
                mov esp, 0x1000
                push dword 0xbeef
                mov ss, bx
                hlt
                """)) {
            var r = m.run();
            assertEquals(0, r.exitStatus(), r.reason().describe());
            var mem = m.machine.memory();
            assertEquals(0xcafe, mem.read32(0x200010));
            assertEquals(0x12345678, mem.read32(0x8000));
            assertEquals(0xbeef, mem.read32(0x200ffc));
            assertEquals(0x10, m.cpu().ss());
        }
    }

    /**
     * Segment loads the processor refuses, each with its vector and selector error code (SDM Vol.
     * 2B MOV, POP; Vol. 2A LDS/LSS): with IDTR limit 0 the fault becomes a triple fault whose chain
     * starts with it.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
            "DS: not present             | mov ax, 0x30 \\n mov ds, ax | #NP(0x30)",
            "DS: a call gate             | mov ax, 0x50 \\n mov ds, ax | #GP(0x50)",
            "DS: beyond the GDT limit    | mov ax, 0x60 \\n mov ds, ax | #GP(0x60)",
            "DS: RPL above DPL           | mov ax, 0x13 \\n mov ds, ax | #GP(0x10)",
            "DS: the LDT                 | mov ax, 0x14 \\n mov ds, ax | #GP(0x14)",
            "ES: POP of a not present    | push dword 0x48 \\n pop es | #NP(0x48)",
            "SS: null                    | xor eax, eax \\n mov ss, ax | #GP(0x0)",
            "SS: code                    | mov ax, 0x08 \\n mov ss, ax | #GP(0x8)",
            "SS: DPL 3 at CPL 0          | mov ax, 0x43 \\n mov ss, ax | #GP(0x40)",
            "SS: not present             | mov ax, 0x48 \\n mov ss, ax | #SS(0x48)",
            "SS: LSS of a not present    | mov dword [0x8000], 0x1000 \\n mov word [0x8004], 0x48 \\n lss esp, [0x8000] | #SS(0x48)",
            "SS: POP of a code segment   | push dword 0x08 \\n pop ss | #GP(0x8)",
            "FS: LFS of data of DPL 0, RPL 3 | mov dword [0x8000], 0 \\n mov word [0x8004], 0x13 \\n lfs eax, [0x8000] | #GP(0x10)",
            "JMP far: not present        | jmp 0x30:0 | #NP(0x30)",
            "JMP far: data               | jmp 0x10:0 | #GP(0x10)",
            "JMP far: DPL 3 from CPL 0   | jmp 0x38:0 | #GP(0x38)",
            "JMP far: beyond the limit   | jmp 0x68:0 | #GP(0x68)",
            "CALL far: null              | call 0x00:0 | #GP(0x0)",
            "RETF: to a data segment     | push dword 0x10 \\n push dword 0 \\n retf | #GP(0x10)",
            "IRETD: not present          | pushfd \\n push dword 0x30 \\n push dword 0 \\n iretd | #NP(0x30)",
    })
    void refusedSegmentLoadsFaultWithTheSelector(String name, String code, String first) throws Exception {
        var fault = assertInstanceOf(StopReason.TripleFault.class, runToTheEnd(code));
        assertTrue(fault.chain().startsWith(first + " ("), fault.chain());
    }

    /** Runs lines of code (a CSV cell, lines separated by a written \\n) and then HLT; how the run ended. */
    static StopReason runToTheEnd(String lines) throws Exception {
        try (var m = ProtectedModeMachine.of(LIB + lines.replace("\\n", "\n") + "\n hlt\n")) {
            return m.run().reason();
        }
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
            "16-bit stack   | mov ax, 0x28 \\n mov ss, ax | a 16-bit stack segment",
            "a call gate    | jmp 0x50:0 | call gate, task gate or TSS",
            "16-bit operand | o16 retf | 16-bit operand size",
            "a task gate    | mov dword [0x1c], 0x8500 \\n lidt [idtr] \\n int3 \\n idtr: dw 0x7ff \\n dd 0 | IDT entry 3 is a task gate",
    })
    void whatIsNotModelledStopsWithStatus12(String name, String code, String what) throws Exception {
        var stop = assertInstanceOf(StopReason.NotModelled.class, runToTheEnd(code));
        assertEquals(12, stop.exitStatus());
        assertTrue(stop.what().contains(what), stop.what());
    }
}
