package dev.pml4.cpu;

import static org.junit.jupiter.api.Assertions.*;

import dev.pml4.cpu.StopReason.NotModelled;
import dev.pml4.cpu.StopReason.TripleFault;
import dev.pml4.trace.TraceOptions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The kernel's own way to long mode (SDM Vol. 3A 9.8.5: CR3, CR4.PAE, EFER.LME, CR0.PG, a far jump
 * to a 64-bit code segment), the #GP of each illegal combination, far transfers both ways between
 * 64-bit and compatibility mode, and events from compatibility mode through the 64-bit IDT.
 */
class ModeTransitionsTest {
    static final String LIB = ProtectedModeTest.LIB;

    /** Identity-maps the first GiB with 2 MiB pages at 0x10000 and loads CR3. */
    static final String PAGE_TABLES = """
                mov edi, 0x10000
                xor eax, eax
                mov ecx, 3 * 1024
                rep stosd
                mov dword [0x10000], 0x11007
                mov dword [0x11000], 0x12007
                mov edi, 0x12000
                mov eax, 0x87                   ; present, writable, user, 2 MiB
                mov ecx, 512
            .pd:
                mov [edi], eax
                add eax, 0x200000
                add edi, 8
                loop .pd
                mov eax, 0x10000
                mov cr3, eax
            """;

    static final String ENABLE_PAE = """
                mov eax, cr4
                or eax, 1 << 5
                mov cr4, eax
            """;
    static final String ENABLE_LME = """
                mov ecx, 0xc0000080
                rdmsr
                or eax, 1 << 8
                wrmsr
            """;
    static final String ENABLE_PAGING = """
                mov eax, cr0
                or eax, 1 << 31
                mov cr0, eax
            """;
    static final String TO_LONG_MODE = PAGE_TABLES + ENABLE_PAE + ENABLE_LME + ENABLE_PAGING + """
                jmp 0x18:long_mode
            bits 64
            long_mode:
            """;

    /** A 64-bit IDT whose only gate, vector 0x80 (DPL 3), leads to {@code handler} in CS 0x18; and its IDTR. */
    static final String IDT_WITH_INT_0X80 = """
            align 16
            idt:
                times 0x80 dq 0, 0
                dw (handler - $$ + 0x100000) & 0xffff
                dw 0x18
                db 0, 0xee                          ; interrupt gate, DPL 3
                dw (handler - $$ + 0x100000) >> 16
                dd 0, 0
            idtr:
                dw $ - idt - 1
                dq idt
            """;

    @Test
    void theKernelSwitchesToLongModeAndRuns64BitCode() throws Exception {
        try (var m = ProtectedModeMachine.of(LIB + TO_LONG_MODE + """
                mov rax, 0x1122334455667788     ; an imm64: 64-bit decoding
                mov [0x8000], rax
                mov ecx, 0xc0000080
                rdmsr
                mov [0x8008], eax               ; EFER: LME and LMA
                mov rax, cr0
                mov [0x800c], eax
                mov [0x8010], cs
                putc 'L'
                hlt
                """).traced(TraceOptions.Format.TEXT)) {
            var r = m.run();
            assertEquals(0, r.exitStatus(), r.reason().describe());
            assertEquals("L", m.serial());
            var mem = m.machine.memory();
            assertEquals(0x1122334455667788L, mem.read64(0x8000));
            assertEquals(0x500, mem.read32(0x8008), "EFER.LME | EFER.LMA");
            assertEquals(0x80000011, mem.read32(0x800c));
            assertEquals(0x18, mem.read32(0x8010) & 0xffff);
            assertEquals("64-bit mode", m.cpu().processorMode());
            String trace = m.trace();
            assertTrue(trace.contains("mode protected mode -> compatibility mode (CS 0x8)"), trace);
            assertTrue(trace.contains("mode compatibility mode -> 64-bit mode (CS 0x18)"), trace);
            assertTrue(trace.contains("ljmp 0x18:"), "the far jump disassembled as 32-bit code");
            assertTrue(trace.contains("mov eax, cr4"), "32-bit register names in 32-bit code");
            assertTrue(trace.contains("movabs rax, 0x1122334455667788"), "64-bit code after the switch");
        }
    }

