package dev.pml4.mmu;

import dev.pml4.machine.PhysicalMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static dev.pml4.mmu.ResidentMappings.EXEC;
import static dev.pml4.mmu.ResidentMappings.READ;
import static dev.pml4.mmu.ResidentMappings.WRITE;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The engine-side image of the TLB (DESIGN.md, "The TLB model"): what {@link ResidentMappings}
 * asks the engine to map, protect and unmap, seen through a strict fake engine. RAM is 8 MiB from
 * physical 0; everything above is a hole.
 */
class ResidentMappingsTest {
    static final long RAM = 8L << 20;
    /** 1 GiB aligned, so aligned for every page size. */
    static final long LINEAR = 0x0000_7f00_0000_0000L;
    static final PageRights RWX = new PageRights(true, true, true);

    private final PhysicalMemory memory = new PhysicalMemory(RAM);
    private final RecordingMapper engine = new RecordingMapper(memory);
    private final ResidentMappings mappings = new ResidentMappings(memory, engine);

    @AfterEach
    void close() {
        memory.close();
    }

    static TlbEntry entry(long linear, long frame, PageSize size) {
        return new TlbEntry(linear & ~size.offsetMask(), frame, size, RWX, false, 0, true);
    }

    /** One chunk of the entry's own size when its frames are all RAM or all hole. */
    @ParameterizedTest(name = "[{index}] {0} at frame {1}, perms {2}")
    @CsvSource(delimiter = '|', textBlock = """
            SIZE_4K | 0x7ff000   | 1 | map  | 0x1000
            SIZE_4K | 0x7ff000   | 3 | map  | 0x1000
            SIZE_4K | 0x7ff000   | 5 | map  | 0x1000
            SIZE_4K | 0x7ff000   | 7 | map  | 0x1000
            SIZE_4K | 0x10000000 | 1 | hole | 0x1000
            SIZE_2M | 0x600000   | 1 | map  | 0x200000
            SIZE_2M | 0x200000   | 7 | map  | 0x200000
            SIZE_2M | 0x800000   | 3 | hole | 0x200000
            SIZE_1G | 0x40000000 | 1 | hole | 0x40000000
            """)
    void installMapsOneChunkOfThePageSizeWithThePermissionsGiven(PageSize size, String frame, int perms, String op,
                                                                 String chunkSize) {
        long physical = Long.decode(frame);
        TlbEntry e = entry(LINEAR, physical, size);
        long linear = LINEAR + size.bytes() / 2 + 0x123; // any address of the page

        mappings.install(linear, e, null, perms);

        long expectedPerms = op.equals("hole") ? READ | WRITE : perms;
        assertEquals(List.of(new RecordingMapper.Call(op, LINEAR, Long.decode(chunkSize), (int) expectedPerms, physical)),
                engine.calls);
        assertEquals(List.of(new ResidentMappings.Chunk(LINEAR, Long.decode(chunkSize), physical, op.equals("map"), perms)),
                mappings.chunks());
        assertEquals(physical + (linear - LINEAR), engine.physical(linear));
        assertEquals(1, mappings.mapCount());
    }

    /**
     * A chunk is as large as the smaller of the two entries covering it, and lies inside both:
     * a 4 KiB code page in a 2 MiB data page maps as 4 KiB.
     */
    @ParameterizedTest(name = "[{index}] data {0}, code {1} -> chunk 0x{2}")
    @CsvSource(delimiter = '|', textBlock = """
            SIZE_4K | SIZE_2M | 1000
            SIZE_2M | SIZE_4K | 1000
            SIZE_2M | SIZE_2M | 200000
            SIZE_1G | SIZE_2M | 200000
            SIZE_2M | SIZE_1G | 200000
            SIZE_1G | SIZE_4K | 1000
            """)
    void aChunkIsTheSmallerOfTheDataAndCodePages(PageSize data, PageSize code, String chunk) {
        // The region maps linear LINEAR + x to physical x, so both entries agree on every address.
        long linear = LINEAR + 0x34_5678L;
        TlbEntry d = entry(linear, (linear - LINEAR) & ~data.offsetMask(), data);
        TlbEntry c = entry(linear, (linear - LINEAR) & ~code.offsetMask(), code);
        assertEquals(d.physicalAddress(linear), c.physicalAddress(linear), "test set-up");

        mappings.install(linear, d, c, READ | EXEC);

        long size = Long.parseLong(chunk, 16);
        ResidentMappings.Chunk only = mappings.chunks().getFirst();
        assertEquals(1, mappings.chunks().size());
        assertEquals(size, only.size());
        assertEquals(linear & -size, only.linear());
        assertEquals(d.physicalAddress(linear & -size), only.physical());
    }

