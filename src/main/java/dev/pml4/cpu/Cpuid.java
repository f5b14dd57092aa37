package dev.pml4.cpu;

import java.nio.charset.StandardCharsets;

/**
 * CPUID (SDM Vol. 2A, CPUID, Tables 3-8 to 3-20): what pml4's processor says it is. It reports a
 * feature only when pml4 implements it (in Java or in the engine), so that a kernel that probes
 * before it uses a feature takes the path that works here; {@link ControlRegisters#CR4_SUPPORTED}
 * follows the same table.
 *
 * <p>An Intel family 6 processor: x87, MMX, SSE to SSE3 and CX16 run in the engine; PAE, PGE,
 * PAT, PCID, INVPCID, SMEP, SMAP, NX, 1 GiB pages, SYSCALL and RDTSCP are pml4's own. Not
 * reported, because not implemented: APIC (there is none), SYSENTER, MTRRs, XSAVE, FSGSBASE,
 * UMIP, perfmon leaves. LA57 (5-level paging) is pml4's own and reported.
 */
final class Cpuid {
    static final int MAX_BASIC_LEAF = 0x7;
    static final int MAX_EXTENDED_LEAF = 0x8000_0008;

    // CPUID.01H:EDX (Table 3-11).
    static final int EDX1_FPU = 1, EDX1_DE = 1 << 2, EDX1_PSE = 1 << 3, EDX1_TSC = 1 << 4, EDX1_MSR = 1 << 5,
            EDX1_PAE = 1 << 6, EDX1_MCE = 1 << 7, EDX1_CX8 = 1 << 8, EDX1_PGE = 1 << 13, EDX1_CMOV = 1 << 15,
            EDX1_PAT = 1 << 16, EDX1_CLFSH = 1 << 19, EDX1_MMX = 1 << 23, EDX1_FXSR = 1 << 24, EDX1_SSE = 1 << 25,
            EDX1_SSE2 = 1 << 26;
    // CPUID.01H:ECX (Table 3-10).
    static final int ECX1_SSE3 = 1, ECX1_CX16 = 1 << 13, ECX1_PCID = 1 << 17;
    // CPUID.(EAX=07H,ECX=0):EBX.
    static final int EBX7_SMEP = 1 << 7, EBX7_INVPCID = 1 << 10, EBX7_SMAP = 1 << 20;
    /** CPUID.(EAX=07H,ECX=0):ECX[16]: 5-level paging (CR4.LA57). */
    static final int ECX7_LA57 = 1 << 16;
    // CPUID.80000001H:EDX and ECX.
    static final int EDX81_SYSCALL = 1 << 11, EDX81_NX = 1 << 20, EDX81_PAGE1GB = 1 << 26, EDX81_RDTSCP = 1 << 27,
            EDX81_LM = 1 << 29;
    static final int ECX81_LAHF = 1;

    /** Family 6, model 0x5E (a Skylake client core), stepping 3: CPUID.01H:EAX. */
    private static final int SIGNATURE = 0x0005_06E3;
    private static final String VENDOR = "GenuineIntel";
    private static final String BRAND = "pml4 virtual x86-64 processor";

    private Cpuid() {
    }

    /** EAX, EBX, ECX, EDX for leaf {@code eax}, sub-leaf {@code ecx}. */
    static int[] query(int eax, int ecx) {
        boolean extended = Integer.compareUnsigned(eax, 0x8000_0000) >= 0;
        if (!extended && Integer.compareUnsigned(eax, MAX_BASIC_LEAF) > 0
                || extended && Integer.compareUnsigned(eax, MAX_EXTENDED_LEAF) > 0) {
            // Beyond the maximum: the data of the highest basic leaf (SDM, CPUID, "INPUT EAX = 0").
            return query(MAX_BASIC_LEAF, ecx);
        }
        return switch (eax) {
            case 0 -> {
                int[] v = vendor();
                yield new int[]{MAX_BASIC_LEAF, v[0], v[2], v[1]};
            }
            // EBX: CLFLUSH line size 8 x 8 bytes (bits 15:8), one logical processor, APIC ID 0.
            case 1 -> new int[]{SIGNATURE, 8 << 8 | 1 << 16, ECX1_SSE3 | ECX1_CX16 | ECX1_PCID,
                    EDX1_FPU | EDX1_DE | EDX1_PSE | EDX1_TSC | EDX1_MSR | EDX1_PAE | EDX1_MCE | EDX1_CX8 | EDX1_PGE
                            | EDX1_CMOV | EDX1_PAT | EDX1_CLFSH | EDX1_MMX | EDX1_FXSR | EDX1_SSE | EDX1_SSE2};
            case 7 -> ecx == 0 ? new int[]{0, EBX7_SMEP | EBX7_INVPCID | EBX7_SMAP, ECX7_LA57, 0} : new int[4];
            case 0x8000_0000 -> new int[]{MAX_EXTENDED_LEAF, 0, 0, 0};
            case 0x8000_0001 -> new int[]{0, 0, ECX81_LAHF, EDX81_SYSCALL | EDX81_NX | EDX81_PAGE1GB | EDX81_RDTSCP | EDX81_LM};
            case 0x8000_0002, 0x8000_0003, 0x8000_0004 -> brand(eax - 0x8000_0002);
            // Physical-address width (MAXPHYADDR, SDM Vol. 3A 4.1.4) and linear-address width 57
            // (LA57 is supported, as processors that support it report).
            case 0x8000_0008 -> new int[]{CpuModel.MAX_PHYS_ADDR | 57 << 8, 0, 0, 0};
            default -> new int[4]; // leaves this model does not describe read as zero
        };
    }

    private static int[] vendor() {
        return words(VENDOR, 3);
    }

    /** Sixteen bytes of the 48-byte NUL-padded brand string. */
    private static int[] brand(int part) {
        int[] all = words(BRAND, 12);
        return new int[]{all[4 * part], all[4 * part + 1], all[4 * part + 2], all[4 * part + 3]};
    }

    private static int[] words(String text, int count) {
        byte[] bytes = new byte[4 * count];
        byte[] src = text.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(src, 0, bytes, 0, Math.min(src.length, bytes.length));
        int[] out = new int[count];
        for (int i = 0; i < count; i++) {
            out[i] = (bytes[4 * i] & 0xff) | (bytes[4 * i + 1] & 0xff) << 8 | (bytes[4 * i + 2] & 0xff) << 16 | (bytes[4 * i + 3] & 0xff) << 24;
        }
        return out;
    }
}