    /**
     * Each illegal combination raises #GP(0) (SDM Vol. 2B MOV to CRn, WRMSR; Vol. 3A 9.8.5). With
     * IDTR limit 0, as Multiboot leaves it, the #GP becomes a triple fault whose chain starts with it.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "PG without PE             | mov eax, 0x80000000 \\n mov cr0, eax | MOV to CR0 sets PG without PE",
            "NW without CD             | mov eax, cr0 \\n or eax, 1 << 29 \\n mov cr0, eax | MOV to CR0 sets NW without CD",
            "PG with LME but PAE clear | PAGE_TABLES LME PAGING | MOV to CR0 sets PG with EFER.LME = 1 but CR4.PAE = 0",
            "LME change while PG = 1   | TO_LONG_MODE mov ecx, 0xc0000080 \\n xor eax, eax \\n xor edx, edx \\n wrmsr | changes LME while paging is enabled",
            "PAE cleared while LMA = 1 | TO_LONG_MODE mov rax, cr4 \\n and eax, ~(1 << 5) \\n mov cr4, rax | clears PAE while IA-32e mode is active",
            "PCIDE outside IA-32e mode | mov eax, cr4 \\n or eax, 1 << 17 \\n mov cr4, eax | sets PCIDE outside IA-32e mode",
            "PG cleared in 64-bit mode | TO_LONG_MODE mov rax, cr0 \\n btr eax, 31 \\n mov cr0, rax | clears PG while in 64-bit mode",
            "EFER reserved bit         | mov ecx, 0xc0000080 \\n mov eax, 1 << 2 \\n xor edx, edx \\n wrmsr | WRMSR to IA32_EFER sets reserved bits 0x4",
    })
    void illegalCombinationsRaiseGeneralProtection(String name, String code, String reason) throws Exception {
        String source = code.replace("\\n", "\n")
                .replace("TO_LONG_MODE", TO_LONG_MODE)
                .replace("PAGE_TABLES", PAGE_TABLES).replace("LME", ENABLE_LME).replace("PAGING", ENABLE_PAGING);
        try (var m = ProtectedModeMachine.of(LIB + source + "\n hlt\n")) {
            var r = m.run();
            var fault = assertInstanceOf(TripleFault.class, r.reason(), r.reason().describe());
            assertTrue(fault.chain().startsWith("#GP(0x0) (" ), fault.chain());
            assertTrue(fault.chain().contains(reason), fault.chain());
            assertEquals(4, r.exitStatus());
        }
    }

    /**
     * CR0.PG with EFER.LME = 0 enables 32-bit or PAE paging (SDM Table 4-1): with CR3 = 0 and no
     * tables there, the next fetch walks and faults, and without an IDT that is a triple fault.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "32-bit paging | 0   | BITS_32",
            "PAE paging    | 32  | PAE",
    })
    void pagingWithoutLongModeSelectsThirtyTwoBitOrPaePaging(String name, int pae, dev.pml4.mmu.PagingMode mode) throws Exception {
        try (var m = ProtectedModeMachine.of(LIB + """
                mov eax, cr4
                or eax, %d
                mov cr4, eax
                mov eax, cr0
                or eax, 1 << 31
                mov cr0, eax
                hlt
                """.formatted(pae))) {
            var r = m.run();
            var fault = assertInstanceOf(TripleFault.class, r.reason(), r.reason().describe());
            assertTrue(fault.chain().startsWith("#PF("), fault.chain());
            assertEquals(0x8000_0011L, m.cpu().controlRegisters().cr0(), "the MOV happened");
            assertEquals(mode, m.cpu().pagingState().mode());
        }
    }

    /**
     * Far transfers both ways: JMP m16:32 from 64-bit to compatibility mode, CALL ptr16:32 from
     * compatibility mode into 64-bit code and its RETF back, RETF to 64-bit code, IRETQ to
     * compatibility mode, and INT 0x80 from compatibility mode through the 64-bit IDT and back.
     */
    @Test
    void farTransfersBetween64BitAndCompatibilityMode() throws Exception {
        try (var m = ProtectedModeMachine.of(LIB + TO_LONG_MODE + """
                mov rsp, 0x90000
                lidt [idtr]
                putc 'A'
                jmp far dword [rel to_compat]       ; FF /5, m16:32
            bits 32
            compat1:
                putc 'B'
                mov eax, esp
                mov [0x8000], eax
                call 0x18:far64                     ; 9A: into 64-bit code
                mov eax, esp
                mov [0x8004], eax                   ; balanced again
                putc 'D'
                push dword 0x18
                push dword back64
                retf                                ; 32-bit RETF to 64-bit code
            bits 64
            far64:
                mov rax, 0x8877665544332211
                mov [0x8010], rax
                putc 'C'
                retf                                ; CB in 64-bit code: 32-bit operands, to compatibility mode
            back64:
                putc 'E'
                mov rax, rsp
                push qword 0x10
                push rax
                pushfq
                push qword 0x08
                push qword compat2
                iretq                               ; to compatibility mode
            bits 32
            compat2:
                putc 'F'
                int 0x80                            ; through the 64-bit IDT, back by IRETQ
                putc 'H'
                mov eax, esp
                mov [0x8008], eax
                hlt
            bits 64
            handler:
                mov [0x8018], rsp
                putc 'G'
                iretq
            to_compat:
                dd compat1
                dw 0x08
                """ + IDT_WITH_INT_0X80).traced(TraceOptions.Format.JSONL)) {
            var r = m.run();
            assertEquals(0, r.exitStatus(), r.reason().describe());
            assertEquals("ABCDEFGH", m.serial());
            var mem = m.machine.memory();
            assertEquals(mem.read32(0x8000), mem.read32(0x8004), "CALL far and RETF leave the stack as it was");
            assertEquals(0x8877665544332211L, mem.read64(0x8010));
            assertEquals("compatibility mode", m.cpu().processorMode());
            // the frame INT 0x80 pushed from compatibility mode: RSP aligned to 16, five 8-byte slots
            long frame = mem.read64(0x8018);
            assertEquals(0x08, mem.read64(frame + 8), "CS of the compatibility-mode code");
            String trace = m.trace();
            assertEquals(9, trace.lines().filter(l -> l.contains("\"type\":\"mode\"")).count(), trace);
            assertTrue(trace.contains("{\"type\":\"mode\",") && trace.contains("\"from\":\"compatibility mode\",\"to\":\"64-bit mode\",\"cs\":\"0x18\""), trace);
        }
    }