    /**
     * The same chunk again: nothing when the permissions are the same, one protect when they are
     * not (the D flag got set, an ITLB entry joined); never an unmap and map of the same frames.
     */
    @ParameterizedTest(name = "[{index}] {0}: {1} then {2}")
    @CsvSource(delimiter = '|', textBlock = """
            SIZE_4K | 1 | 1 | -
            SIZE_4K | 1 | 3 | protect
            SIZE_4K | 3 | 1 | protect
            SIZE_4K | 1 | 5 | protect
            SIZE_4K | 7 | 0 | protect
            SIZE_2M | 1 | 3 | protect
            SIZE_2M | 5 | 5 | -
            """)
    void reinstallingWithOtherPermissionsProtectsInsteadOfRemapping(PageSize size, int first, int second, String op) {
        TlbEntry e = entry(LINEAR, 0x600000 & ~size.offsetMask(), size);
        mappings.install(LINEAR + 0x10, e, null, first);
        engine.clear();

        mappings.install(LINEAR + 0x20, e, null, second);

        assertEquals(op.equals("-") ? List.of() : List.of(new RecordingMapper.Call(op, LINEAR, size.bytes(), second, -1)),
                engine.calls);
        assertEquals(second, mappings.chunkAt(LINEAR).perms());
        assertEquals(1, mappings.mapCount());
        assertEquals(0, mappings.unmapCount());
    }

    @Test
    void aHoleChunkKeepsItsMappingWhenPermissionsChange() {
        // Holes are MMIO in the engine, which has no protections to change: only the record changes.
        TlbEntry e = entry(LINEAR, 0x1000_0000L, PageSize.SIZE_4K);
        mappings.install(LINEAR, e, null, READ);
        engine.clear();
        mappings.install(LINEAR, e, null, READ | WRITE);
        assertEquals(List.of(), engine.calls);
        assertEquals(READ | WRITE, mappings.chunkAt(LINEAR).perms());
    }

    @Test
    void anotherFrameForTheSamePageUnmapsAndMapsAgain() {
        mappings.install(LINEAR, entry(LINEAR, 0x5000, PageSize.SIZE_4K), null, READ);
        engine.clear();
        mappings.install(LINEAR, entry(LINEAR, 0x6000, PageSize.SIZE_4K), null, READ);
        assertEquals(List.of("unmap 0x7f0000000000+0x1000 ---", "map 0x7f0000000000+0x1000 r-- @0x6000"), engine.log());
    }

    /**
     * A chunk never covers RAM and a hole at once (one engine mapping is either memory or MMIO):
     * it shrinks to the largest size that is uniform, 1 GiB to 2 MiB, 2 MiB to 4 KiB. The 2 MiB
     * rows run on 7 MiB of RAM, so that the page at physical 6 MiB is half RAM, half hole; the
     * 1 GiB rows map physical 0 on 8 MiB of RAM.
     */
    @ParameterizedTest(name = "[{index}] {0} at frame {1}, access at +{2} -> {3} +{4} size {5} @{6}")
    @CsvSource(delimiter = '|', textBlock = """
            SIZE_2M | 0x600000 | 0x0        | map  | 0x0        | 0x1000   | 0x600000
            SIZE_2M | 0x600000 | 0xff123    | map  | 0xff000    | 0x1000   | 0x6ff000
            SIZE_2M | 0x600000 | 0x100000   | hole | 0x100000   | 0x1000   | 0x700000
            SIZE_2M | 0x600000 | 0x1fffff   | hole | 0x1ff000   | 0x1000   | 0x7ff000
            SIZE_1G | 0x0      | 0x123456   | map  | 0x0        | 0x200000 | 0x0
            SIZE_1G | 0x0      | 0x7fffff   | map  | 0x600000   | 0x200000 | 0x600000
            SIZE_1G | 0x0      | 0x800000   | hole | 0x800000   | 0x200000 | 0x800000
            SIZE_1G | 0x0      | 0x3fffffff | hole | 0x3fe00000 | 0x200000 | 0x3fe00000
            """)
    void aChunkSpanningRamAndAHoleShrinks(PageSize size, String frame, String offset, String op, String chunkOffset,
                                          String chunkSize, String chunkPhysical) {
        try (PhysicalMemory machine = new PhysicalMemory(size == PageSize.SIZE_2M ? 7L << 20 : RAM)) {
            RecordingMapper eng = new RecordingMapper(machine);
            ResidentMappings m = new ResidentMappings(machine, eng);
            TlbEntry e = new TlbEntry(LINEAR, Long.decode(frame), size, RWX, false, 0, true);

            m.install(LINEAR + Long.decode(offset), e, null, READ);

            int perms = op.equals("map") ? READ : READ | WRITE; // the fake engine's MMIO is read/write
            assertEquals(List.of(new RecordingMapper.Call(op, LINEAR + Long.decode(chunkOffset), Long.decode(chunkSize),
                    perms, Long.decode(chunkPhysical))), eng.calls);
        }
    }

