package dev.pml4.mmu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The one walker in every paging mode (SDM Vol. 3A 4.3 to 4.5): translations, not-present and
 * reserved-bit faults, rights (WP, SMEP, SMAP, XD) and the #PF error code per mode, A/D, and PAE's
 * PDPTE registers. The 4-level tables of cases in the other PageWalker tests stay as they were;
 * this table puts the modes side by side.
 */
class PageWalkerModesTest {

    /**
     * Columns: mode, page size, flags of every entry (W, U, XD; P always), a change to one entry
     * ("LEVEL+HEX" ORs bits in, "LEVEL-HEX" clears them, LEVEL an index into the mode's levels),
     * the state (WP NXE SMEP SMAP AC PSE), the access, who (S supervisor, U user, I implicit
     * supervisor), and the result: "ok PHYSICAL" or "ERRORCODE reason".
     */
    @ParameterizedTest(name = "[{index}] {0} {1} [{2}] {3} [{4}] {5} {6} -> {7}")
    @CsvSource(delimiter = '|', textBlock = """
            # 32-bit paging (4.3): 4-byte entries, 4 MiB pages with CR4.PSE and PSE-36, no XD.
            BITS_32    | SIZE_4K | W U  | -         | -         | READ  | S | ok 7ff567
            BITS_32    | SIZE_4M | W U  | -         | PSE       | READ  | S | ok 100403567
            BITS_32    | SIZE_4M | W U  | -         | -         | READ  | S | 0 PTE not present
            BITS_32    | SIZE_4K | W U  | 1-1       | -         | READ  | S | 0 PTE not present
            BITS_32    | SIZE_4K | W U  | 0-1       | -         | WRITE | U | 6 PDE not present
            BITS_32    | SIZE_4K | W U  | 1-1       | NXE       | FETCH | U | 4 PTE not present
            BITS_32    | SIZE_4K | W U  | 1-1       | SMEP      | FETCH | U | 14 PTE not present
            BITS_32    | SIZE_4K | W U  | -         | SMEP      | FETCH | S | 11 SMEP: supervisor fetch from user page
            BITS_32    | SIZE_4K | W U  | 1+80000000 | NXE      | FETCH | U | ok 807ff567
            BITS_32    | SIZE_4M | W U  | 0+200000  | PSE       | READ  | S | 9 reserved bit 21 set in PDE mapping a 4 MiB page
            BITS_32    | SIZE_4M | W U  | 0+100000  | PSE       | READ  | S | 9 reserved bit 20 set in PDE mapping a 4 MiB page
            BITS_32    | SIZE_4M | W U  | 0+1e000   | PSE       | READ  | S | ok f00403567
            BITS_32    | SIZE_4K | U    | -         | WP        | WRITE | S | 3 write to read-only page (CR0.WP=1)
            BITS_32    | SIZE_4K | U    | -         | -         | WRITE | S | ok 7ff567
            BITS_32    | SIZE_4K | W    | -         | -         | READ  | U | 5 user access to supervisor page
            BITS_32    | SIZE_4K | W U  | 0-4       | -         | READ  | U | 5 user access to supervisor page
            BITS_32    | SIZE_4K | W U  | -         | SMAP      | READ  | S | 1 SMAP: supervisor read of user page
            BITS_32    | SIZE_4K | W U  | -         | SMAP AC   | READ  | S | ok 7ff567
            BITS_32    | SIZE_4K | W U  | -         | SMAP AC   | WRITE | I | 3 SMAP: implicit supervisor write to user page
            # PAE paging (4.4): PDPTEs carry no rights, bits 62:MAXPHYADDR reserved, XD with NXE.
            PAE        | SIZE_4K | W U  | -         | -         | READ  | S | ok 7ff567
            PAE        | SIZE_2M | W U  | -         | -         | WRITE | U | ok 604567
            PAE        | SIZE_4K | W U  | 0-1       | -         | READ  | S | 0 PDPTE not present
            PAE        | SIZE_4K | W U  | 0+2       | -         | READ  | S | 9 reserved bit 1 set in PDPTE
            PAE        | SIZE_4K | W U  | 0+8000000000000000 | NXE | READ | S | 9 reserved bit 63 set in PDPTE
            PAE        | SIZE_4K | W U  | 1+10000000000000 | NXE | READ | S | 9 reserved bit 52 set in PDE
            PAE        | SIZE_4K | W U  | 2+8000000000000000 | - | READ | S | 9 reserved bit 63 (XD, EFER.NXE=0) set in PTE
            PAE        | SIZE_4K | W U  | 2+8000000000000000 | NXE | FETCH | S | 11 instruction fetch from NX page
            PAE        | SIZE_4K | W U  | 1+8000000000000000 | NXE | READ | U | ok 7ff567
            PAE        | SIZE_4K | W U  | 2-1       | NXE       | FETCH | U | 14 PTE not present
            PAE        | SIZE_2M | W U  | 1+2000    | -         | READ  | S | 9 reserved bit 13 set in PDE mapping a 2 MiB page
            PAE        | SIZE_4K | U    | -         | WP        | WRITE | U | 7 write to read-only page
            PAE        | SIZE_4K | W U  | -         | SMEP      | FETCH | S | 11 SMEP: supervisor fetch from user page
            # 4-level paging keeps bits 62:52 ignored where PAE reserves them.
            FOUR_LEVEL | SIZE_4K | W U  | 1+10000000000000 | NXE | READ | S | ok 7ff567
            # 5-level paging (4.5): a PML5E first, 1 GiB pages, the PML5E's PS reserved.
            FIVE_LEVEL | SIZE_4K | W U  | -         | -         | READ  | S | ok 7ff567
            FIVE_LEVEL | SIZE_2M | W U  | -         | -         | READ  | U | ok 604567
            FIVE_LEVEL | SIZE_1G | W U  | -         | -         | WRITE | S | ok 40604567
            FIVE_LEVEL | SIZE_4K | W U  | 0-1       | NXE       | FETCH | S | 10 PML5E not present
            FIVE_LEVEL | SIZE_4K | W U  | 0+80      | -         | READ  | S | 9 reserved bit 7 (PS) set in PML5E
            FIVE_LEVEL | SIZE_4K | W U  | 0+1000000000 | -      | WRITE | U | f reserved bit 36 set in PML5E
            FIVE_LEVEL | SIZE_4K | W U  | 0-2       | -         | WRITE | U | 7 write to read-only page
            FIVE_LEVEL | SIZE_4K | W U  | 0+8000000000000000 | NXE | FETCH | U | 15 instruction fetch from NX page
            FIVE_LEVEL | SIZE_4K | W U  | -         | SMAP      | WRITE | I | 3 SMAP: implicit supervisor write to user page
            """)
    void everyModeWalksItsOwnFormat(PagingMode mode, PageSize size, String flags, String change, String state,
                                    AccessType type, String who, String expected) {
        try (ModeTables t = new ModeTables(mode)) {
            int leaf = t.chain(size, Paging.flags(flags) & ~Paging.P);
            int changed = -1;
            if (!change.equals("-")) {
                char op = change.contains("+") ? '+' : '-';
                changed = Integer.parseInt(change.substring(0, change.indexOf(op)));
                long bits = Long.parseUnsignedLong(change.substring(change.indexOf(op) + 1), 16);
                t.set(changed, op == '+' ? t.get(changed) | bits : t.get(changed) & ~bits);
            }
            AccessMode access = switch (who) {
                case "U" -> AccessMode.USER;
                case "I" -> AccessMode.IMPLICIT_SUPERVISOR;
                default -> AccessMode.SUPERVISOR;
            };
            WalkResult r = t.walker().translate(t.linear(), type, access, t.state(state));
            String[] want = expected.split(" ", 2);
            List<PagingLevel> levels = mode.levels();
            if (want[0].equals("ok")) {
                Translation tr = assertInstanceOf(Translation.class, r, () -> r.toString());
                assertEquals(Long.parseLong(want[1], 16), tr.physicalAddress());
                assertEquals(levels.subList(0, tr.steps().size()), tr.steps().stream().map(WalkStep::level).toList());
            } else {
                PageFault f = assertInstanceOf(PageFault.class, r, () -> r.toString());
                assertEquals(Integer.parseInt(want[0], 16), f.errorCode(), f.reason());
                assertEquals(want[1], f.reason());
                assertEquals(t.linear(), f.linearAddress());
                if (changed >= 0 && !f.reason().contains("page")) {
                    // A not-present or reserved-bit fault ends at the entry that has it.
                    assertEquals(levels.get(changed), f.steps().getLast().level());
                    assertEquals(t.entryAddress(changed), f.steps().getLast().entryAddress());
                }
            }
        }
    }

