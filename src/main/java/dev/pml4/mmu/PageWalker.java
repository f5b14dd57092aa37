package dev.pml4.mmu;

import dev.pml4.machine.PhysicalMemory;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The four-level page walk of SDM Vol. 3A 4.5, with the access rights of 4.6, the page-fault
 * error codes of 4.7 and the accessed and dirty flags of 4.8.
 *
 * <p>A walk is a function of physical memory, the {@link PagingState} and the access. It reads
 * one entry per level through {@link PhysicalMemory} (an entry in a hole reads all-ones: present,
 * with reserved bits set, so the walk ends in a RSVD fault, as on a real machine) and records
 * every entry it read as a {@link WalkStep}, the faulting one included.
 *
 * <p>Choices where the SDM leaves freedom, or where this model draws a line:
 * <ul>
 *   <li><b>Accessed and dirty flags only on success.</b> SDM 4.8 lets a processor set A in
 *       entries it used even when the walk ends in a fault (QEMU does, level by level). This
 *       walker follows Bochs: it decides the whole walk first and, only if the access is
 *       allowed, sets A in every entry used and D in the leaf for a write. A fault leaves the
 *       tables byte-for-byte unchanged, which makes traces and lab tests deterministic and
 *       easy to reason about. A flag already set is not written again.
 *   <li><b>Linear-address width.</b> Only bits 47:0 index the tables; bits 63:48 are ignored
 *       here. Refusing a non-canonical address (#GP, or #SS for stack accesses) is the CPU's
 *       job and happens before any walk (SDM Vol. 1 3.3.7.1).
 *   <li><b>Check order.</b> At each level: P=0 ends the walk with a not-present fault (reserved
 *       bits are not checked in a non-present entry, SDM 4.7); then reserved bits; then the
 *       walk goes down. Access rights are checked once, on the rights combined over all levels.
 *   <li><b>Features modelled.</b> 1-GiB pages are supported (CPUID.80000001H:EDX.Page1GB=1);
 *       PAT is supported, so the PAT bit positions (bit 12 of large-page entries, bit 7 of a
 *       PTE) are not reserved. Protection keys, HLAT and shadow stacks are not modelled: bits
 *       62:52 of every entry are ignored.
 *   <li><b>Paging off.</b> With CR0.PG=0 the result is an identity translation of a 4-KiB page
 *       with full rights and no steps, for the 32-bit entry path. Other paging modes (32-bit,
 *       PAE, 5-level) throw {@link UnsupportedOperationException} until they are written.
 * </ul>
 */
public final class PageWalker {
    // Entry flags, SDM Vol. 3A 4.5, Tables 4-15 to 4-20 (formats of PML4E, PDPTE, PDE, PTE).
    /** Bit 0, P: present. */
    static final long ENTRY_P = 1L;
    /** Bit 1, R/W: writes allowed. */
    static final long ENTRY_RW = 1L << 1;
    /** Bit 2, U/S: user-mode accesses allowed. */
    static final long ENTRY_US = 1L << 2;
    /** Bit 5, A: accessed (SDM 4.8). */
    static final long ENTRY_A = 1L << 5;
    /** Bit 6, D: dirty, in an entry that maps a page (SDM 4.8); ignored in other entries. */
    static final long ENTRY_D = 1L << 6;
    /** Bit 7, PS: page size in a PDPTE or PDE; reserved (must be 0) in a PML4E (Table 4-15). */
    static final long ENTRY_PS = 1L << 7;
    /** Bit 8, G: global, in an entry that maps a page. */
    static final long ENTRY_G = 1L << 8;
    /** Bit 63, XD: execute-disable; reserved when IA32_EFER.NXE=0 (SDM 4.5, 4.6). */
    static final long ENTRY_XD = 1L << 63;
    /** Bits 29:13 of a PDPTE that maps a 1-GiB page are reserved (Table 4-16); bit 12 is PAT. */
    static final long RESERVED_1G = 0x3fff_e000L;
    /** Bits 20:13 of a PDE that maps a 2-MiB page are reserved (Table 4-18); bit 12 is PAT. */
    static final long RESERVED_2M = 0x001f_e000L;
    /** Bits 51:12 can hold a physical address; bits 51:MAXPHYADDR of it are reserved (SDM 4.5). */
    private static final long ADDRESS_BITS_52 = 0x000f_ffff_ffff_f000L;

    /** The smallest and largest MAXPHYADDR the walker accepts (SDM 4.1.4: at most 52). */
    public static final int MIN_MAXPHYADDR = 32;
    public static final int MAX_MAXPHYADDR = 52;

    private final PhysicalMemory memory;
    private final int maxPhysAddr;

    /**
     * @param memory      where the paging structures live
     * @param maxPhysAddr MAXPHYADDR, the physical-address width (CPUID.80000008H:EAX[7:0]),
     *                    32..52; bits 51:MAXPHYADDR of every present entry are reserved
     */
    public PageWalker(PhysicalMemory memory, int maxPhysAddr) {
        this.memory = Objects.requireNonNull(memory, "memory");
        frameMask(maxPhysAddr); // validates
        this.maxPhysAddr = maxPhysAddr;
    }

    public int maxPhysAddr() {
        return maxPhysAddr;
    }

    /**
     * The walk the CPU makes: on success it sets A in every entry used and, for a write, D in the
     * leaf (writing an entry only when a flag was clear); on a fault it writes nothing.
     *
     * @param linearAddress the address, all 64 bits; bits 63:48 are not looked at
     * @throws UnsupportedOperationException for 32-bit, PAE or 5-level paging
     */
    public WalkResult translate(long linearAddress, AccessType type, AccessMode mode, PagingState state) {
        return walk(linearAddress, type, mode, state, true);
    }

    /**
     * The same walk without side effects, for the debugger: nothing is written, and
     * {@link Translation#dirty()} reports D as found in memory.
     */
    public WalkResult probe(long linearAddress, AccessType type, AccessMode mode, PagingState state) {
        return walk(linearAddress, type, mode, state, false);
    }

    /** Bits MAXPHYADDR-1:12: where a 4-KiB-aligned physical address sits in an entry or CR3. */
    static long frameMask(int maxPhysAddr) {
        if (maxPhysAddr < MIN_MAXPHYADDR || maxPhysAddr > MAX_MAXPHYADDR) {
            throw new IllegalArgumentException("MAXPHYADDR must be " + MIN_MAXPHYADDR + ".."
                    + MAX_MAXPHYADDR + ", not " + maxPhysAddr);
        }
        return ((1L << maxPhysAddr) - 1) & ~0xfffL;
    }

    private WalkResult walk(long linearAddress, AccessType type, AccessMode mode, PagingState state,
                            boolean setFlags) {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(state, "state");
        return switch (state.mode()) {
            case NONE -> identity(linearAddress);
            case FOUR_LEVEL -> walkFourLevel(linearAddress, type, mode, state, setFlags);
            // Issue 9 adds these to this switch; until then the processor stops before enabling them.
            case BITS_32, PAE, FIVE_LEVEL -> throw new UnsupportedOperationException(
                    state.mode().description() + " is not yet supported; only 4-level paging is");
        };
    }

    /**
     * Paging off (CR0.PG = 0): the linear address is the physical address (SDM 4.1.1), a 4-KiB
     * "page" with full rights and no steps. Linear addresses are 32 bits wide then (IA-32e mode
     * needs paging), so the sum of a segment base and an offset has already wrapped at 4 GiB.
     */
    private static Translation identity(long linearAddress) {
        long base = linearAddress & ~PageSize.SIZE_4K.offsetMask();
        return new Translation(linearAddress, linearAddress, base, base, PageSize.SIZE_4K,
                PageRights.FULL, false, true, List.of());
    }

    private WalkResult walkFourLevel(long linearAddress, AccessType type, AccessMode mode, PagingState state,
                                     boolean setFlags) {

        long frameMask = frameMask(maxPhysAddr);
        // SDM 4.5: bits 51:MAXPHYADDR of a present entry are reserved; so is XD while NXE=0.
        long reservedEverywhere = (ADDRESS_BITS_52 & ~frameMask) | (state.nxe() ? 0 : ENTRY_XD);

        List<WalkStep> steps = new ArrayList<>(4);
        long table = state.pml4Base(maxPhysAddr);
        boolean writable = true;
        boolean user = true;
        boolean executeDisable = false;
        for (PagingLevel level : PagingLevel.values()) {
            long entryAddress = table + 8L * level.index(linearAddress);
            long entry = memory.read64(entryAddress);
            steps.add(new WalkStep(level, entryAddress, entry));

            if ((entry & ENTRY_P) == 0) {
                return new PageFault(linearAddress, PageFaultErrorCode.forAccess(type, mode, state),
                        level.entryName() + " not present", steps);
            }
            PageSize mapped = switch (level) {
                case PML4 -> null;
                case PDPT -> (entry & ENTRY_PS) != 0 ? PageSize.SIZE_1G : null;
                case PD -> (entry & ENTRY_PS) != 0 ? PageSize.SIZE_2M : null;
                case PT -> PageSize.SIZE_4K;
            };
            long reserved = entry & (reservedEverywhere | switch (level) {
                case PML4 -> ENTRY_PS;
                case PDPT -> mapped != null ? RESERVED_1G : 0;
                case PD -> mapped != null ? RESERVED_2M : 0;
                case PT -> 0;
            });
            if (reserved != 0) {
                int code = PageFaultErrorCode.P | PageFaultErrorCode.RSVD
                        | PageFaultErrorCode.forAccess(type, mode, state);
                return new PageFault(linearAddress, code,
                        reservedReason(reserved, level, mapped, entryAddress), steps);
            }

            writable &= (entry & ENTRY_RW) != 0;
            user &= (entry & ENTRY_US) != 0;
            executeDisable |= (entry & ENTRY_XD) != 0;

            if (mapped != null) {
                var rights = new PageRights(writable, user, !state.nxe() || !executeDisable);
                String refused = AccessRights.reason(rights, type, mode, state);
                if (refused != null) {
                    return new PageFault(linearAddress, AccessRights.check(rights, type, mode, state),
                            refused, steps);
                }
                boolean write = type == AccessType.WRITE;
                if (setFlags) {
                    setAccessedAndDirty(steps, write);
                }
                long frameBase = entry & frameMask & ~mapped.offsetMask();
                return new Translation(linearAddress,
                        frameBase | (linearAddress & mapped.offsetMask()),
                        linearAddress & ~mapped.offsetMask(),
                        frameBase, mapped, rights,
                        (entry & ENTRY_G) != 0,
                        (entry & ENTRY_D) != 0 || (setFlags && write),
                        steps);
            }
            table = entry & frameMask;
        }
        throw new AssertionError("a PTE always maps a page");
    }

    /**
     * SDM 4.8: A in every entry used, D in the leaf on a write, each entry written only if a flag
     * it needs was clear when read. The flags are ORed into the entry's low byte as it is in
     * memory now, like the processor's locked update, rather than by writing back the value read:
     * no other bit of the entry is ever rewritten, even when a recursive mapping makes one entry
     * serve at several levels.
     */
    private void setAccessedAndDirty(List<WalkStep> steps, boolean write) {
        for (int i = 0; i < steps.size(); i++) {
            WalkStep step = steps.get(i);
            long wanted = ENTRY_A | (write && i == steps.size() - 1 ? ENTRY_D : 0);
            if ((step.entryValue() & wanted) != wanted) {
                long current = memory.read64(step.entryAddress());
                memory.write8(step.entryAddress(), (int) ((current | wanted) & 0xff));
            }
        }
    }

    /**
     * "reserved bit 51 set in PTE", "reserved bits 51:40, 13 set in PDE mapping a 2 MiB page",
     * "reserved bit 7 (PS) set in PML4E", "reserved bit 63 (XD, EFER.NXE=0) set in PDPTE".
     */
    private String reservedReason(long reserved, PagingLevel level, PageSize mapped, long entryAddress) {
        var runs = new ArrayList<String>();
        int count = 0;
        for (int hi = 63; hi >= 0; hi--) {
            if ((reserved & (1L << hi)) == 0) {
                continue;
            }
            int lo = hi;
            while (lo > 0 && (reserved & (1L << (lo - 1))) != 0) {
                lo--;
            }
            count += hi - lo + 1;
            String run = hi == lo ? Integer.toString(hi) : hi + ":" + lo;
            if (hi == 63 && lo == 63) {
                run += " (XD, EFER.NXE=0)";
            } else if (level == PagingLevel.PML4 && hi == 7 && lo == 7) {
                run += " (PS)";
            }
            runs.add(run);
            hi = lo;
        }
        var sb = new StringBuilder(count == 1 ? "reserved bit " : "reserved bits ")
                .append(String.join(", ", runs))
                .append(" set in ").append(level.entryName());
        if (mapped != null && mapped != PageSize.SIZE_4K) {
            sb.append(" mapping a ").append(mapped.label()).append(" page");
        }
        if (!memory.isRam(entryAddress, 8)) {
            sb.append(String.format(" (the entry at 0x%x is not RAM and reads all-ones)", entryAddress));
        }
        return sb.toString();
    }
}
