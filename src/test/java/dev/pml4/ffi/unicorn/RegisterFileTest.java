package dev.pml4.ffi.unicorn;


import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tracer's register snapshots read what uc_reg_read reads, RFLAGS included, whatever QEMU's lazy flags hold. */
class RegisterFileTest {
    /**
     * One instruction of each of QEMU's kinds of lazy flags (add, adc, sub, sbb, logic, inc, dec,
     * shifts, rotate, multiply, bt), the flag instructions, LAHF/SAHF, PUSHFQ, XADD, HLT.
     * Assembled with NASM from {@code mov rax, -1; mov rbx, 0x7fffffffffffffff; add rbx, 1;
     * adc rax, rbx; sub rax, 3; sbb rcx, rax; and rax, rcx; or rdx, -8; xor rsi, rsi; inc rsi;
     * dec rdi; shl rax, 3; sar rbx, 63; shr rcx, 1; rol rdx, 5; imul rax, rbx, 7; mov rax, 0x1234567;
     * mul rbx; neg rdx; cmp rax, rdx; test rax, rax; bt rax, 5; stc; std; cmc; cld;
     * clc; add r9b, 0x80; add r10w, 0x7fff; add r11d, -1; adc r12, 0; lahf; sahf; pushfq; pop r13;
     * xadd r14, r13; hlt}.
     */
    private static final byte[] CODE = HexFormat.of().parseHex(
            "48c7c0ffffffff48bbffffffffffffff7f4883c3014811d84883e8034819c14821c84883caf84831f648ffc648ffcf48c1e0"
                    + "0348c1fb3f48d1e948c1c205486bc307b86745230148f7e348f7da4839d04885c0480fbae005f9fdf5fcf84180c180664181"
                    + "c2ff7f4183c3ff4983d4009f9e9c415d4d0fc1eef4");

    @org.junit.jupiter.params.ParameterizedTest(name = "from the CPU state: {0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void snapshotsReadWhatUcRegReadReadsAtEveryInstruction(boolean fromState) {
        try (Arena arena = Arena.ofConfined(); Unicorn uc = Unicorn.openX86_64()) {
            MemorySegment code = arena.allocate(4096, 4096);
            MemorySegment stack = arena.allocate(4096, 4096);
            MemorySegment.copy(CODE, 0, code, ValueLayout.JAVA_BYTE, 0, CODE.length);
            uc.mapPointer(0x1000, 4096, Protection.READ | Protection.EXEC, code);
            uc.mapPointer(0x2000, 4096, Protection.READ | Protection.WRITE, stack);
            uc.writeRegister(X86Reg.RSP, 0x3000);
            uc.writeRegister(X86Reg.RIP, 0x1000);
            Unicorn.RegisterFile file = fromState ? uc.registerFile() : uc.registerFileByBatch();
            if (!fromState) {
                assertTrue(!file.direct());
            } else if (Unicorn.libraryVersion().equals("2.0")) {
                assertTrue(file.direct(), "Debian's 2.0.1: read from the CPU state, no call per register");
            }
            long hlt = 0x1000 + CODE.length - 1;
            long[] snapshot = new long[Unicorn.RegisterFile.LENGTH];
            int[] checked = {0};
            java.util.Set<Long> flagsSeen = new java.util.HashSet<>();
            uc.hookCode(1, 0, (address, size) -> {
                file.read(snapshot);
                for (int i = 0; i < 16; i++) {
                    assertEquals(uc.readRegister(X86Reg.GPR_BY_ENCODING[i]), snapshot[i], X86Reg.GPR_BY_ENCODING[i] + " at 0x" + Long.toHexString(address));
                }
                long rflags = uc.readRegister(X86Reg.RFLAGS);
                assertEquals(rflags, file.rflags(snapshot), "RFLAGS at 0x" + Long.toHexString(address));
                flagsSeen.add(rflags);
                checked[0]++;
                if (address == hlt) {
                    uc.stop();
                }
            });
            assertEquals(UcError.OK, uc.start(0x1000, 0, 0, 0));
            assertEquals(37, checked[0], "every instruction checked");
            assertTrue(flagsSeen.size() > 10, "the flags took many values: " + flagsSeen);
        }
    }
}