    /** Entries at their width: 32-bit paging's step addresses advance by 4, the others' by 8. */
    @ParameterizedTest
    @EnumSource(value = PagingMode.class, names = {"BITS_32", "PAE", "FOUR_LEVEL", "FIVE_LEVEL"})
    void stepsNameTheModesLevelsAtTheirAddresses(PagingMode mode) {
        try (ModeTables t = new ModeTables(mode)) {
            t.chain(PageSize.SIZE_4K, Paging.W);
            Translation tr = (Translation) t.walker().probe(t.linear(), AccessType.READ, AccessMode.SUPERVISOR, t.state("-"));
            assertEquals(mode.levels().size(), tr.steps().size());
            for (int i = 0; i < tr.steps().size(); i++) {
                assertEquals(t.entryAddress(i), tr.steps().get(i).entryAddress());
                assertEquals(t.get(i), tr.steps().get(i).entryValue());
            }
            List<String> names = tr.steps().stream().map(s -> s.level().entryName()).toList();
            assertEquals(switch (mode) {
                case BITS_32 -> List.of("PDE", "PTE");
                case PAE -> List.of("PDPTE", "PDE", "PTE");
                case FOUR_LEVEL -> List.of("PML4E", "PDPTE", "PDE", "PTE");
                default -> List.of("PML5E", "PML4E", "PDPTE", "PDE", "PTE");
            }, names);
        }
    }

