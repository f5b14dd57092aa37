package dev.pml4.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HexFormat;

/** Which instructions read and write back their memory operand (SDM vol. 2 opcode maps). */
class ReadModifyWriteTest {
    @ParameterizedTest(name = "{1}: {2}")
    @CsvSource({
            "48014308,           'add [rbx+8], rax',           true,  false",
            "48034308,           'add rax, [rbx+8]',           false, false",
            "4801c3,             'add rbx, rax (registers)',   false, false",
            "48ff4308,           'inc qword [rbx+8]',          true,  false",
            "48ff7308,           'push qword [rbx+8]',         false, false",
            "48ff5308,           'call [rbx+8]',               false, false",
            "48394308,           'cmp [rbx+8], rax',           false, false",
            "48837b0805,         'cmp qword [rbx+8], 5',       false, false",
            "4883430805,         'add qword [rbx+8], 5',       true,  false",
            "f0480fc14308,       'lock xadd [rbx+8], rax',     true,  false",
            "48874308,           'xchg [rbx+8], rax',          true,  false",
            "480fb14b08,         'cmpxchg [rbx+8], rcx',       true,  false",
            "480fc74b08,         'cmpxchg16b [rbx+8]',         true,  false",
            "480fba630803,       'bt qword [rbx+8], 3',        false, false",
            "480fba6b0803,       'bts qword [rbx+8], 3',       true,  false",
            "48d1630 8,          'shl qword [rbx+8], 1',       true,  false",
            "48f75308,           'not qword [rbx+8]',          true,  false",
            "48f76308,           'mul qword [rbx+8]',          false, false",
            "0f924308,           'setc [rbx+8]',               false, false",
            "48894308,           'mov [rbx+8], rax',           false, false",
            "41ff4008,           'inc dword [r8+8]',           true,  false",
            "4001430 8,          '32-bit: inc eax; add [ebx+8], eax', false, true",
    })
    void knowsReadModifyWrites(String hex, String what, boolean expected, boolean bits32) {
        byte[] code = HexFormat.of().parseHex(hex.replace(" ", "").strip());
        byte[] padded = java.util.Arrays.copyOf(code, 15);
        assertEquals(expected, ReadModifyWrite.isReadModifyWrite(padded, bits32), what);
    }
}
