package dev.pml4.ffi.capstone;

import dev.pml4.ffi.capstone.Operand.Immediate;
import dev.pml4.ffi.capstone.Operand.Memory;
import dev.pml4.ffi.capstone.Operand.Register;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * The instructions a kernel uses to drive the MMU and the CPU around it. Every encoding here was
 * checked with {@code objdump -D -b binary -m i386:x86-64}.
 */
class CapstoneDecodeTest {
    private static final long RIP = 0xffff_ffff_8000_1000L;
    private static Capstone cs;

    @BeforeAll
    static void open() {
        cs = Capstone.openX86_64();
    }

    @AfterAll
    static void close() {
        cs.close();
    }

    static Stream<Arguments> instructions() {
        return Stream.of(
                arguments("0f 22 d8", "mov", "cr3, rax", List.of(new Register("cr3", 8), new Register("rax", 8))),
                arguments("0f 20 d0", "mov", "rax, cr2", List.of(new Register("rax", 8), new Register("cr2", 8))),
                arguments("0f 22 e0", "mov", "cr4, rax", List.of(new Register("cr4", 8), new Register("rax", 8))),
                arguments("4c 0f 22 c0", "mov", "cr8, rax", List.of(new Register("cr8", 8), new Register("rax", 8))),
                arguments("0f 01 38", "invlpg", "byte ptr [rax]", List.of(new Memory(null, "rax", null, 1, 0, 1))),
                arguments("0f 01 7c 24 08", "invlpg", "byte ptr [rsp + 8]",
                        List.of(new Memory(null, "rsp", null, 1, 8, 1))),
                arguments("0f 01 1d 00 01 00 00", "lidt", "[rip + 0x100]",
                        List.of(new Memory(null, "rip", null, 1, 0x100, 10))),
                arguments("48 0f 01 1d 00 01 00 00", "lidt", "[rip + 0x100]",
                        List.of(new Memory(null, "rip", null, 1, 0x100, 10))),
                arguments("0f 00 d8", "ltr", "ax", List.of(new Register("ax", 2))),
                arguments("48 cf", "iretq", "", List.of()),
                arguments("cf", "iretd", "", List.of()),
                arguments("cd 80", "int", "0x80", List.of(new Immediate(0x80, 8))),
                arguments("ee", "out", "dx, al", List.of(new Register("dx", 2), new Register("al", 1))),
                arguments("66 ef", "out", "dx, ax", List.of(new Register("dx", 2), new Register("ax", 2))),
                arguments("ec", "in", "al, dx", List.of(new Register("al", 1), new Register("dx", 2))),
                arguments("0f 30", "wrmsr", "", List.of()),
                arguments("0f 32", "rdmsr", "", List.of()),
                arguments("66 0f 38 82 08", "invpcid", "rcx, xmmword ptr [rax]",
                        List.of(new Register("rcx", 8), new Memory(null, "rax", null, 1, 0, 16))),
                arguments("0f 01 f8", "swapgs", "", List.of()),
                arguments("f4", "hlt", "", List.of()),
                arguments("64 48 8b 04 25 28 00 00 00", "mov", "rax, qword ptr fs:[0x28]",
                        List.of(new Register("rax", 8), new Memory("fs", null, null, 1, 0x28, 8))),
                arguments("48 8b 44 c8 10", "mov", "rax, qword ptr [rax + rcx*8 + 0x10]",
                        List.of(new Register("rax", 8), new Memory(null, "rax", "rcx", 8, 0x10, 8))),
                arguments("c6 00 0a", "mov", "byte ptr [rax], 0xa",
                        List.of(new Memory(null, "rax", null, 1, 0, 1), new Immediate(0xa, 1))),
                arguments("f3 48 ab", "rep stosq", "qword ptr [rdi], rax",
                        List.of(new Memory(null, "rdi", null, 1, 0, 8), new Register("rax", 8))),
                // a relative branch: capstone reports the absolute target
                arguments("eb fe", "jmp", String.format("0x%x", RIP), List.of(new Immediate(RIP, 8))));
    }

