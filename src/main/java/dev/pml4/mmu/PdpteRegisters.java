package dev.pml4.mmu;

import dev.pml4.machine.PhysicalMemory;

/**
 * PAE paging's four PDPTE registers (SDM Vol. 3A 4.4.1): the processor loads the four 8-byte entries
 * of the page-directory-pointer table at CR3[31:5] when MOV to CR3 executes with PAE paging in use,
 * and when MOV to CR0 or CR4 modifies CR0.CD, CR0.NW, CR0.PG, CR4.PAE, CR4.PGE, CR4.PSE or
 * CR4.SMEP with PAE paging in use afterwards. Walks use the registers, never the table in memory:
 * a kernel that edits its PDPT sees the change only after one of those loads.
 *
 * @param tableAddress the physical address the entries were loaded from (CR3 bits 31:5)
 * @param e0           the PDPTE for linear addresses 0x00000000..0x3fffffff
 * @param e1           for 0x40000000..0x7fffffff
 * @param e2           for 0x80000000..0xbfffffff
 * @param e3           for 0xc0000000..0xffffffff
 */
public record PdpteRegisters(long tableAddress, long e0, long e1, long e2, long e3) {
    /** CR3 bits 31:5 hold the 32-byte-aligned PDPT address under PAE paging (SDM 4.4.1, Table 4-7). */
    public static final long CR3_PDPT_MASK = 0xffff_ffe0L;
    /** Bits 2:1 and 8:5 of a present PDPTE are reserved (SDM Table 4-8); so are bits 63:MAXPHYADDR. */
    static final long RESERVED_LOW = 0x1e6L;

    /** Entry {@code i} (0..3). */
    public long entry(int i) {
        return switch (i) {
            case 0 -> e0;
            case 1 -> e1;
            case 2 -> e2;
            case 3 -> e3;
            default -> throw new IndexOutOfBoundsException("PDPTE register " + i);
        };
    }

    /** Where entry {@code i} was loaded from. */
    public long entryAddress(int i) {
        return tableAddress + 8L * i;
    }

    /** The four entries as they are in memory now at the PDPT that {@code cr3} names, unchecked. */
    public static PdpteRegisters read(PhysicalMemory memory, long cr3) {
        long table = cr3 & CR3_PDPT_MASK;
        return new PdpteRegisters(table, memory.read64(table), memory.read64(table + 8),
                memory.read64(table + 16), memory.read64(table + 24));
    }

    /** The reserved bits of a PDPTE (Table 4-8): bits 2:1, 8:5 and 63:MAXPHYADDR. */
    public static long reservedBits(int maxPhysAddr) {
        return RESERVED_LOW | ~((1L << maxPhysAddr) - 1);
    }

    /**
     * Why loading these registers raises #GP(0) (SDM 4.4.1: a present PDPTE with a reserved bit set),
     * or null when the load succeeds.
     */
    public String loadFault(int maxPhysAddr) {
        long reserved = reservedBits(maxPhysAddr);
        for (int i = 0; i < 4; i++) {
            long e = entry(i);
            if ((e & 1) != 0 && (e & reserved) != 0) {
                return String.format("PDPTE %d at 0x%x = 0x%016x has reserved bits 0x%x set", i, entryAddress(i), e, e & reserved);
            }
        }
        return null;
    }
}
