package dev.pml4.mmu;

import dev.pml4.machine.PhysicalMemory;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The page walk of every paging mode (SDM Vol. 3A chapter 4): 32-bit paging (4.3), PAE paging
 * (4.4), 4-level and 5-level paging (4.5), with the access rights of 4.6, the page-fault error
 * codes of 4.7 and the accessed and dirty flags of 4.8.
 *
 * <p>One walk serves all modes, shaped like Bochs' and QEMU's: the mode gives the levels
 * ({@link PagingMode#levels()}); each level step reads an entry (4 or 8 bytes, or for PAE paging's
 * first level a PDPTE register), checks P and the reserved bits that mode and level define, and
 * either goes down or reaches a leaf; then ONE leaf step checks the rights combined over the levels
 * and sets A/D. A walk is a function of physical memory, the {@link PagingState} and the access.
 * It reads entries through {@link PhysicalMemory} (an entry in a hole reads all-ones: present,
 * with reserved bits set, so the walk ends in a RSVD fault where the mode has reserved bits, as on
 * a real machine) and records every entry it read as a {@link WalkStep}, the faulting one included.
 *
 * <p>Choices where the SDM leaves freedom, or where this model draws a line:
 * <ul>
 *   <li><b>Accessed and dirty flags only on success.</b> SDM 4.8 lets a processor set A in
 *       entries it used even when the walk ends in a fault (QEMU does, level by level). This
 *       walker follows Bochs: it decides the whole walk first and, only if the access is
 *       allowed, sets A in every entry used and D in the leaf for a write. A fault leaves the
 *       tables byte-for-byte unchanged, which makes traces and lab tests deterministic and
 *       easy to reason about. A flag already set is not written again. PAE's PDPTE registers
 *       have no A flag (Table 4-8) and are never written.
 *   <li><b>Linear-address width.</b> Only the bits the mode translates index the tables (31:0,
 *       47:0 or 56:0); higher bits are ignored here. Refusing a non-canonical address (#GP, or #SS
 *       for stack accesses) is the CPU's job and happens before any walk (SDM Vol. 1 3.3.7.1,
 *       {@link PagingMode#canonical}).
 *   <li><b>Check order.</b> At each level: P=0 ends the walk with a not-present fault (reserved
 *       bits are not checked in a non-present entry, SDM 4.7); then reserved bits; then the
 *       walk goes down. Access rights are checked once, on the rights combined over all levels.
 *   <li><b>Features modelled.</b> 1-GiB pages are supported (CPUID.80000001H:EDX.Page1GB=1);
 *       PAT is supported, so the PAT bit positions (bit 12 of large-page entries, bit 7 of a
 *       PTE) are not reserved. PSE-36 is supported: a 4-MiB page's PDE holds physical-address
 *       bits 39:32 in bits 20:13 (SDM 4.3, MAXPHYADDR capped at 40 there). Protection keys, HLAT
 *       and shadow stacks are not modelled: bits 62:52 of a 4-level or 5-level entry are ignored
 *       (under PAE paging they are reserved, Tables 4-9 to 4-11).
 *   <li><b>PDPTE registers.</b> A PAE walk uses {@link PagingState#pdptes()}: what the last load
 *       put there, checked at load time (#GP). A state without registers (a debugger view of a
 *       CR3 the processor never loaded) reads the PDPT in memory and checks its reserved bits as
 *       a RSVD fault instead.
 *   <li><b>Paging off.</b> With CR0.PG=0 the result is an identity translation of a 4-KiB page
 *       with full rights and no steps.
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
    /** Bit 21 of a 32-bit PDE that maps a 4-MiB page is reserved (SDM 4.3, Table 4-4). */
    static final long RESERVED_4M = 1L << 21;
    /** 32-bit paging's 4-MiB pages reach at most 40 physical-address bits (PSE-36, SDM 4.3). */
    static final int PSE36_MAXPHYADDR = 40;
    /** Bits 31:12 of a 32-bit paging entry or CR3: the physical address of a table or 4-KiB page (SDM 4.3). */
    static final long ADDRESS_32 = 0xffff_f000L;
    /** Bits 31:22 of a 4-MiB PDE: physical-address bits 31:22 (Table 4-4). */
    static final long ADDRESS_4M_LOW = 0xffc0_0000L;
    /** Bits 62:0 above bit 11: under PAE paging, bits 62:MAXPHYADDR of a PDE or PTE are reserved (Tables 4-9 to 4-11). */
    private static final long ADDRESS_BITS_63 = 0x7fff_ffff_ffff_f000L;
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
     * @param linearAddress the address, all 64 bits; bits above the mode's width are not looked at
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
        PagingMode paging = state.mode();
        return paging == PagingMode.NONE ? identity(linearAddress)
                : walkTables(paging, linearAddress, type, mode, state, setFlags);
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

    /** The walk: one level step per level of the mode, then the one leaf step. */
    private WalkResult walkTables(PagingMode paging, long linearAddress, AccessType type, AccessMode mode,
                                  PagingState state, boolean setFlags) {
        List<WalkStep> steps = new ArrayList<>(paging.levels().size());
        long table = root(paging, state);
        boolean writable = true;
        boolean user = true;
        boolean executeDisable = false;
        for (PagingLevel level : paging.levels()) {
            WalkStep step = readEntry(level, table, linearAddress, state);
            long entry = step.entryValue();
            steps.add(step);

            if ((entry & ENTRY_P) == 0) {
                return new PageFault(linearAddress, PageFaultErrorCode.forAccess(type, mode, state),
                        level.entryName() + " not present", steps);
            }
            PageSize mapped = mappedSize(level, entry, state);
            long reserved = entry & reservedBits(paging, level, mapped, state);
            if (reserved != 0) {
                int code = PageFaultErrorCode.P | PageFaultErrorCode.RSVD
                        | PageFaultErrorCode.forAccess(type, mode, state);
                return new PageFault(linearAddress, code,
                        reservedReason(reserved, level, mapped, step.entryAddress()), steps);
            }
            if (level != PagingLevel.PAE_PDPT) { // PDPTEs carry no rights under PAE paging (Table 4-8)
                writable &= (entry & ENTRY_RW) != 0;
                user &= (entry & ENTRY_US) != 0;
                executeDisable |= (entry & ENTRY_XD) != 0;
            }
            if (mapped != null) {
                var rights = new PageRights(writable, user, !state.nxe() || !executeDisable);
                return leaf(linearAddress, type, mode, state, setFlags, steps, mapped, rights);
            }
            table = nextTable(level, entry);
        }
        throw new AssertionError("the last level always maps a page");
    }

    /** The step every mode shares: the rights check, A/D, the frame. */
    private WalkResult leaf(long linearAddress, AccessType type, AccessMode mode, PagingState state, boolean setFlags,
                            List<WalkStep> steps, PageSize mapped, PageRights rights) {
        String refused = AccessRights.reason(rights, type, mode, state);
        if (refused != null) {
            return new PageFault(linearAddress, AccessRights.check(rights, type, mode, state), refused, steps);
        }
        boolean write = type == AccessType.WRITE;
        if (setFlags) {
            setAccessedAndDirty(steps, write);
        }
        long entry = steps.getLast().entryValue();
        long frameBase = frameBase(mapped, entry);
        return new Translation(linearAddress,
                frameBase | (linearAddress & mapped.offsetMask()),
                linearAddress & ~mapped.offsetMask(),
                frameBase, mapped, rights,
                (entry & ENTRY_G) != 0,
                (entry & ENTRY_D) != 0 || (setFlags && write),
                steps);
    }

    /** Where the first table is: CR3[31:12] (32-bit), CR3[M-1:12] (4-level, 5-level); PAE's first level is registers. */
    public long root(PagingState state) {
        return root(state.mode(), state);
    }

    private long root(PagingMode paging, PagingState state) {
        return switch (paging) {
            case BITS_32 -> state.cr3() & ADDRESS_32;
            case PAE -> state.cr3() & PdpteRegisters.CR3_PDPT_MASK;
            default -> state.pml4Base(maxPhysAddr);
        };
    }

    /** The entry a level uses: 4 or 8 bytes from its table, or a PDPTE register under PAE paging. */
    private WalkStep readEntry(PagingLevel level, long table, long linearAddress, PagingState state) {
        return entryAt(level, table, level.index(linearAddress), state);
    }

    /** Entry {@code index} of the {@code level} table at {@code table}, as a walk reads it (for views that list tables). */
    public WalkStep entryAt(PagingLevel level, long table, int index, PagingState state) {
        if (level == PagingLevel.PAE_PDPT) {
            PdpteRegisters registers = state.pdptes() != null ? state.pdptes() : PdpteRegisters.read(memory, state.cr3());
            return new WalkStep(level, registers.entryAddress(index), registers.entry(index));
        }
        long entryAddress = table + (long) level.entryBytes() * index;
        long entry = level.entryBytes() == 4 ? Integer.toUnsignedLong(memory.read32(entryAddress)) : memory.read64(entryAddress);
        return new WalkStep(level, entryAddress, entry);
    }

    /** The table a present non-leaf entry references. */
    public long nextTable(PagingLevel level, long entry) {
        return level.entryBytes() == 4 ? entry & ADDRESS_32 : entry & frameMask(maxPhysAddr);
    }

    /** The page a present entry maps, or null when it references a table. */
    public static PageSize mappedSize(PagingLevel level, long entry, PagingState state) {
        boolean ps = (entry & ENTRY_PS) != 0;
        return switch (level) {
            case PML5, PML4, PAE_PDPT -> null;
            case PDPT -> ps ? PageSize.SIZE_1G : null;
            case PD -> ps ? PageSize.SIZE_2M : null;
            // PS is honoured only with CR4.PSE=1 (SDM 4.3); otherwise the PDE references a page table.
            case PD_32 -> ps && state.pse() ? PageSize.SIZE_4M : null;
            case PT, PT_32 -> PageSize.SIZE_4K;
        };
    }

    /** The bits that must be 0 in a present entry of this mode and level (SDM Tables 4-4 to 4-20). */
    private long reservedBits(PagingMode paging, PagingLevel level, PageSize mapped, PagingState state) {
        long frameMask = frameMask(maxPhysAddr);
        long xd = state.nxe() ? 0 : ENTRY_XD;
        return switch (level) {
            // Table 4-4: a 4-MiB PDE reserves bit 21 and the bits 20:13 beyond MAXPHYADDR (at most 40).
            case PD_32 -> mapped == null ? 0 : RESERVED_4M
                    | (0x1f_e000L & ~(((1L << (Math.min(maxPhysAddr, PSE36_MAXPHYADDR) - 32)) - 1) << 13));
            case PT_32 -> 0; // 32-bit paging has no other reserved bits (Tables 4-5, 4-6)
            case PAE_PDPT -> PdpteRegisters.reservedBits(maxPhysAddr);
            default -> {
                long address = paging == PagingMode.PAE ? ADDRESS_BITS_63 : ADDRESS_BITS_52;
                long everywhere = (address & ~frameMask) | xd;
                yield everywhere | switch (level) {
                    case PML5, PML4 -> ENTRY_PS;
                    case PDPT -> mapped != null ? RESERVED_1G : 0;
                    case PD -> mapped != null ? RESERVED_2M : 0;
                    default -> 0;
                };
            }
        };
    }

    /** The physical address of the page a leaf maps; a 4-MiB page's bits 39:32 come from PDE bits 20:13 (PSE-36). */
    public long frameBase(PageSize mapped, long entry) {
        if (mapped == PageSize.SIZE_4M) {
            return (entry & ADDRESS_4M_LOW) | ((entry >>> 13) & 0xff) << 32;
        }
        return entry & frameMask(maxPhysAddr) & ~mapped.offsetMask();
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
            if (step.level() == PagingLevel.PAE_PDPT) {
                continue; // a register, with no A flag
            }
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
            if (hi == 63 && lo == 63 && level != PagingLevel.PAE_PDPT) {
                run += " (XD, EFER.NXE=0)";
            } else if ((level == PagingLevel.PML4 || level == PagingLevel.PML5) && hi == 7 && lo == 7) {
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
