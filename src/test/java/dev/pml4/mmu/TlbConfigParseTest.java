package dev.pml4.mmu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** --tlb: presets and per-array changes, and clear refusals. */
class TlbConfigParseTest {
    @Test
    void presets() {
        assertEquals(TlbConfig.skylake(), TlbConfig.parse("skylake"));
        assertEquals(TlbConfig.tiny(), TlbConfig.parse(" Tiny "));
        assertEquals(0, TlbConfig.parse("none").geometry(Tlb.Kind.DATA, PageSize.SIZE_4K).entries());
    }

    @Test
    void changesApplyToThePresetOrToSkylake() {
        TlbConfig c = TlbConfig.parse("tiny,d4k=2x8,i1g=1x0");
        assertEquals(new TlbConfig.Geometry(2, 8), c.geometry(Tlb.Kind.DATA, PageSize.SIZE_4K));
        assertEquals(0, c.geometry(Tlb.Kind.INSTRUCTION, PageSize.SIZE_1G).entries());
        assertEquals(TlbConfig.tiny().geometry(Tlb.Kind.INSTRUCTION, PageSize.SIZE_4K), c.geometry(Tlb.Kind.INSTRUCTION, PageSize.SIZE_4K));
        TlbConfig s = TlbConfig.parse("d2m=1x1");
        assertEquals(new TlbConfig.Geometry(1, 1), s.geometry(Tlb.Kind.DATA, PageSize.SIZE_2M));
        assertEquals(TlbConfig.skylake().geometry(Tlb.Kind.DATA, PageSize.SIZE_4K), s.geometry(Tlb.Kind.DATA, PageSize.SIZE_4K));
    }

    @ParameterizedTest
    @ValueSource(strings = {"skylake", "tiny", "none", "tiny,d4k=2x8,i1g=1x0"})
    void printsASpecThatReadsBack(String spec) {
        TlbConfig c = TlbConfig.parse(spec);
        assertTrue(c.toString().startsWith("i4k="), c.toString());
        assertEquals(c, TlbConfig.parse(c.toString()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"huge", "d4k=3x4", "x4k=1x1", "d8k=1x1", "d4k=1x", "d4k=99999999999x1", "d4k=8192x1", "tiny,,d4k=1x1"})
    void refusesWhatItCannotBuild(String spec) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TlbConfig.parse(spec));
        assertTrue(e.getMessage().contains("'"), e.getMessage());
    }
}