    /**
     * A 64-bit kernel running 32-bit user code: IRETQ to a DPL 3 compatibility-mode segment, INT
     * 0x80 from there through a DPL 3 gate to the 64-bit kernel on the TSS's RSP0, IRETQ back.
     */
    @Test
    void compatibilityModeAtCpl3UnderA64BitKernel() throws Exception {
        try (var m = ProtectedModeMachine.of(LIB + TO_LONG_MODE + """
                lgdt [gdtr]
                mov ax, 0x30
                ltr ax
                lidt [idtr]
                mov rsp, 0x90000
                push qword 0x2b                     ; SS: DPL 3 data
                push qword 0x70000                  ; the user stack
                push qword 0x3002                   ; IOPL 3, so that user code may OUT
                push qword 0x23                     ; CS: DPL 3, 32-bit
                push qword user
                iretq
            bits 32
            user:
                xor eax, eax
                db 0x40                             ; INC EAX: 32-bit decoding at CPL 3
                add al, '0'
                mov dx, 0x3f8
                out dx, al
                mov eax, 0x11
                int 0x80
                mov [0x8020], eax                   ; what the kernel returned
                mov [0x8024], esp
                putc 'R'
                exit 0
            bits 64
            handler:
                mov [0x8000], rsp
                mov rax, [rsp + 8]
                mov [0x8008], rax                   ; the user CS in the frame
                mov rax, [rsp + 32]
                mov [0x8010], rax                   ; the user SS
                putc 'K'
                mov eax, 0x22
                iretq
            align 16
            gdt:
                dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff, 0x00af9a000000ffff
                dq 0x00cffa000000ffff               ; 0x20: 32-bit code, DPL 3
                dq 0x00cff2000000ffff               ; 0x28: data, DPL 3
                dw 103, (tss - $$ + 0x100000) & 0xffff
                db ((tss - $$ + 0x100000) >> 16) & 0xff, 0x89, 0, ((tss - $$ + 0x100000) >> 24) & 0xff
                dq 0                                ; 0x30: the 64-bit TSS (16 bytes)
            gdtr:
                dw $ - gdt - 1
                dq gdt
            align 16
            tss:
                dd 0
                dq 0x80000                          ; RSP0
                times 100 - 12 db 0
                """ + IDT_WITH_INT_0X80).traced(TraceOptions.Format.TEXT)) {
            var r = m.run();
            assertEquals(1, r.exitStatus(), r.reason().describe());
            assertEquals("1KR", m.serial());
            var mem = m.machine.memory();
            assertEquals(0x80000 - 40, mem.read64(0x8000), "the frame on RSP0");
            assertEquals(0x23, mem.read64(0x8008));
            assertEquals(0x2b, mem.read64(0x8010));
            assertEquals(0x22, mem.read32(0x8020));
            assertEquals(0x70000, mem.read32(0x8024));
            assertEquals(3, m.cpu().cpl());
            assertEquals("compatibility mode", m.cpu().processorMode());
            assertTrue(m.trace().contains("mode 64-bit mode -> compatibility mode (CS 0x23)"), m.trace());
        }
    }

