package dev.pml4.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** CPUID says what pml4 implements, and CR4 accepts exactly the bits of what it says. */
class CpuidTest {
    @Test
    void vendorAndBrand() {
        int[] leaf0 = Cpuid.query(0, 0);
        assertEquals(Cpuid.MAX_BASIC_LEAF, leaf0[0]);
        assertEquals("GenuineIntel", text(leaf0[1], leaf0[3], leaf0[2]));
        StringBuilder brand = new StringBuilder();
        for (int leaf = 0x8000_0002; leaf <= 0x8000_0004; leaf++) {
            int[] r = Cpuid.query(leaf, 0);
            brand.append(text(r[0], r[1], r[2], r[3]));
        }
        assertEquals("pml4 virtual x86-64 processor", brand.toString().replace("\0", ""));
    }

    /** Each row: leaf, register (0 EAX .. 3 EDX), bit, whether it is reported. */
    @ParameterizedTest(name = "CPUID.{0}H reg {1} bit {2} = {3}")
    @CsvSource({
            "0x1, 3, 13, true",   // PGE
            "0x1, 3, 6, true",    // PAE
            "0x1, 3, 16, true",   // PAT
            "0x1, 3, 9, false",   // APIC: there is none
            "0x1, 3, 11, false",  // SEP: SYSENTER is not modelled
            "0x1, 2, 17, true",   // PCID
            "0x1, 2, 26, false",  // XSAVE
            "0x7, 1, 7, true",    // SMEP
            "0x7, 1, 10, true",   // INVPCID
            "0x7, 1, 20, true",   // SMAP
            "0x7, 1, 0, false",   // FSGSBASE
            "0x7, 2, 2, false",   // UMIP
            "0x7, 2, 16, true",   // LA57
            "0x80000001, 3, 20, true",  // NX
            "0x80000001, 3, 26, true",  // 1 GiB pages
            "0x80000001, 3, 29, true",  // long mode
            "0x80000001, 3, 11, true",  // SYSCALL
    })
    void reportsWhatIsImplemented(String leaf, int register, int bit, boolean reported) {
        assertEquals(reported, (Cpuid.query(Long.decode(leaf).intValue(), 0)[register] & (1 << bit)) != 0);
    }

    @Test
    void addressWidthsMatchTheModel() {
        int eax = Cpuid.query(0x8000_0008, 0)[0];
        assertEquals(CpuModel.MAX_PHYS_ADDR, eax & 0xff);
        assertEquals(57, (eax >> 8) & 0xff); // 5-level paging's linear-address width
    }

    @Test
    void aLeafBeyondTheMaximumReadsAsTheHighestBasicLeaf() {
        assertArrayEquals(Cpuid.query(Cpuid.MAX_BASIC_LEAF, 0), Cpuid.query(0x40, 0));
        assertArrayEquals(Cpuid.query(Cpuid.MAX_BASIC_LEAF, 0), Cpuid.query(0x8000_0100, 0));
    }

    /** CR4 bit, the CPUID feature that enumerates it: both or neither (SDM Vol. 3A 2.5). */
    @ParameterizedTest(name = "CR4 bit {0}")
    @CsvSource({
            "7, 0x1, 3, 13",      // PGE
            "17, 0x1, 2, 17",     // PCIDE / PCID
            "20, 0x7, 1, 7",      // SMEP
            "21, 0x7, 1, 20",     // SMAP
            "16, 0x7, 1, 0",      // FSGSBASE
            "18, 0x1, 2, 26",     // OSXSAVE / XSAVE
            "11, 0x7, 2, 2",      // UMIP
            "12, 0x7, 2, 16",     // LA57
    })
    void cr4AcceptsABitOnlyWhenCpuidReportsItsFeature(int cr4Bit, String leaf, int register, int bit) {
        boolean reported = (Cpuid.query(Long.decode(leaf).intValue(), 0)[register] & (1 << bit)) != 0;
        assertEquals(reported, (ControlRegisters.CR4_SUPPORTED & (1L << cr4Bit)) != 0);
    }

    private static String text(int... words) {
        ByteBuffer b = ByteBuffer.allocate(4 * words.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int w : words) {
            b.putInt(w);
        }
        return new String(b.array(), StandardCharsets.US_ASCII);
    }
}