    /**
     * SDM 4.8 per mode: a write sets A in every entry used and D in the leaf; PAE's PDPTE registers
     * (no A flag) and the memory they were loaded from stay untouched; 4-byte entries' neighbours too.
     */
    @ParameterizedTest(name = "{0} {1} {2}")
    @CsvSource({
            "BITS_32, SIZE_4K, WRITE", "BITS_32, SIZE_4M, WRITE", "BITS_32, SIZE_4K, READ",
            "PAE, SIZE_4K, WRITE", "PAE, SIZE_2M, READ",
            "FIVE_LEVEL, SIZE_4K, WRITE", "FIVE_LEVEL, SIZE_1G, WRITE", "FIVE_LEVEL, SIZE_2M, READ",
    })
    void accessedAndDirtyInEveryMode(PagingMode mode, PageSize size, AccessType type) {
        try (ModeTables t = new ModeTables(mode)) {
            int leaf = t.chain(size, Paging.W | Paging.U);
            long[] before = new long[leaf + 1];
            long[] neighbours = new long[leaf + 1];
            for (int i = 0; i <= leaf; i++) {
                before[i] = t.get(i);
                neighbours[i] = t.mem.read64(t.entryAddress(i) + 8);
            }
            var r = t.walker().translate(t.linear(), type, AccessMode.USER, t.state("PSE NXE"));
            Translation tr = assertInstanceOf(Translation.class, r, r::toString);
            assertEquals(type == AccessType.WRITE, tr.dirty());
            for (int i = 0; i <= leaf; i++) {
                boolean register = mode.levels().get(i) == PagingLevel.PAE_PDPT;
                long wanted = register ? 0 : Paging.A | (i == leaf && type == AccessType.WRITE ? Paging.D : 0);
                assertEquals(before[i] | wanted, t.get(i), mode.levels().get(i).entryName());
                assertEquals(neighbours[i], t.mem.read64(t.entryAddress(i) + 8), "the next entry");
            }
        }
    }

