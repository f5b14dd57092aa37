package dev.pml4.mmu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.*;

/** The small value types: page sizes, levels, the paging state's helpers, error-code text. */
class PagingTypesTest {

    @ParameterizedTest
    @CsvSource({
            "SIZE_4K, 12, 4096,       0xfff,      4 KiB",
            "SIZE_2M, 21, 2097152,    0x1fffff,   2 MiB",
            "SIZE_1G, 30, 1073741824, 0x3fffffff, 1 GiB",
    })
    void pageSizes(PageSize size, int shift, long bytes, String mask, String label) {
        assertEquals(shift, size.shift());
        assertEquals(bytes, size.bytes());
        assertEquals(Long.decode(mask), size.offsetMask());
        assertEquals(label, size.label());
    }

    @ParameterizedTest
    @CsvSource({
            "ffffffff80000000, 511, 510, 0, 0",
            "0000008080604567, 1, 2, 3, 4",
            "0000ffffffffffff, 511, 511, 511, 511",
            "ffff800000000000, 256, 0, 0, 0",
            "ffffff7fbfdfe000, 510, 510, 510, 510",
    })
    void levelIndexes(String linearHex, int pml4, int pdpt, int pd, int pt) {
        long linear = Long.parseUnsignedLong(linearHex, 16);
        assertEquals(pml4, PagingLevel.PML4.index(linear));
        assertEquals(pdpt, PagingLevel.PDPT.index(linear));
        assertEquals(pd, PagingLevel.PD.index(linear));
        assertEquals(pt, PagingLevel.PT.index(linear));
    }

    @Test
    void levelNames() {
        assertEquals("PML4E PDPTE PDE PTE", String.join(" ",
                PagingLevel.PML4.entryName(), PagingLevel.PDPT.entryName(),
                PagingLevel.PD.entryName(), PagingLevel.PT.entryName()));
    }

    @ParameterizedTest(name = "{0} = \"{1}\"")
    @CsvSource(delimiter = '|', textBlock = """
            0x0  | 0x0 (!P R S)
            0x1  | 0x1 (P R S)
            0x2  | 0x2 (!P W S)
            0x4  | 0x4 (!P R U)
            0x7  | 0x7 (P W U)
            0x9  | 0x9 (P R S RSVD)
            0xd  | 0xd (P R U RSVD)
            0xf  | 0xf (P W U RSVD)
            0x10 | 0x10 (!P R S I)
            0x15 | 0x15 (P R U I)
            0x1d | 0x1d (P R U RSVD I)
            0x21 | 0x21 (P R S PK)
            0x41 | 0x41 (P R S SS)
            0x8001 | 0x8001 (P R S SGX)
            0x101 | 0x101 (P R S bit 8)
            """)
    void errorCodeDescriptions(String code, String text) {
        assertEquals(text, PageFaultErrorCode.describe(Integer.decode(code)));
    }

    @Test
    void errorCodeConstantsAreTheSdmBits() {
        assertEquals(1, PageFaultErrorCode.P);
        assertEquals(2, PageFaultErrorCode.W);
        assertEquals(4, PageFaultErrorCode.U);
        assertEquals(8, PageFaultErrorCode.RSVD);
        assertEquals(16, PageFaultErrorCode.ID);
    }

    @Test
    void pagingStateHelpersReadTheSdmBitPositions() {
        var none = new PagingState(0, 0, 0, 0, false);
        assertFalse(none.pagingEnabled() || none.wp() || none.smep() || none.smap() || none.nxe()
                || none.pcide() || none.pge() || none.pae() || none.la57() || none.lme() || none.fourLevelPaging());
        var all = new PagingState(0x8001_0001L, 0x0000_000f_ffff_f123L,
                (1L << 21) | (1L << 20) | (1L << 17) | (1L << 7) | (1L << 5), 0xd00, true);
        assertTrue(all.pagingEnabled());
        assertTrue(all.wp());
        assertTrue(all.smap());
        assertTrue(all.smep());
        assertTrue(all.pcide());
        assertTrue(all.pge());
        assertTrue(all.pae());
        assertTrue(all.lme());
        assertTrue(all.nxe());
        assertTrue(all.alignmentCheck());
        assertTrue(all.fourLevelPaging());
        assertFalse(all.la57());
        assertEquals(0x123, all.pcid());
        assertEquals(0x0000_000f_ffff_f000L, all.pml4Base());
        assertEquals(0x0000_000f_ffff_f000L, all.pml4Base(36));
        assertEquals(0x0000_0000_ffff_f000L, all.pml4Base(32));
        var la57 = new PagingState(0x8000_0001L, 0, (1L << 12) | (1L << 5), 0x500, false);
        assertTrue(la57.la57());
        assertFalse(la57.fourLevelPaging());
        assertEquals(0, new PagingState(0, 0x1123, 0, 0, false).pcid(), "no PCID while CR4.PCIDE=0");
    }
}
