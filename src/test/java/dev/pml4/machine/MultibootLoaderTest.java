package dev.pml4.machine;

import static org.junit.jupiter.api.Assertions.*;

import dev.pml4.devices.VgaText;
import dev.pml4.guest.Guests;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The Multiboot loaders at the level of what they leave in RAM and hand the processor: the
 * information structures byte by byte as Multiboot 0.6.96 section 3.3 and Multiboot2 2.0 section
 * 3.6 lay them out, the entry state (0.6.96 section 3.2, 2.0 section 3.3), and that nothing of
 * pml4's own lies in the image or in memory the map calls available.
 */
class MultibootLoaderTest {
    static final long RAM = 64L << 20;
    final PhysicalMemory ram = new PhysicalMemory(RAM);

    @AfterEach
    void close() {
        ram.close();
    }

    static KernelImage image(String guest) throws Exception {
        return KernelImages.read(Guests.image(guest), OptionalLong.empty(), OptionalLong.empty());
    }

    BootState load(KernelImage image, String cmdline, List<BootModule> modules) throws ImageRejectedException {
        return MultibootLoader.load(ram, (MultibootImage) image, cmdline, modules);
    }

    String cString(long address) {
        StringBuilder s = new StringBuilder();
        for (int b; (b = ram.read8(address)) != 0; address++) {
            s.append((char) b);
        }
        return s.toString();
    }

    long u32(long address) {
        return ram.read32(address) & 0xFFFF_FFFFL;
    }

    /** The memory map as {base, length, type} triples from a Multiboot 1 mmap (size field first). */
    List<long[]> mb1Map(long info) {
        List<long[]> map = new ArrayList<>();
        long at = u32(info + 48);
        long end = at + u32(info + 44);
        while (at < end) {
            assertEquals(20, u32(at), "each entry's size field (not counting itself)");
            map.add(new long[] {ram.read64(at + 4), ram.read64(at + 12), u32(at + 20)});
            at += u32(at) + 4;
        }
        return map;
    }

    /** The map pml4 documents (MultibootLoader, "Physical layout") with [high, highEnd) reserved. */
    static List<long[]> expectedMap(long high, long highEnd) {
        List<long[]> m = new ArrayList<>(List.of(
                new long[] {0, 0x1000, 1}, new long[] {0x1000, 0x1F000, 2}, new long[] {0x20000, 0x9FC00 - 0x20000, 1},
                new long[] {0x9FC00, 0x100000 - 0x9FC00, 2}, new long[] {0x100000, high - 0x100000, 1}));
        if (highEnd > high) {
            m.add(new long[] {high, highEnd - high, 2});
        }
        m.add(new long[] {highEnd, RAM - highEnd, 1});
        return m;
    }

