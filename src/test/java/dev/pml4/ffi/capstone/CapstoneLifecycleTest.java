package dev.pml4.ffi.capstone;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CapstoneLifecycleTest {

    @Test
    void closeIsIdempotentAndUseAfterCloseThrows() {
        Capstone cs = Capstone.openX86_64();
        assertEquals("hlt", cs.decode(new byte[] {(byte) 0xf4}, 0).orElseThrow().mnemonic());
        cs.close();
        cs.close();
        assertThrows(IllegalStateException.class, () -> cs.decode(new byte[] {(byte) 0xf4}, 0));
        assertThrows(IllegalStateException.class, () -> cs.decode(MemorySegment.ofArray(new byte[] {(byte) 0xf4}), 0));
        assertThrows(IllegalStateException.class, () -> cs.registerName(35));
    }

    @Test
    void twoHandlesAreIndependent() {
        try (Capstone a = Capstone.openX86_64()) {
            Capstone b = Capstone.openX86_64();
            try {
                var fromA = a.decode(Hex.bytes("0f 22 d8"), 0x1000).orElseThrow();
                var fromB = b.decode(Hex.bytes("48 cf"), 0x2000).orElseThrow();
                assertEquals("mov cr3, rax", fromA.text());
                assertEquals("iretq", fromB.text());
            } finally {
                b.close();
            }
            // closing one handle leaves the other working
            assertEquals("hlt", a.decode(new byte[] {(byte) 0xf4}, 0).orElseThrow().text());
        }
    }

    @Test
    void openAndCloseManyHandles() {
        // each handle's cs_insn, detail and scratch are freed on close; this would grow the
        // native heap by ~2 KiB a round otherwise
        for (int i = 0; i < 2_000; i++) {
            try (Capstone cs = Capstone.openX86_64()) {
                cs.decode(new byte[] {(byte) 0xf4}, 0).orElseThrow();
            }
        }
    }

    @Test
    void twoHundredThousandDecodesInOneHandle() {
        // a stretch of kernel code, walked instruction by instruction, over and over
        byte[] code = Hex.bytes("0f 22 d8  0f 01 38  48 8b 44 c8 10  cd 80  0f 30  66 0f 38 82 08  ee  48 cf");
        MemorySegment segment = MemorySegment.ofArray(code);
        int decoded = 0;
        long registerOperands = 0;
        try (Capstone cs = Capstone.openX86_64()) {
            while (decoded < 200_000) {
                long offset = 0;
                while (offset < code.length && decoded < 200_000) {
                    Instruction i = cs.decode(segment.asSlice(offset), 0x1000 + offset).orElseThrow();
                    registerOperands += i.operands().stream().filter(o -> o instanceof Operand.Register).count();
                    offset += i.length();
                    decoded++;
                }
                if (offset == code.length) {
                    assertEquals(code.length, offset);
                }
            }
        }
        assertEquals(200_000, decoded);
        // per pass of 8 instructions: mov(2) invlpg(0) mov(1) int(0) wrmsr(0) invpcid(1) out(2) iretq(0) = 6
        assertEquals(200_000 / 8 * 6, registerOperands);
    }
}
