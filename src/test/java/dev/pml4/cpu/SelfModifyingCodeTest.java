package dev.pml4.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HexFormat;

/** Where an instruction can go next, which tells QEMU's restart of a store from code that repeats or branches. */
class SelfModifyingCodeTest {
    private static final long AT = 0x100000;

    @ParameterizedTest(name = "{0} ({1}): itself {2}, fall-through {3}, 0x100040 {4}, only falls through {5}")
    @CsvSource({
            // bytes,                  what,                     itself, fall-through, 0x100040, falls through only
            "880d06000000,         'mov [rip+6], cl',            false, true,  false, true",
            "89c8,                 'mov eax, ecx',               false, true,  false, true",
            "ebfe,                 'jmp $',                      true,  false, false, false",
            "eb3e,                 'jmp 0x100040',               false, false, true,  false",
            "75fe,                 'jnz $',                      true,  true,  false, false",
            "e2fe,                 'loop $',                     true,  true,  false, false",
            "0f853a000000,         'jnz rel32 0x100040',         false, true,  true,  false",
            "e93b000000,           'jmp rel32 0x100040',         false, false, true,  false",
            "e83b000000,           'call rel32 0x100040',        false, false, true,  false",
            "c3,                   'ret',                        true,  true,  true,  false",
            "ffe0,                 'jmp rax',                    true,  true,  true,  false",
            "ffd0,                 'call rax',                   true,  true,  true,  false",
            "ffc9,                 'dec ecx',                    false, true,  false, true",
            "f3a4,                 'rep movsb',                  true,  true,  false, false",
            "a4,                   'movsb',                      false, true,  false, true",
            "f348ab,               'rep stosq',                  true,  true,  false, false",
            "cd80,                 'int 0x80',                   true,  true,  true,  false",
            "0f05,                 'syscall',                    true,  true,  true,  false",
            "0fa2,                 'cpuid',                      false, true,  false, true",
    })
    void knowsWhereAnInstructionGoesNext(String hex, String what, boolean itself, boolean fallThrough, boolean at40, boolean only) {
        byte[] code = HexFormat.of().parseHex(hex.strip());
        int length = code.length;
        assertEquals(itself, SelfModifyingCode.mayContinueAt(code, AT, length, AT), what + ": itself");
        assertEquals(fallThrough, SelfModifyingCode.mayContinueAt(code, AT, length, AT + length), what + ": fall-through");
        assertEquals(at40, SelfModifyingCode.mayContinueAt(code, AT, length, 0x100040), what + ": 0x100040");
        assertEquals(only, SelfModifyingCode.fallsThroughOnly(code, AT, length), what + ": falls through only");
    }
}