    @ParameterizedTest(name = "{0}: {1} {2}")
    @MethodSource("instructions")
    void decodes(String hex, String mnemonic, String operandText, List<Operand> operands) {
        byte[] code = Hex.bytes(hex);
        Instruction i = cs.decode(code, RIP).orElseThrow();
        assertEquals(mnemonic, i.mnemonic());
        assertEquals(operandText, i.operandText());
        assertEquals(operands, i.operands());
        assertEquals(RIP, i.address());
        assertEquals(code.length, i.length());
        assertArrayEquals(code, i.bytes());
        assertEquals(RIP + code.length, i.nextAddress());
        byte[] padded = java.util.Arrays.copyOf(code, 16); // as the translation guard reads code: 16 bytes
        assertEquals(code.length, cs.length(padded, RIP, false), "length alone");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
            "c4",                       // VEX prefix, truncated
            "c5",                       // VEX prefix, truncated
            "06",                       // push es: invalid in 64-bit mode
            "d6",                       // salc: invalid in 64-bit mode
            "ff ff",                    // ff /7 is undefined
            "0f 04",                    // unassigned two-byte opcode
            "0f",                       // escape byte alone
            "0f 01 7c 24",              // invlpg [rsp+8] without its disp8
            "48 c7 c0 78 56",           // mov rax, imm32 cut short
            "66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", // 16 bytes: longer than x86 allows
    })
    void invalidBytesDecodeToEmpty(String hex) {
        assertEquals(Optional.empty(), cs.decode(Hex.bytes(hex), RIP));
        assertEquals(0, cs.length(Hex.bytes(hex), RIP, false));
    }

    @Test
    void emptyCodeDecodesToEmpty() {
        assertEquals(Optional.empty(), cs.decode(new byte[0], RIP));
        assertEquals(Optional.empty(), cs.decode(MemorySegment.NULL, RIP));
    }

    @Test
    void fifteenBytesIsTheLongestInstruction() {
        Instruction i = cs.decode(Hex.bytes("66 66 66 66 66 66 66 66 66 66 66 66 66 66 90"), RIP).orElseThrow();
        assertEquals("nop", i.mnemonic());
        assertEquals(15, i.length());
    }

    @Test
    void decodesOnlyTheFirstInstruction() {
        // iretq followed by hlt and junk: one instruction, two bytes
        Instruction i = cs.decode(Hex.bytes("48 cf f4 ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff"), RIP)
                .orElseThrow();
        assertEquals("iretq", i.text());
        assertEquals(2, i.length());
        assertArrayEquals(Hex.bytes("48 cf"), i.bytes());
    }

    @Test
    void prefixesTellIretqFromIretd() {
        Instruction q = cs.decode(Hex.bytes("48 cf"), RIP).orElseThrow();
        Instruction d = cs.decode(Hex.bytes("cf"), RIP).orElseThrow();
        assertTrue(q.prefixes().rexW());
        assertEquals(0x48, q.prefixes().rex());
        assertFalse(d.prefixes().rexW());
        assertEquals(new Instruction.Prefixes(0, 0, false, false, 0), d.prefixes());
        Instruction cr8 = cs.decode(Hex.bytes("4c 0f 22 c0"), RIP).orElseThrow();
        assertTrue(cr8.prefixes().rexW(), "REX.WR");
        Instruction invpcid = cs.decode(Hex.bytes("66 0f 38 82 08"), RIP).orElseThrow();
        assertTrue(invpcid.prefixes().operandSize(), "mandatory 66 shows as the operand-size prefix");
        assertTrue(cs.decode(Hex.bytes("f3 48 ab"), RIP).orElseThrow().prefixes().rep());
        assertTrue(cs.decode(Hex.bytes("f2 ae"), RIP).orElseThrow().prefixes().repne());
    }

    @Test
    void segmentsAndArraysDecodeTheSame() {
        byte[] code = Hex.bytes("0f 01 7c 24 08");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment page = arena.allocate(4096);
            // the instruction sits at offset 0x7fb of a guest page; decode from a slice of it
            MemorySegment.copy(MemorySegment.ofArray(code), 0, page, 0x7fb, code.length);
            Instruction fromNative = cs.decode(page.asSlice(0x7fb), 0x4000_07fbL).orElseThrow();
            Instruction fromArray = cs.decode(code, 0x4000_07fbL).orElseThrow();
            assertEquals(fromArray, fromNative);
            assertEquals(fromArray.hashCode(), fromNative.hashCode());
            // a segment ending inside the instruction: the CPU would fault, capstone sees too few bytes
            assertEquals(Optional.empty(), cs.decode(page.asSlice(0x7fb, 4), 0x4000_07fbL));
        }
    }

    @Test
    void instructionsAreCopiesThatOutliveTheNextDecode() {
        Instruction first = cs.decode(Hex.bytes("0f 22 d8"), 0x1000).orElseThrow();
        cs.decode(Hex.bytes("48 8b 44 c8 10"), 0x2000).orElseThrow();
        assertEquals("mov cr3, rax", first.text());
        assertEquals(0x1000, first.address());
        byte[] leaked = first.bytes();
        leaked[0] = 0;
        assertArrayEquals(Hex.bytes("0f 22 d8"), first.bytes());
    }
}
