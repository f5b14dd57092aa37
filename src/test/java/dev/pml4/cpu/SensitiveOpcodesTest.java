package dev.pml4.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HexFormat;

/** Fast mode's scan of group 15 (0F AE): only the forms that load MXCSR from memory are Java's. */
class SensitiveOpcodesTest {
    @ParameterizedTest(name = "{1}")
    @CsvSource({
            "0fae10,     'ldmxcsr [rax]',      1",
            "0fae08,     'fxrstor [rax]',      1",
            "480fae08,   'fxrstor64 [rax]',    1",
            "0fae00,     'fxsave [rax]',       0",
            "0fae18,     'stmxcsr [rax]',      0",
            "0faee8,     'lfence',             0",
            "0faef0,     'mfence',             0",
            "0fae38,     'clflush [rax]',      0",
            "0fa2,       'cpuid',              2",
    })
    void scansGroup15ByItsModrm(String hex, String what, int kind) {
        byte[] code = java.util.Arrays.copyOf(HexFormat.of().parseHex(hex.strip()), 15);
        assertEquals(kind, SensitiveOpcodes.anyPrivilege(code), what);
    }
}