    static void assertMap(List<long[]> expected, List<long[]> actual) {
        assertEquals(expected.size(), actual.size(), "memory map entries");
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i), actual.get(i), "memory map entry " + i);
        }
    }

    /** [start, end) lies inside one entry of the map of the given type. */
    static void assertInside(List<long[]> map, long start, long end, int type, String what) {
        for (long[] e : map) {
            if (start >= e[0] && end <= e[0] + e[1]) {
                assertEquals(type, e[2], what + " lies in a map entry of type " + e[2]);
                return;
            }
        }
        fail(what + " [" + Long.toHexString(start) + ", " + Long.toHexString(end) + ") is in no single map entry");
    }

    void assertEntryState(BootState s, long magic, long entry) {
        assertEquals(EntryMode.PROTECTED_32, s.entryMode());
        assertEquals(magic, s.rax(), "EAX");
        assertEquals(MultibootLoader.INFO_ADDRESS, s.rbx(), "EBX");
        assertEquals(entry, s.rip(), "EIP");
        assertEquals(0x20000, s.rsp(), "ESP (documented)");
        assertEquals(0x11, s.cr0(), "CR0 = PE|ET");
        assertEquals(0, s.cr3());
        assertEquals(0, s.cr4());
        assertEquals(0, s.efer());
        assertEquals(0x2, s.rflags(), "EFLAGS: IF and VM clear");
        assertEquals(0x1000, s.gdtBase());
        assertEquals(0x17, s.gdtLimit());
        assertEquals(0x08, s.cs());
        assertEquals(List.of(0x10, 0x10, 0x10, 0x10, 0x10), List.of(s.ds(), s.es(), s.ss(), s.fs(), s.gs()));
        // The GDT: null, flat 32-bit code (execute/read), flat data (read/write), base 0, 4 GiB.
        assertEquals(0, ram.read64(0x1000));
        assertEquals(0x00CF_9B00_0000_FFFFL, ram.read64(0x1008));
        assertEquals(0x00CF_9300_0000_FFFFL, ram.read64(0x1010));
    }

    @Test
    void multiboot1Elf32GetsTheInformationStructureOfTheSpecification() throws Exception {
        KernelImage image = image("mb1_elf32");
        assertInstanceOf(MultibootImage.class, image);
        ElfImage elf = ((MultibootImage) image).elf();
        assertEquals(32, elf.bits());
        Path file = Guests.image("mb1_elf32");
        byte[] bytes = Files.readAllBytes(file);
        BootState s = load(image, "verbose=1 root=/dev/null", List.of());
        assertEntryState(s, 0x2BADB002L, elf.entry());

        long info = 0x2000;
        // flags: mem (0), cmdline (2), mods (3), ELF section headers (5), mmap (6), loader name (9)
        assertEquals(0x26D, u32(info));
        assertEquals(639, u32(info + 4), "mem_lower: 0x9FC00 bytes of lower memory");
        assertEquals((RAM - 0x100000) / 1024, u32(info + 8), "mem_upper");
        assertEquals("verbose=1 root=/dev/null", cString(u32(info + 16)));
        assertEquals(0, u32(info + 20), "mods_count");
        assertEquals("pml4", cString(u32(info + 64)));

        // The kernel's bytes at its p_paddr, bss zeroed.
        LoadSegment seg = image.segments().getFirst();
        assertArrayEquals(seg.data(), ram.readBytes(seg.physicalAddress(), seg.fileSize()));
        assertEquals(0, ram.read64(seg.physicalAddress() + seg.memorySize() - 8));

        // ELF section headers (flags bit 5): num, size, addr, shndx; .symtab copied and sh_addr set.
        long num = u32(info + 28);
        long size = u32(info + 32);
        long table = u32(info + 36);
        assertEquals(elf.sectionTable().count(), num);
        assertEquals(40, size);
        assertEquals(elf.sectionTable().stringIndex(), u32(info + 40));
        boolean symtab = false;
        for (int i = 0; i < num; i++) {
            long h = table + i * size;
            if (u32(h + 4) == 2) { // SHT_SYMTAB: not SHF_ALLOC, so pml4 copied it
                long addr = u32(h + 12);
                long offset = u32(h + 16);
                long length = u32(h + 20);
                assertNotEquals(0, addr);
                assertArrayEquals(java.util.Arrays.copyOfRange(bytes, (int) offset, (int) (offset + length)),
                        ram.readBytes(addr, (int) length), ".symtab's copy");
                symtab = true;
            }
        }
        assertTrue(symtab, "the guest has a .symtab");

        long high = (seg.physicalAddress() + seg.memorySize() + 0xFFF) & ~0xFFFL;
        List<long[]> map = mb1Map(info);
        assertMap(expectedMap(high, s.firstFree()), map);
        assertTrue(s.firstFree() > high, "the section copies are reserved after the kernel");
        // Nothing of pml4's own in available memory; the kernel in available memory.
        assertInside(map, 0x1000, 0x1018, 2, "the GDT");
        assertInside(map, info, info + 116, 2, "the information structure");
        assertInside(map, 0x10000, 0x20000, 2, "the boot stack");
        assertInside(map, table, table + num * size, 2, "the section header copy");
        assertInside(map, seg.physicalAddress(), seg.physicalAddress() + seg.memorySize(), 1, "the kernel");
        // The VGA buffer is not touched by the loader (the machine makes it blank).
        assertInside(map, VgaText.BUFFER, VgaText.BUFFER + VgaText.BUFFER_BYTES, 2, "the VGA buffer");
    }

    @Test
    void modulesArePageAlignedCopiesWithTheirStringsInReservedMemory() throws Exception {
        byte[] one = "first module".getBytes(StandardCharsets.US_ASCII);
        byte[] two = new byte[5000];
        java.util.Arrays.fill(two, (byte) 0x5A);
        List<BootModule> modules = List.of(new BootModule("a.mod", one, "a.mod arg=1"), new BootModule("b.mod", two, "b.mod"));
        KernelImage image = image("mb1_flat");
        BootState s = load(image, null, modules);
        long info = 0x2000;
        assertEquals("", cString(u32(info + 16)), "no --cmdline: an empty command line");
        assertEquals(2, u32(info + 20));
        long mods = u32(info + 24);
        List<long[]> map = mb1Map(info);
        byte[][] data = {one, two};
        String[] strings = {"a.mod arg=1", "b.mod"};
        for (int i = 0; i < 2; i++) {
            long start = u32(mods + 16L * i);
            long end = u32(mods + 16L * i + 4);
            assertEquals(0, start % 4096, "module " + i + " page-aligned (flags bit 0)");
            assertEquals(data[i].length, end - start);
            assertArrayEquals(data[i], ram.readBytes(start, data[i].length));
            assertEquals(strings[i], cString(u32(mods + 16L * i + 8)));
            assertEquals(0, u32(mods + 16L * i + 12), "reserved");
            assertInside(map, start, end, 2, "module " + i);
        }
        assertInside(map, mods, mods + 32, 2, "the module list");
    }

    @Test
    void aoutKludgeLoadsTheFileAtLoadAddrAndZeroesTheBss() throws Exception {
        byte[] file = MultibootImages.mb1().build();
        ram.writeBytes(0x100000 + file.length, new byte[] {1, 2, 3}); // must be zeroed as bss
        KernelImage image = KernelImages.read(Files.write(Files.createTempFile("mb1", ".bin"), file),
                OptionalLong.empty(), OptionalLong.empty());
        BootState s = load(image, null, List.of());
        assertEntryState(s, 0x2BADB002L, 0x100040);
        assertArrayEquals(file, ram.readBytes(0x100000, file.length));
        assertEquals(0, ram.read32(0x100000 + file.length));
        assertEquals(0x100000, s.kernelStart());
        assertEquals(0x102000, s.kernelEnd());
        assertEquals(0x24D, u32(0x2000), "no ELF section headers for an a.out-kludge image");
    }

    @Test
    void videoModeRequestIsAnsweredWithEgaText() throws Exception {
        var m = MultibootImages.mb1();
        m.flags |= 1 << 2;
        m.length = 0x40 + MultibootImages.EXIT_0.length;
        KernelImage image = KernelImages.read(Files.write(Files.createTempFile("mb1", ".bin"), m.build()),
                OptionalLong.empty(), OptionalLong.empty());
        load(image, null, List.of());
        long info = 0x2000;
        assertEquals(1 << 12, u32(info) & (1 << 12), "framebuffer information given");
        assertEquals(0xB8000, ram.read64(info + 88));
        assertEquals(160, u32(info + 96), "pitch");
        assertEquals(80, u32(info + 100));
        assertEquals(25, u32(info + 104));
        assertEquals(16, ram.read8(info + 108), "bpp");
        assertEquals(2, ram.read8(info + 109), "type 2: EGA text");
    }

    @Test
    void multiboot2GivesEightByteAlignedTagsEndingWithTheEndTag() throws Exception {
        KernelImage image = image("mb2_elf64");
        MultibootImage mb = (MultibootImage) image;
        assertEquals(BootMethod.MULTIBOOT2, mb.method());
        assertEquals(64, mb.elf().bits());
        BootModule module = new BootModule("m", new byte[] {9, 8, 7}, "the module");
        BootState s = load(image, "quiet", List.of(module));
        assertEntryState(s, 0x36D76289L, mb.elf().entry());

        long info = 0x2000;
        long total = u32(info);
        assertEquals(0, u32(info + 4), "reserved");
        List<Long> types = new ArrayList<>();
        long at = info + 8;
        List<long[]> map = null;
        while (true) {
            assertEquals(0, at % 8, "tag at 0x" + Long.toHexString(at) + " 8-byte aligned");
            long type = u32(at);
            long size = u32(at + 4);
            types.add(type);
            switch ((int) type) {
                case 1 -> assertEquals("quiet", cString(at + 8));
                case 2 -> assertEquals("pml4", cString(at + 8));
                case 3 -> {
                    long start = u32(at + 8);
                    assertEquals(0, start % 4096);
                    assertEquals(3, u32(at + 12) - start);
                    assertArrayEquals(new byte[] {9, 8, 7}, ram.readBytes(start, 3));
                    assertEquals("the module", cString(at + 16));
                }
                case 4 -> {
                    assertEquals(16, size);
                    assertEquals(639, u32(at + 8));
                    assertEquals((RAM - 0x100000) / 1024, u32(at + 12));
                }
                case 6 -> {
                    assertEquals(24, u32(at + 8), "entry_size");
                    assertEquals(0, u32(at + 12), "entry_version");
                    map = new ArrayList<>();
                    for (long e = at + 16; e < at + size; e += 24) {
                        map.add(new long[] {ram.read64(e), ram.read64(e + 8), u32(e + 16)});
                        assertEquals(0, u32(e + 20), "reserved");
                    }
                }
                case 8 -> {
                    assertEquals(32, size);
                    assertEquals(0xB8000, ram.read64(at + 8));
                    assertEquals(160, u32(at + 16));
                    assertEquals(80, u32(at + 20));
                    assertEquals(25, u32(at + 24));
                    assertEquals(16, ram.read8(at + 28));
                    assertEquals(2, ram.read8(at + 29), "EGA text");
                }
                case 9 -> {
                    assertEquals(mb.elf().sectionTable().count(), u32(at + 8), "num");
                    assertEquals(64, u32(at + 12), "entsize");
                    assertEquals(20 + 64L * u32(at + 8), size);
                }
                case 21 -> {
                    assertEquals(12, size);
                    assertEquals(0x100000, u32(at + 8), "load_base_addr");
                }
                case 0 -> assertEquals(8, size);
                default -> fail("unexpected tag " + type);
            }
            if (type == 0) {
                at += 8;
                break;
            }
            at += (size + 7) & ~7;
        }
        assertEquals(List.of(1L, 2L, 3L, 4L, 21L, 6L, 8L, 9L, 0L), types);
        assertEquals(at - info, total, "total_size covers every tag, the end tag included");
        LoadSegment seg = image.segments().getFirst();
        long high = (seg.physicalAddress() + seg.memorySize() + 0xFFF) & ~0xFFFL;
        assertMap(expectedMap(high, s.firstFree()), map);
        assertInside(map, info, info + total, 2, "the information structure");
    }

    @Test
    void theHeaderChoosesTheProtocolAndBootForcesOne() throws Exception {
        byte[] both = MultibootImages.mb2().build();
        byte[] mb1 = MultibootImages.mb1().build();
        System.arraycopy(mb1, 0, both, 0x200, 12); // a Multiboot 1 header too, 4-byte aligned
        assertEquals(BootMethod.MULTIBOOT2, KernelImages.detect(both), "Multiboot2 wins over Multiboot 1");
        assertEquals(BootMethod.MULTIBOOT, KernelImages.detect(mb1));
        assertEquals(BootMethod.PML4, KernelImages.detect(Files.readAllBytes(Guests.image("hello"))));
        Path file = Files.write(Files.createTempFile("both", ".bin"), both);
        var forced = KernelImages.read(file, OptionalLong.empty(), OptionalLong.empty(), Optional.of(BootMethod.MULTIBOOT));
        assertEquals(BootMethod.MULTIBOOT, ((MultibootImage) forced).method());
        var pml4 = KernelImages.read(file, OptionalLong.empty(), OptionalLong.empty(), Optional.of(BootMethod.PML4));
        assertInstanceOf(FlatImage.class, pml4);
    }

    @Test
    void aRefusedImageLeavesRamAsItWas() throws Exception {
        var m = MultibootImages.mb1();
        m.bssEndAddr = RAM + 0x1000;
        KernelImage image = KernelImages.read(Files.write(Files.createTempFile("mb1", ".bin"), m.build()),
                OptionalLong.empty(), OptionalLong.empty());
        ram.write64(0x1000, 0x1234);
        assertThrows(ImageRejectedException.class, () -> load(image, null, List.of()));
        assertEquals(0x1234, ram.read64(0x1000));
        assertEquals(0, ram.read64(0x100000));
    }
}
