package dev.pml4.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;

/**
 * The guard's rules against the opcode sweep's data (toolchain/sweep/bad-forms.tsv, written by
 * toolchain/sweep/run-sweep.sh): every form that aborted, crashed or hung the engine is one the
 * guard keeps from it; the forms the processor accepts are not.
 */
class EngineAbortFormsTest {
    static final Path SWEEP = Path.of("toolchain/sweep/bad-forms.tsv");

    static List<byte[]> sweptBadForms() throws IOException {
        return Files.readAllLines(SWEEP).stream()
                .filter(l -> !l.isBlank() && !l.startsWith("#"))
                .map(l -> HexFormat.ofDelimiter(" ").parseHex(l.split("\t")[0]))
                .toList();
    }

    @Test
    void everyFormTheSweepFoundIsKeptFromTheEngine() throws IOException {
        List<byte[]> forms = sweptBadForms();
        assertTrue(forms.size() > 100, "the sweep's data looks truncated: " + forms.size() + " forms");
        for (byte[] form : forms) {
            assertNotNull(EngineAbortForms.match(form, true), () -> HexFormat.ofDelimiter(" ").formatHex(form));
        }
    }

    /** The forms of issue 13, and more of the same instructions with other prefixes and operands. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(textBlock = """
            f0 a6
            ff d8
            f0 0f a3 c0
            f0 0f ba e0 01
            f0 a4
            f0 aa
            f3 f0 a4
            2e f0 a6
            f0 2e 48 a7
            41 ff d9
            66 ff e8
            ff ef
            f0 01 c0
            f0 83 38 01
            f0 0f b3 c0
            f0 0f c7 c8
            f0 90
            f0 c5 f8 77
            """)
    void undefinedForms(String hex) {
        assertNotNull(EngineAbortForms.match(HexFormat.ofDelimiter(" ").parseHex(hex), true));
    }

    /** Lockable instructions with a memory destination, and ordinary ones, reach the engine. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(textBlock = """
            f0 01 00
            f0 48 0f b1 0b
            f0 0f c1 03
            f0 83 00 01
            f0 80 30 01
            f0 f7 18
            f0 fe 08
            f0 48 ff 00
            f0 87 03
            f0 0f ab 00
            f0 0f ba 28 01
            f0 48 0f c7 0e
            ff d0
            ff e0
            ff 18
            ff 28
            48 83 e4 f0
            c5 f8 77
            0f 0b
            """)
    void formsTheEngineMaySee(String hex) {
        assertNull(EngineAbortForms.match(HexFormat.ofDelimiter(" ").parseHex(hex), true));
    }

    /** In compatibility mode 40-4F are INC and DEC, which LOCK does not take in their register form. */
    @Test
    void rexIsAPrefixIn64BitCodeOnly() {
        byte[] lockIncEax = {(byte) 0xf0, 0x40};
        assertNotNull(EngineAbortForms.match(lockIncEax, false));
        byte[] lockRexAdd = {(byte) 0xf0, 0x48, 0x01, 0x00};
        assertNull(EngineAbortForms.match(lockRexAdd, true));
        assertEquals(null, EngineAbortForms.match(new byte[]{(byte) 0xff, (byte) 0xd0}, false));
    }
}