    /** SYSCALL from 32-bit user code goes to IA32_CSTAR in 64-bit mode; SYSRET without REX.W returns to it. */
    @Test
    void syscallFromCompatibilityModeAndSysretBack() throws Exception {
        try (var m = ProtectedModeMachine.of(LIB + TO_LONG_MODE + """
                mov ecx, 0xc0000080
                rdmsr
                or eax, 1                           ; EFER.SCE
                wrmsr
                mov ecx, 0xc0000081                 ; STAR: SYSCALL CS 0x18; SYSRET base 0x38 (32-bit CS 0x3b, SS 0x43)
                xor eax, eax
                mov edx, 0x00380018
                wrmsr
                mov ecx, 0xc0000083                 ; CSTAR
                mov eax, from_compat
                xor edx, edx
                wrmsr
                mov rsp, 0x90000
                push qword 0x43
                push qword 0x70000
                push qword 0x3002
                push qword 0x3b
                push qword user
                iretq
            bits 32
            user:
                putc 'U'
                syscall
                db 0x40                             ; INC EAX: back in 32-bit code
                mov [0x8000], eax
                putc 'R'
                exit 0
            bits 64
            from_compat:
                mov [0x8008], rcx                   ; where SYSRET goes
                putc 'K'
                mov eax, 0x41
                sysret                              ; without REX.W: to compatibility mode
                """)) {
            var r = m.run();
            assertEquals(1, r.exitStatus(), r.reason().describe());
            assertEquals("UKR", m.serial());
            assertEquals(0x42, m.machine.memory().read32(0x8000));
            assertEquals("compatibility mode", m.cpu().processorMode());
            assertEquals(0x3b, m.cpu().cs());
        }
    }
}