    /** SDM 4.4.1: walks use the PDPTE registers as loaded; a changed PDPT in memory counts only after a reload. */
    @Test
    void paeWalksUseThePdpteRegistersNotThePdptInMemory() {
        try (ModeTables t = new ModeTables(PagingMode.PAE)) {
            t.chain(PageSize.SIZE_4K, Paging.W);
            PagingState plain = t.state("-");
            PdpteRegisters loaded = PdpteRegisters.read(t.mem, plain.cr3());
            assertNull(loaded.loadFault(36));
            var withRegisters = new PagingState(plain.cr0(), plain.cr3(), plain.cr4(), plain.efer(), false, loaded);
            t.set(0, 0); // the kernel clears PDPTE 3 in memory, without reloading CR3
            assertInstanceOf(Translation.class,
                    t.walker().translate(t.linear(), AccessType.READ, AccessMode.SUPERVISOR, withRegisters));
            PageFault f = assertInstanceOf(PageFault.class,
                    t.walker().translate(t.linear(), AccessType.READ, AccessMode.SUPERVISOR, plain));
            assertEquals("PDPTE not present", f.reason());
            var reloaded = new PagingState(plain.cr0(), plain.cr3(), plain.cr4(), plain.efer(), false,
                    PdpteRegisters.read(t.mem, plain.cr3()));
            assertInstanceOf(PageFault.class,
                    t.walker().translate(t.linear(), AccessType.READ, AccessMode.SUPERVISOR, reloaded));
        }
    }

    /** SDM 4.4.1, Table 4-8: loading a present PDPTE with bits 2:1, 8:5 or 63:MAXPHYADDR set is #GP(0). */
    @ParameterizedTest(name = "PDPTE 0x{0}")
    @CsvSource({
            "0000000000002001, ",
            "0000000000002000, ",
            "0000000000002003, reserved bits 0x2",
            "0000000000002021, reserved bits 0x20",
            "0000000000002101, reserved bits 0x100",
            "0000001000002001, reserved bits 0x1000000000",
            "8000000000002001, reserved bits 0x8000000000000000",
            "ffffffffffffffe0, ",
            "0000000000002e19, ",
    })
    void pdpteRegisterLoadsRefuseReservedBits(String hex, String fault) {
        var regs = new PdpteRegisters(0x1020, 0x1001, 0, Long.parseUnsignedLong(hex, 16), 0);
        String why = regs.loadFault(36);
        if (fault == null) {
            assertNull(why);
        } else {
            assertNotNull(why);
            assertTrue(why.startsWith("PDPTE 2 at 0x1030"), why);
            assertTrue(why.endsWith(fault + " set"), why);
        }
    }

    @ParameterizedTest(name = "{0} 0x{1}")
    @CsvSource({
            "FOUR_LEVEL, 00007fffffffffff, true", "FOUR_LEVEL, 0000800000000000, false",
            "FOUR_LEVEL, ffff800000000000, true", "FIVE_LEVEL, 0000800000000000, true",
            "FIVE_LEVEL, 00ffffffffffffff, true", "FIVE_LEVEL, 0100000000000000, false",
            "FIVE_LEVEL, ff00000000000000, true", "FIVE_LEVEL, fe00000000000000, false",
            "PAE, 0000800000000000, true", "BITS_32, ffffffff00000000, true",
    })
    void canonicalAddressesPerMode(PagingMode mode, String hex, boolean canonical) {
        assertEquals(canonical, mode.canonical(Long.parseUnsignedLong(hex, 16)));
    }
}
