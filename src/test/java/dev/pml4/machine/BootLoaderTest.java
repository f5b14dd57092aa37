package dev.pml4.machine;

import static dev.pml4.machine.ElfBuilder.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.pml4.machine.BootProtocol.MemoryType;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class BootLoaderTest {
    static final String NAME = "guest/bad.elf";
    static final long MIB = 1L << 20;
    static final byte[] TEXT = ElfImageTest.TEXT;
    static final byte[] DATA = ElfImageTest.DATA;
    static final long HIGH = 0xffff_ffff_8000_0000L;

    private final List<PhysicalMemory> memories = new ArrayList<>();

    @AfterEach
    void close() {
        memories.forEach(PhysicalMemory::close);
    }

    PhysicalMemory ram(long size) {
        PhysicalMemory m = new PhysicalMemory(size);
        memories.add(m);
        return m;
    }

    static ElfImage elf(ElfBuilder b) {
        try {
            return ElfImage.parse(NAME, b.build());
        } catch (ImageRejectedException e) {
            throw new AssertionError(e);
        }
    }

    static FlatImage flat(int size, long load) {
        try {
            return FlatImage.of("guest/bad.bin", new byte[size], load, load);
        } catch (ImageRejectedException e) {
            throw new AssertionError(e);
        }
    }

    // ---- refusals ---------------------------------------------------------------------------------

    /** A non-identity segment at {@code vaddr} on {@code paddr}, entered at its first byte. */
    static ElfImage mapped(long vaddr, long paddr, long size) {
        return elf(new ElfBuilder().entry(vaddr).load(vaddr, paddr, TEXT, size, PF_R | PF_X));
    }

    static Arguments row(String what, KernelImage image, long ramSize, String commandLine, String... fragments) {
        return Arguments.of(what, image, ramSize, commandLine, List.of(fragments));
    }

    static Stream<Arguments> refusals() {
        // 16 MiB unless a row is about the size: every PhysicalMemory costs an allocation.
        long ram = 16 * MIB;
        ElfBuilder tooManyTables = new ElfBuilder().entry(0x100000).load(0x100000, TEXT);
        for (int i = 0; i < 3; i++) {
            // Each in its own PML4 slot: a PDPT, a PD and a PT apiece, nine tables for seven slots.
            long v = 0xffff_8000_0000_0000L + ((long) i << 39);
            tooManyTables.load(v, 0x200000 + i * 0x1000L, DATA, DATA.length, PF_R);
        }
        ElfBuilder scattered = new ElfBuilder().entry(0x100000);
        for (int i = 0; i < 70; i++) {
            scattered.load(0x100000 + i * 0x2000L, TEXT);
        }
        return Stream.of(
                row("segment below 1 MiB", elf(new ElfBuilder().load(0x100000, TEXT).load(0x80000, DATA)), ram, null,
                        "guest/bad.elf: PT_LOAD segment 1 at physical 0x80000 overlaps the loader area (below 0x100000)"),
                row("segment at 0", elf(new ElfBuilder().entry(0).load(0, TEXT)), ram, null,
                        "PT_LOAD segment 0 at physical 0x0 overlaps the loader area"),
                row("flat image below 1 MiB", flat(16, 0xf0000), ram, null,
                        "guest/bad.bin: the flat image at physical 0xf0000 overlaps the loader area (below 0x100000)"),
                row("segment past the end of RAM",
                        elf(new ElfBuilder().entry(0x3fff000).load(0x3fff000, 0x3fff000, TEXT, 0x2000, PF_R | PF_X)),
                        64 * MIB, null, "PT_LOAD segment 0 at physical 0x3fff000..0x4001000",
                        "runs past the end of RAM (0x4000000, 64 MiB)"),
                row("segment entirely past RAM", elf(new ElfBuilder().entry(0x8000000).load(0x8000000, TEXT)), ram, null,
                        "PT_LOAD segment 0 at physical 0x8000000", "past the end of RAM"),
                row("flat image past RAM", flat(0x2000, 16 * MIB - 0x1000), ram, null,
                        "the flat image at physical 0xfff000..0x1001000 runs past the end of RAM (0x1000000, 16 MiB)"),
                row("higher half without AT()", mapped(HIGH + 0x100000, HIGH + 0x100000, 0x1000), ram, null,
                        "PT_LOAD segment 0", "past the end of RAM", "p_paddr equals its p_vaddr", "AT("),
                row("image larger than RAM (flat)", flat((int) (2 * MIB), 0x100000), 2 * MIB, null,
                        "guest/bad.bin: the image is larger than RAM", "0x200000 bytes (2 MiB)", "RAM is 2 MiB",
                        "0x100000 bytes (1 MiB) above the loader area"),
                row("image larger than RAM (bss)",
                        elf(new ElfBuilder().load(0x100000, 0x100000, TEXT, 100 * MIB, PF_R | PF_W | PF_X)), 64 * MIB, null,
                        "the image is larger than RAM", "100 MiB", "RAM is 64 MiB"),
                row("RAM too small", flat(16, 0x100000), MIB, null, "RAM of 1 MiB is too small"),
                row("non-canonical p_vaddr", mapped(0x0000_8000_0000_0000L, 0x100000, 0x1000), ram, null,
                        "PT_LOAD segment 0 at virtual 0x800000000000..0x800000001000", "not in canonical"),
                row("p_vaddr across the canonical hole", mapped(0x0000_7fff_ffff_f000L, 0x100000, 0x2000), ram, null,
                        "PT_LOAD segment 0", "not in canonical"),
                row("page offsets differ", mapped(HIGH + 0x100800, 0x100000, 0x1000), ram, null,
                        "PT_LOAD segment 0: p_vaddr 0xffffffff80100800 and p_paddr 0x100000 differ in their low 12 bits"),
                row("p_vaddr in the first MiB", mapped(0x7000, 0x107000, 0x1000), ram, null,
                        "PT_LOAD segment 0 at virtual 0x7000..0x8000", "first 1 MiB"),
                row("two segments on one virtual page, different frames", elf(new ElfBuilder()
                                .entry(HIGH + 0x100000)
                                .load(HIGH + 0x100000, 0x100000, TEXT, TEXT.length, PF_R | PF_X)
                                .load(HIGH + 0x100800, 0x200800, DATA, DATA.length, PF_R | PF_W)), ram, null,
                        "PT_LOAD segment 0 and PT_LOAD segment 1 share the virtual page 0xffffffff80100000",
                        "0x100000 and 0x200000"),
                row("a mapped segment on an identity segment's page", elf(new ElfBuilder()
                                .entry(0x200000)
                                .load(0x200000, TEXT)
                                .load(0x200100, 0x300100, DATA, DATA.length, PF_R | PF_W)), ram, null,
                        "PT_LOAD segment 0 and PT_LOAD segment 1 share the virtual page 0x200000"),
                row("too many page tables", elf(tooManyTables), ram, null,
                        "PT_LOAD segment 3 at virtual 0xffff810000000000", "needs more page tables",
                        "0x9000..0x10000, 7 tables"),
                row("memory map too long", elf(scattered), ram, null,
                        "memory map would need 144 entries", "more than the 125"),
                row("command line too long", flat(16, 0x100000), ram, "x".repeat(1024),
                        "guest/bad.bin: the command line is too long: 1024 bytes", "at most 1023"),
                row("command line with NUL", flat(16, 0x100000), ram, "a\0b", "command line contains a NUL byte"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusals")
    void refuses(String what, KernelImage image, long ramSize, String commandLine, List<String> fragments) {
        PhysicalMemory ram = ram(ramSize);
        ram.write64(0x1000, 0x1234_5678);
        ImageRejectedException e = assertThrows(ImageRejectedException.class,
                () -> BootLoader.load(ram, image, commandLine));
        assertTrue(e.getMessage().startsWith(image.name() + ": "), e.getMessage());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), () -> "\"" + fragment + "\" missing from: " + e.getMessage());
        }
        assertEquals(0x1234_5678, ram.read64(0x1000), "a refused image must leave RAM untouched");
    }

    @Test
    void theLongestCommandLineFits() throws Exception {
        PhysicalMemory ram = ram(16 * MIB);
        String line = "y".repeat(BootProtocol.COMMAND_LINE_MAX_BYTES);
        BootLoader.load(ram, flat(16, 0x100000), line);
        long address = ram.read64(0x8000 + 48);
        assertEquals(line, readString(ram, address));
        assertTrue(address + line.length() + 1 <= 0x9000);
    }

    @Test
    void theBootInfoPageHoldsTheLargestMapAndTheLongestCommandLine() {
        long mapEnd = 0x8000 + 64 + 24L * BootProtocol.MEMORY_MAP_MAX_ENTRIES;
        long commandLine = (mapEnd + 7) & ~7L;
        assertTrue(commandLine + BootProtocol.COMMAND_LINE_MAX_BYTES + 1 <= 0x9000,
                "boot info, map and command line must stay below the first extra page table at 0x9000");
    }

    // ---- a good ELF ------------------------------------------------------------------------------

    /** Text at 0x100000 (6 bytes), data at 0x101000 (12 bytes from the file, then bss to 0x102800). */
    static ElfImage goodElf() {
        return elf(new ElfBuilder()
                .entry(0x100003)
                .load(0x100000, 0x100000, TEXT, TEXT.length, PF_R | PF_X)
                .load(0x101000, 0x101000, DATA, 0x1800, PF_R | PF_W));
    }

    @Test
    void loadsAGoodElf() throws Exception {
        PhysicalMemory ram = ram(64 * MIB);
        // Garbage where the bss and the loader's structures go: the loader must clear it.
        for (long a = 0x101000; a < 0x103000; a += 8) {
            ram.write64(a, -1L);
        }
        ram.write64(0x0, -1L);
        ram.write64(0x7fff8, -1L);

        BootState state = BootLoader.load(ram, goodElf(), "console=com1 verbose");

        assertArrayEquals(TEXT, ram.readBytes(0x100000, TEXT.length));
        assertArrayEquals(DATA, ram.readBytes(0x101000, DATA.length));
        assertArrayEquals(new byte[0x1800 - DATA.length], ram.readBytes(0x101000 + DATA.length, 0x1800 - DATA.length),
                "bss is zeroed");
        assertEquals(-1L, ram.read64(0x102800), "bytes past the bss are not the loader's");
        assertEquals(0, ram.read64(0x0), "the null page is left zero");
        assertEquals(0, ram.read64(0x7fff8), "the boot stack starts zeroed");

        assertEquals(new BootState(0x100003, 0x80000, 0x8000, 0x2,
                0x80010033L, 0x1000, 0x620, 0x500,
                0x7000, 0x27,
                0x08, 0x10, 0x10, 0x10, 0, 0,
                0x100000, 0x102800, 0x103000), state);
    }

    @Test
    void bootInfoReadsBackFromRam() throws Exception {
        PhysicalMemory ram = ram(64 * MIB);
        BootLoader.load(ram, goodElf(), "console=com1 verbose");
        long info = 0x8000;
        assertEquals("PML4BOOT", new String(ram.readBytes(info, 8), StandardCharsets.US_ASCII));
        assertEquals(0x544F4F42344C4D50L, ram.read64(info));
        assertEquals(1, ram.read64(info + 8));
        assertEquals(64 * MIB, ram.read64(info + 16));
        assertEquals(0x100000, ram.read64(info + 24), "kernel start");
        assertEquals(0x102800, ram.read64(info + 32), "kernel end, bss included");
        assertEquals(0x103000, ram.read64(info + 40), "first free, page-aligned");
        assertEquals(6, ram.read64(info + 56));

        long[][] expected = {
                {0x0, 0x1000, 2},
                {0x1000, 0x7f000, 3},
                {0x80000, 0x20000, 1},
                {0xa0000, 0x60000, 2},
                {0x100000, 0x3000, 4},
                {0x103000, 64 * MIB - 0x103000, 1},
        };
        for (int i = 0; i < expected.length; i++) {
            long entry = info + 64 + 24L * i;
            assertArrayEquals(expected[i], new long[] {ram.read64(entry), ram.read64(entry + 8), ram.read64(entry + 16)},
                    "memory map entry " + i);
        }
        long commandLine = ram.read64(info + 48);
        assertEquals(info + 64 + 24 * 6, commandLine, "the command line follows the memory map");
        assertEquals("console=com1 verbose", readString(ram, commandLine));
    }

    @Test
    void noCommandLineIsAddressZero() throws Exception {
        PhysicalMemory ram = ram(16 * MIB);
        BootLoader.load(ram, goodElf(), null);
        assertEquals(0, ram.read64(0x8000 + 48));
        assertEquals(0, ram.read64(0x8000 + 64 + 24 * 6), "nothing after the memory map");
    }

    @Test
    void anEmptyCommandLineIsAnEmptyString() throws Exception {
        PhysicalMemory ram = ram(16 * MIB);
        BootLoader.load(ram, goodElf(), "");
        long address = ram.read64(0x8000 + 48);
        assertNotEquals(0, address);
        assertEquals("", readString(ram, address));
    }

    @Test
    void memoryMapCoversRamWithGapsBetweenSegments() throws Exception {
        ElfImage image = elf(new ElfBuilder()
                .entry(0x200000)
                .load(0x200000, TEXT)
                .load(0x200800, DATA) // same page as the text
                .load(0x400010, 0x400010, DATA, 0x1000, PF_R | PF_W)); // straddles two pages
        List<MemoryMapEntry> map = BootLoader.memoryMap(8 * MIB, image);
        assertEquals(List.of(
                new MemoryMapEntry(0x0, 0x1000, MemoryType.RESERVED),
                new MemoryMapEntry(0x1000, 0x7f000, MemoryType.LOADER),
                new MemoryMapEntry(0x80000, 0x20000, MemoryType.USABLE),
                new MemoryMapEntry(0xa0000, 0x60000, MemoryType.RESERVED),
                new MemoryMapEntry(0x100000, 0x100000, MemoryType.USABLE),
                new MemoryMapEntry(0x200000, 0x1000, MemoryType.KERNEL),
                new MemoryMapEntry(0x201000, 0x1ff000, MemoryType.USABLE),
                new MemoryMapEntry(0x400000, 0x2000, MemoryType.KERNEL),
                new MemoryMapEntry(0x402000, 8 * MIB - 0x402000, MemoryType.USABLE)), map);

        PhysicalMemory ram = ram(8 * MIB);
        BootState state = BootLoader.load(ram, image, null);
        assertEquals(0x200000, state.kernelStart());
        assertEquals(0x401010, state.kernelEnd());
        assertEquals(0x402000, state.firstFree());
        assertEquals(map.size(), ram.read64(0x8000 + 56));
    }

    @Test
    void gdtHoldsTheFiveDescriptors() throws Exception {
        PhysicalMemory ram = ram(16 * MIB);
        BootLoader.load(ram, goodElf(), null);
        assertEquals(0, ram.read64(0x7000));
        assertEquals(0x00AF9B000000FFFFL, ram.read64(0x7008));
        assertEquals(0x00CF93000000FFFFL, ram.read64(0x7010));
        assertEquals(0x00CFF3000000FFFFL, ram.read64(0x7018));
        assertEquals(0x00AFFB000000FFFFL, ram.read64(0x7020));
        assertEquals(0, ram.read64(0x7028), "nothing past the limit 0x27");
        // The bits that matter, spelled out (SDM vol. 3, 3.4.5): P, DPL, S, code/data, L, D/B.
        for (long[] d : new long[][] {{0x7008, 0, 1}, {0x7010, 0, 0}, {0x7018, 3, 0}, {0x7020, 3, 1}}) {
            long descriptor = ram.read64(d[0]);
            assertEquals(1, descriptor >>> 47 & 1, "present");
            assertEquals(d[1], descriptor >>> 45 & 3, "DPL");
            assertEquals(1, descriptor >>> 44 & 1, "code or data (S)");
            assertEquals(d[2], descriptor >>> 43 & 1, "code");
            assertEquals(d[2], descriptor >>> 53 & 1, "L (64-bit code)");
            assertEquals(d[2] == 1 ? 0 : 1, descriptor >>> 54 & 1, "D/B");
        }
    }

    // ---- page tables -----------------------------------------------------------------------------

    @Test
    void identityMapsFourGibWithTwoMibPages() throws Exception {
        PhysicalMemory ram = ram(16 * MIB);
        BootLoader.load(ram, goodElf(), null);
        assertEquals(0x2003, ram.read64(0x1000), "PML4[0] -> PDPT, present + writable");
        for (int i = 1; i < 512; i++) {
            assertEquals(0, ram.read64(0x1000 + 8L * i), "PML4[" + i + "]");
        }
        for (int i = 0; i < 4; i++) {
            assertEquals(0x3000 + 0x1000L * i | 0x3, ram.read64(0x2000 + 8L * i), "PDPT[" + i + "]");
        }
        for (int i = 4; i < 512; i++) {
            assertEquals(0, ram.read64(0x2000 + 8L * i), "PDPT[" + i + "]");
        }
        for (long k = 0; k < 2048; k++) {
            // present, writable, PS; supervisor, not global, A and D clear
            assertEquals(k * 0x200000 | 0x83, ram.read64(0x3000 + 8 * k), "PD entry for 2 MiB page " + k);
        }
        assertEquals(0, ram.read64(0x9000), "no extra tables for an identity-placed kernel");
        assertEquals(0x12345678L, translate(ram, 0x1000, 0x12345678L));
        assertEquals(0xfffff000L, translate(ram, 0x1000, 0xfffff000L));
        assertEquals(-1, translate(ram, 0x1000, 0x1_0000_0000L), "nothing above 4 GiB");
    }

    @Test
    void higherHalfKernelIsMappedWithFourKibPages() throws Exception {
        long vbase = 0xffff_ffff_8010_0000L;
        byte[] text = new byte[0x1800];
        for (int i = 0; i < text.length; i++) {
            text[i] = (byte) (i * 7);
        }
        ElfImage image = elf(new ElfBuilder()
                .entry(vbase)
                .load(vbase, 0x100000, text, text.length, PF_R | PF_X)
                .load(vbase + 0x2000, 0x102000, DATA, 0x3000, PF_R | PF_W));
        PhysicalMemory ram = ram(16 * MIB);
        BootState state = BootLoader.load(ram, image, null);
        assertEquals(vbase, state.rip());
        assertEquals(0x100000, state.kernelStart());
        assertEquals(0x105000, state.kernelEnd());

        // The walk by hand: 0xffffffff80100000 is PML4 511, PDPT 510, PD 0, PT 256.
        long pml4e = ram.read64(0x1000 + 511 * 8);
        assertEquals(0x9003, pml4e, "PML4[511] -> a new PDPT at 0x9000");
        long pdpte = ram.read64((pml4e & ~0xfffL) + 510 * 8);
        assertEquals(0xa003, pdpte, "PDPT[510] -> a new PD at 0xa000");
        long pde = ram.read64((pdpte & ~0xfffL) + 0 * 8);
        assertEquals(0xb003, pde, "PD[0] -> a page table at 0xb000 (no PS: 4 KiB pages)");
        for (int i = 0; i < 5; i++) {
            long pte = ram.read64((pde & ~0xfffL) + (256 + i) * 8L);
            assertEquals(0x100000 + 0x1000L * i | 0x3, pte, "PT[" + (256 + i) + "]");
        }
        assertEquals(0, ram.read64(0xb000 + 255 * 8), "nothing mapped below the kernel");
        assertEquals(0, ram.read64(0xb000 + 261 * 8), "nothing mapped past the bss");
        assertEquals(0, ram.read64(0xc000), "three extra tables, no more");

        // Through the tables, every byte of the kernel is where it was linked.
        for (long off = 0; off < 0x5000; off += 0x7ff) {
            assertEquals(0x100000 + off, translate(ram, 0x1000, vbase + off));
        }
        assertArrayEquals(text, readVirtual(ram, vbase, text.length));
        assertArrayEquals(DATA, readVirtual(ram, vbase + 0x2000, DATA.length));
        // The identity map is still whole.
        assertEquals(0x100000, translate(ram, 0x1000, 0x100000));
        assertEquals(0x8000, translate(ram, 0x1000, 0x8000));
    }

    @Test
    void aMappingInsideTheIdentityMapSplitsOnlyItsTwoMibPage() throws Exception {
        // p_vaddr 1 GiB + 4 KiB lies in PD 1, entry 0; p_paddr 0x200000.
        long vbase = 0x4000_1000L;
        ElfImage image = elf(new ElfBuilder().entry(vbase)
                .load(vbase, 0x200000, TEXT, 0x2000, PF_R | PF_X));
        PhysicalMemory ram = ram(16 * MIB);
        BootLoader.load(ram, image, null);

        assertEquals(0x9003, ram.read64(0x4000), "PD entry for the 2 MiB page at 1 GiB now points at a table");
        assertEquals(0x4000_0000L | 0x3, ram.read64(0x9000), "the page before the kernel stays identity");
        assertEquals(0x200000 | 0x3, ram.read64(0x9008));
        assertEquals(0x201000 | 0x3, ram.read64(0x9010));
        for (int i = 3; i < 512; i++) {
            assertEquals(0x4000_0000L + 0x1000L * i | 0x3, ram.read64(0x9000 + 8L * i), "PT[" + i + "]");
        }
        assertEquals(0x4020_0000L | 0x83, ram.read64(0x4008), "the next 2 MiB page is untouched");
        assertEquals(0x200000 + 0x123, translate(ram, 0x1000, vbase + 0x123));
        assertEquals(0x4000_3456L, translate(ram, 0x1000, 0x4000_3456L));
        assertArrayEquals(TEXT, readVirtual(ram, vbase, TEXT.length));
    }

    @Test
    void segmentsSharingAPageWithTheSameOffsetShareItsMapping() throws Exception {
        // Text and data in one page of the higher half, as a linker script without ALIGN makes them.
        ElfImage image = elf(new ElfBuilder().entry(HIGH + 0x100000)
                .load(HIGH + 0x100000, 0x100000, TEXT, TEXT.length, PF_R | PF_X)
                .load(HIGH + 0x100010, 0x100010, DATA, DATA.length, PF_R | PF_W));
        PhysicalMemory ram = ram(16 * MIB);
        BootLoader.load(ram, image, null);
        assertArrayEquals(DATA, readVirtual(ram, HIGH + 0x100010, DATA.length));
        assertEquals(0x100003, ram.read64(0xb000 + 256 * 8));
    }

    // ---- flat images -----------------------------------------------------------------------------

    @Test
    void flatImageAtTheDefaultAddress() throws Exception {
        byte[] code = {(byte) 0xf4, (byte) 0xeb, (byte) 0xfd, 0x11, 0x22};
        FlatImage image = FlatImage.of("guest/hello.bin", code);
        PhysicalMemory ram = ram(16 * MIB);
        BootState state = BootLoader.load(ram, image, null);
        assertArrayEquals(code, ram.readBytes(0x100000, code.length));
        assertEquals(0x100000, state.rip());
        assertEquals(0x100000, state.kernelStart());
        assertEquals(0x100005, state.kernelEnd());
        assertEquals(0x101000, state.firstFree());
        assertEquals(0x100000, ram.read64(0x8000 + 24));
        assertEquals(new MemoryMapEntry(0x100000, 0x1000, MemoryType.KERNEL),
                BootLoader.memoryMap(64 * MIB, image).get(4));
    }

    @Test
    void flatImageAtACustomAddress() throws Exception {
        byte[] code = new byte[0x1234];
        code[0x10] = (byte) 0xf4;
        FlatImage image = FlatImage.of("guest/hello.bin", code, 0x300000, 0x300010);
        PhysicalMemory ram = ram(16 * MIB);
        BootState state = BootLoader.load(ram, image, null);
        assertEquals((byte) 0xf4, ram.readBytes(0x300010, 1)[0]);
        assertEquals(0x300010, state.rip());
        assertEquals(0x300000, state.kernelStart());
        assertEquals(0x301234, state.kernelEnd());
        assertEquals(0x302000, state.firstFree());
        List<MemoryMapEntry> map = BootLoader.memoryMap(64 * MIB, image);
        assertEquals(new MemoryMapEntry(0x100000, 0x200000, MemoryType.USABLE), map.get(4));
        assertEquals(new MemoryMapEntry(0x300000, 0x2000, MemoryType.KERNEL), map.get(5));
    }

    @Test
    void loadingTwiceGivesTheSameLoaderArea() throws Exception {
        PhysicalMemory once = ram(16 * MIB);
        BootLoader.load(once, goodElf(), "a");
        PhysicalMemory twice = ram(16 * MIB);
        BootLoader.load(twice, mapped(HIGH + 0x100000, 0x100000, 0x1000), "a much longer command line");
        BootLoader.load(twice, goodElf(), "a");
        assertArrayEquals(once.readBytes(0, 0x80000), twice.readBytes(0, 0x80000));
    }

    // ---- helpers ---------------------------------------------------------------------------------

    /**
     * A four-level walk written independently of the loader (SDM vol. 3, 4.5): the physical address
     * for {@code virtual}, or -1 if a level is not present.
     */
    static long translate(PhysicalMemory ram, long cr3, long virtual) {
        long table = cr3 & ~0xfffL;
        for (int level = 4; level >= 1; level--) {
            int shift = 12 + 9 * (level - 1);
            long entry = ram.read64(table + 8 * ((virtual >>> shift) & 511));
            if ((entry & 1) == 0) {
                return -1;
            }
            long frame = entry & 0x000f_ffff_ffff_f000L;
            if (level == 1 || (level <= 3 && (entry & 0x80) != 0)) {
                long pageMask = (1L << shift) - 1;
                return (frame & ~pageMask) | (virtual & pageMask);
            }
            table = frame;
        }
        throw new AssertionError("unreachable");
    }

    static byte[] readVirtual(PhysicalMemory ram, long virtual, int length) {
        byte[] out = new byte[length];
        for (int i = 0; i < length; i++) {
            long physical = translate(ram, 0x1000, virtual + i);
            assertNotEquals(-1, physical, "virtual " + Long.toHexString(virtual + i) + " is not mapped");
            out[i] = (byte) ram.read8(physical);
        }
        return out;
    }

    static String readString(PhysicalMemory ram, long address) {
        StringBuilder s = new StringBuilder();
        for (long a = address; ram.read8(a) != 0; a++) {
            s.append((char) ram.read8(a));
        }
        return s.toString();
    }
}