    /** removeRange(start, end) unmaps every chunk with a byte in [start, end), and only those. */
    @ParameterizedTest(name = "[{index}] remove [+{0}, +{1}) -> unmaps {2}")
    @CsvSource(delimiter = '|', textBlock = """
            0x0      | 0x1000   | A
            0x800    | 0x801    | A
            0xfff    | 0x1001   | A
            0x1000   | 0x2000   | -
            0x1000   | 0x3000   | B
            0x2fff   | 0x3000   | B
            0x0      | 0x400000 | A B L
            0x3000   | 0x200000 | -
            0x3000   | 0x200001 | L
            0x3fffff | 0x400000 | L
            0x400000 | 0x500000 | -
            """)
    void removeRangeUnmapsExactlyWhatOverlaps(String start, String end, String expected) {
        // A: 4 KiB at +0; B: 4 KiB at +0x2000; L: 2 MiB at +0x200000. Gaps at +0x1000 and +0x3000.
        mappings.install(LINEAR, entry(LINEAR, 0x10000, PageSize.SIZE_4K), null, READ);
        mappings.install(LINEAR + 0x2000, entry(LINEAR + 0x2000, 0x20000, PageSize.SIZE_4K), null, READ);
        mappings.install(LINEAR + 0x20_0000, entry(LINEAR + 0x20_0000, 0x20_0000, PageSize.SIZE_2M), null, READ);
        engine.clear();

        mappings.removeRange(LINEAR + Long.decode(start), LINEAR + Long.decode(end));

        List<String> unmapped = new ArrayList<>();
        for (RecordingMapper.Call c : engine.calls) {
            assertEquals("unmap", c.op());
            unmapped.add(c.linear() == LINEAR ? "A" : c.linear() == LINEAR + 0x2000 ? "B" : "L");
        }
        assertEquals(expected.equals("-") ? List.of() : List.of(expected.split(" ")), unmapped);
        assertEquals(3 - unmapped.size(), mappings.chunks().size());
        assertEquals(unmapped.size(), mappings.unmapCount());
    }

    @Test
    void removeAllUnmapsEveryChunkOnce() {
        mappings.install(LINEAR, entry(LINEAR, 0x10000, PageSize.SIZE_4K), null, READ);
        mappings.install(LINEAR + 0x20_0000, entry(LINEAR + 0x20_0000, 0x20_0000, PageSize.SIZE_2M), null, READ);
        mappings.install(LINEAR + 0x4000_0000L, entry(LINEAR + 0x4000_0000L, 0x4000_0000L, PageSize.SIZE_1G), null, READ);
        engine.clear();
        mappings.removeAll();
        assertEquals(List.of("unmap 0x7f0000000000+0x1000 ---", "unmap 0x7f0000200000+0x200000 ---",
                "unmap 0x7f0040000000+0x40000000 ---"), engine.log());
        assertEquals(List.of(), mappings.chunks());
        assertEquals(List.of(), engine.mappings());
        mappings.removeAll();
        assertEquals(3, engine.calls.size(), "nothing left to unmap");
    }

