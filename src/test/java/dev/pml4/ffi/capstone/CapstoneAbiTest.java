package dev.pml4.ffi.capstone;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fails loudly when the installed libcapstone is not the capstone 4.0.2 whose struct offsets
 * {@link Abi} hard-codes. Each test reads a different part of cs_insn / cs_x86 / cs_x86_op, with
 * expected values taken from a C program compiled against /usr/include/capstone.
 */
class CapstoneAbiTest {
    private static Capstone cs;

    @BeforeAll
    static void open() {
        cs = Capstone.openX86_64();
    }

    @AfterAll
    static void close() {
        cs.close();
    }

    private static Instruction decode(String hex, long address) {
        return cs.decode(Hex.bytes(hex), address).orElseThrow(() -> new AssertionError("no instruction: " + hex));
    }

    @Test
    void libraryIsCapstone40() {
        int version = Capstone.libraryVersion();
        assertEquals(4, version >>> 8, "major");
        assertEquals(0, version & 0xFF, "minor");
    }

    @Test
    void insnHeaderFields() {
        // cs_insn: id@0, address@8, size@16, bytes@18, mnemonic@34, op_str@66
        Instruction i = decode("0f 22 d8", 0xffff_8000_0010_0000L);
        assertEquals(449, i.id(), "X86_INS_MOV in capstone 4.0.2's x86.h");
        assertEquals(0xffff_8000_0010_0000L, i.address());
        assertEquals(3, i.length());
        assertArrayEquals(Hex.bytes("0f 22 d8"), i.bytes());
        assertEquals("mov", i.mnemonic());
        assertEquals("cr3, rax", i.operandText());
    }

    @Test
    void registerIdsAndNames() {
        // x86_reg in capstone 4.0.2's x86.h
        assertEquals("al", cs.registerName(2));
        assertEquals("fs", cs.registerName(32));
        assertEquals("rax", cs.registerName(35));
        assertEquals("rip", cs.registerName(41));
        assertEquals("rsp", cs.registerName(44));
        assertEquals("cr3", cs.registerName(53));
        assertEquals("r15w", cs.registerName(Abi.X86_REG_ENDING - 1));
        assertThrows(IllegalArgumentException.class, () -> cs.registerName(Abi.X86_REG_INVALID));
        assertThrows(IllegalArgumentException.class, () -> cs.registerName(Abi.X86_REG_ENDING));
        assertThrows(IllegalArgumentException.class, () -> cs.registerName(-1));
    }

    @Test
    void everyMemoryFieldAndPrefixSlot() {
        // fs: opsize addrsize; cs_x86.prefix[1..3], addr_size, x86_op_mem segment/base/index/scale/disp
        Instruction i = decode("64 66 67 8b 44 c8 10", 0x1000);
        assertEquals("ax, word ptr fs:[eax + ecx*8 + 0x10]", i.operandText());
        assertEquals(new Instruction.Prefixes(0, 0x64, true, true, 0), i.prefixes());
        assertEquals(4, i.addressSize());
        assertEquals(List.of(new Operand.Register("ax", 2), new Operand.Memory("fs", "eax", "ecx", 8, 0x10, 2)),
                i.operands());
    }

    @Test
    void rexAndLockSlots() {
        // cs_x86.rex and prefix[0]
        Instruction i = decode("f0 48 0f b1 0b", 0x1000);
        assertEquals("lock cmpxchg", i.mnemonic());
        assertEquals(new Instruction.Prefixes(0xF0, 0, false, false, 0x48), i.prefixes());
        assertTrue(i.prefixes().lock());
        assertTrue(i.prefixes().rexW());
        assertEquals(8, i.addressSize());
        assertEquals(List.of(new Operand.Memory(null, "rbx", null, 1, 0, 8), new Operand.Register("rcx", 8)),
                i.operands());
    }

    @Test
    void immediateIsSixtyFourBitsAndNegativeDisplacementIsSigned() {
        // the imm and disp members of the union are int64_t at the same offset as reg
        assertEquals(List.of(new Operand.Register("rax", 8), new Operand.Immediate(0x1122334455667788L, 8)),
                decode("48 b8 88 77 66 55 44 33 22 11", 0).operands());
        assertEquals(List.of(new Operand.Register("rax", 8), new Operand.Memory(null, "rbp", null, 1, -8, 8)),
                decode("48 8b 45 f8", 0).operands());
    }

    @Test
    void csErrIsReportedWithCapstonesText() {
        CapstoneException e = assertThrows(CapstoneException.class, () -> Capstone.check(1, "cs_disasm_iter"));
        assertEquals(1, e.error());
        assertTrue(e.getMessage().contains("Out of memory (CS_ERR_MEM)"), e.getMessage());
        assertTrue(e.getMessage().startsWith("cs_disasm_iter"), e.getMessage());
        Capstone.check(Abi.CS_ERR_OK, "nothing"); // no throw
    }

    @Test
    void missingLibraryNamesTheDebianPackage() {
        CapstoneException e = assertThrows(CapstoneException.class,
                () -> Capstone.loadForTest("libcapstone.so.4-not-installed"));
        assertTrue(e.getMessage().contains("install Debian's libcapstone4 (apt-get install -y libcapstone4)"),
                e.getMessage());
        assertEquals(CapstoneException.NOT_A_CS_ERR, e.error());
        assertFalse(e.getCause() == null, "keeps the loader's reason");
    }
}