    /**
     * Chunks never overlap, and the engine's mappings are exactly the chunks, whatever is
     * installed where (the strict fake engine refuses an overlapping map outright).
     */
    @Test
    void chunksNeverOverlapWhateverIsInstalled() {
        Random random = new Random(4_10_2L);
        PageSize[] sizes = PageSize.values();
        for (int i = 0; i < 3000; i++) {
            long linear = LINEAR + (random.nextLong(1L << 31) & ~0xfffL);
            PageSize ds = sizes[random.nextInt(3)];
            PageSize cs = sizes[random.nextInt(3)];
            long frameOf1g = (random.nextBoolean() ? 0 : 0x4000_0000L);
            // Entries as the page tables of one 1 GiB region mapped at frameOf1g would give them.
            long physical = frameOf1g + ((linear - LINEAR) & 0x3fff_ffffL);
            TlbEntry d = random.nextInt(4) == 0 ? null : new TlbEntry(linear & ~ds.offsetMask(),
                    physical & ~ds.offsetMask(), ds, RWX, false, 0, true);
            TlbEntry c = (d == null || random.nextBoolean()) ? new TlbEntry(linear & ~cs.offsetMask(),
                    physical & ~cs.offsetMask(), cs, RWX, false, 0, true) : null;
            switch (random.nextInt(10)) {
                case 0 -> mappings.removeRange(linear, linear + random.nextLong(1L << 22));
                case 1 -> mappings.removeAll();
                default -> mappings.install(linear, d, c, 1 + random.nextInt(7));
            }
            List<ResidentMappings.Chunk> chunks = mappings.chunks();
            for (int k = 1; k < chunks.size(); k++) {
                assertTrue(chunks.get(k - 1).end() <= chunks.get(k).linear(), () -> "overlap: " + chunks);
            }
            List<RecordingMapper.Mapping> live = engine.mappings();
            assertEquals(chunks.size(), live.size());
            for (int k = 0; k < chunks.size(); k++) {
                assertEquals(chunks.get(k).linear(), live.get(k).linear());
                assertEquals(chunks.get(k).size(), live.get(k).size());
            }
        }
    }

    /**
     * Code and data of different page sizes in one region: the larger entry's chunk would swallow
     * the smaller one's, and each access would unmap what the other just mapped. After one round,
     * both accesses must go through the engine's mappings alone, with no calls at all.
     */
    @ParameterizedTest(name = "[{index}] code {0} at +{1}, data {2} at +{3}")
    @CsvSource(delimiter = '|', textBlock = """
            SIZE_4K | 0x1000   | SIZE_2M | 0x5000
            SIZE_4K | 0x0      | SIZE_2M | 0x1ff000
            SIZE_2M | 0x3000   | SIZE_4K | 0x7000
            SIZE_2M | 0x1ff000 | SIZE_4K | 0x0
            SIZE_4K | 0x2000   | SIZE_1G | 0x1000
            SIZE_1G | 0x400000 | SIZE_4K | 0x401000
            SIZE_2M | 0x0      | SIZE_1G | 0x200000
            SIZE_1G | 0x0      | SIZE_2M | 0x1000
            """)
    void codeAndDataOfDifferentPageSizesDoNotEvictEachOtherInALoop(PageSize codeSize, String codeAt, PageSize dataSize,
                                                                  String dataAt) {
        // The region maps linear LINEAR + x to physical x (RAM below 8 MiB).
        long code = LINEAR + Long.decode(codeAt);
        long data = LINEAR + Long.decode(dataAt);
        TlbEntry codeEntry = new TlbEntry(code & ~codeSize.offsetMask(), (code - LINEAR) & ~codeSize.offsetMask(),
                codeSize, RWX, false, 0, true);
        TlbEntry dataEntry = new TlbEntry(data & ~dataSize.offsetMask(), (data - LINEAR) & ~dataSize.offsetMask(),
                dataSize, RWX, false, 0, true);

        for (int round = 0; round < 4; round++) {
            if (round == 2) {
                engine.clear();
            }
            // What the MMU does on an engine miss: install with whichever entries cover the page.
            if (!engine.allows(code, EXEC)) {
                mappings.install(code, dataEntry.covers(code) ? dataEntry : null, codeEntry,
                        EXEC | (dataEntry.covers(code) ? READ : 0));
            }
            if (!engine.allows(data, READ)) {
                mappings.install(data, dataEntry, codeEntry.covers(data) ? codeEntry : null,
                        READ | (codeEntry.covers(data) ? EXEC : 0));
            }
        }
        assertEquals(List.of(), engine.log(), "the third and fourth rounds ran from the engine's mappings alone");
        assertTrue(engine.allows(code, EXEC));
        assertTrue(engine.allows(data, READ));
        assertEquals(code - LINEAR, engine.physical(code));
        assertEquals(data - LINEAR, engine.physical(data));
    }

    // ---- write-watched frames (the TLB checker's live paging structures) ----------------------------

    /** A 2 MiB page over a watched frame maps 4 KiB at a time; the watched page alone is read-only. */
    @Test
    void aWatchedFrameIsReadOnlyAndSplitsLargePagesAround() {
        TlbEntry e = entry(LINEAR, 0x200000, PageSize.SIZE_2M);
        mappings.install(LINEAR + 0x5000, e, null, READ | WRITE);
        assertEquals(List.of("map 0x7f0000000000+0x200000 rw- @0x200000"), engine.log());
        engine.clear();
        mappings.watchWrites(0x205000);
        assertEquals(List.of("unmap 0x7f0000000000+0x200000 ---"), engine.log(), "a writable chunk onto the frame goes");
        assertTrue(mappings.isWriteWatched(0x205ff8));
        assertFalse(mappings.isWriteWatched(0x206000));
        engine.clear();
        mappings.install(LINEAR + 0x5000, e, null, READ | WRITE);
        mappings.install(LINEAR + 0x6000, e, null, READ | WRITE);
        assertEquals(List.of("map 0x7f0000005000+0x1000 r-- @0x205000", "map 0x7f0000006000+0x1000 rw- @0x206000"), engine.log());
    }

    /** A write window makes the watched page writable for one write, then read-only again; unwatched, it gains write on its next install. */
    @Test
    void aWriteWindowOpensAndClosesAndUnwatchingGivesWriteBack() {
        TlbEntry e = entry(LINEAR, 0x205000, PageSize.SIZE_4K);
        mappings.watchWrites(0x205000);
        mappings.install(LINEAR, e, null, READ | WRITE);
        assertFalse(engine.allows(LINEAR, WRITE));
        mappings.openWriteWindow(LINEAR + 0x10);
        assertTrue(engine.allows(LINEAR, WRITE));
        mappings.closeWriteWindow(LINEAR);
        assertFalse(engine.allows(LINEAR, WRITE));
        assertTrue(engine.allows(LINEAR, READ));
        mappings.unwatchWrites(0x205000);
        mappings.install(LINEAR, e, null, READ | WRITE);
        assertTrue(engine.allows(LINEAR, WRITE));
    }

    /** A window whose chunk was unmapped meanwhile protects nothing when it closes. */
    @Test
    void aWindowOverAChunkThatWentClosesQuietly() {
        TlbEntry e = entry(LINEAR, 0x205000, PageSize.SIZE_4K);
        mappings.watchWrites(0x205000);
        mappings.install(LINEAR, e, null, READ | WRITE);
        mappings.openWriteWindow(LINEAR);
        mappings.removeRange(LINEAR, LINEAR + 0x1000);
        engine.clear();
        mappings.closeWriteWindow(LINEAR);
        assertEquals(List.of(), engine.log());
    }

    /**
     * The engine holds at most a budget of chunks (Unicorn 2.0.1 aborts before 4,096 regions,
     * DESIGN.md fact 13): mapping one more unmaps the least recently mapped or re-permitted one.
     */
    @Test
    void theEngineHoldsNoMoreChunksThanItsBudgetAndDropsTheLeastRecentlyUsed() {
        ResidentMappings bounded = new ResidentMappings(memory, engine, 4);
        for (int i = 0; i < 4; i++) {
            bounded.install(LINEAR + i * 0x1000L, entry(LINEAR + i * 0x1000L, 0x10000 + i * 0x1000L, PageSize.SIZE_4K), null, READ);
        }
        // Page 0 gains a right: it becomes the most recently used, page 1 the least.
        bounded.install(LINEAR, entry(LINEAR, 0x10000, PageSize.SIZE_4K), null, READ | WRITE);
        engine.calls.clear();

        bounded.install(LINEAR + 0x4000, entry(LINEAR + 0x4000, 0x14000, PageSize.SIZE_4K), null, READ);

        assertEquals(List.of(new RecordingMapper.Call("unmap", LINEAR + 0x1000, 0x1000, 0, -1),
                new RecordingMapper.Call("map", LINEAR + 0x4000, 0x1000, READ, 0x14000)), engine.calls);
        assertEquals(4, bounded.chunks().size());
        assertNull(bounded.chunkAt(LINEAR + 0x1000));
        assertEquals(1, bounded.budgetUnmaps());
    }

    @Test
    void aBudgetTooSmallForOneInstructionIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new ResidentMappings(memory, engine, 3));
    }
}
