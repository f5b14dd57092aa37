package dev.pml4.machine;

import static dev.pml4.machine.Messages.hex;
import static dev.pml4.machine.Messages.range;
import static dev.pml4.machine.Messages.size;

import java.nio.BufferOverflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Loads a {@link MultibootImage} and hands it the machine state of Multiboot 1 (specification
 * 0.6.96, section 3.2) or Multiboot2 (2.0, section 3.3): 32-bit protected mode with paging off,
 * EAX the boot loader magic, EBX the physical address of the information structure (0.6.96
 * section 3.3; 2.0 section 3.6), flat 4 GiB code and data segments, EFLAGS.IF and VM clear, A20
 * on (pml4 has no A20 gate: every address line works). Where the specifications leave the state
 * undefined pml4 gives what GRUB gives: a valid flat GDT of its own, IDTR limit 0, and a stack.
 *
 * <h2>Physical layout (docs/boot.md, "Multiboot")</h2>
 * <pre>
 *   0x0..0x1000           available  (a PC's interrupt vector table and BIOS data area; left zero)
 *   0x1000..0x20000       reserved   pml4's own: GDT at 0x1000, information structure and its
 *                                    strings, module list and memory map from 0x2000 to 0x10000,
 *                                    boot stack 0x10000..0x20000 (ESP = 0x20000 at entry)
 *   0x20000..0x9FC00      available  conventional memory
 *   0x9FC00..0x100000     reserved   extended BIOS data area, VGA window (the text buffer at
 *                                    0xB8000 is the VGA device's), ROM area
 *   0x100000..            available  the kernel is loaded here, by its own addresses
 *   after the kernel      reserved   pml4's copies of the modules (page-aligned) and of the ELF
 *                                    sections that are not loaded (symbol and string tables)
 *   ..end of RAM          available
 * </pre>
 * Nothing of pml4's own lies in the image or in memory the map calls available: the kernel may
 * take every available byte without overwriting its boot information.
 *
 * <p>Everything is checked before the first byte is written, so a refused image leaves RAM as it
 * was.
 */
public final class MultibootLoader {
    private MultibootLoader() {
    }

    /** pml4's own area: GDT, information, stack. */
    public static final long OWN_START = 0x1000;
    public static final long OWN_END = 0x20000;
    public static final long GDT_ADDRESS = 0x1000;
    /** Three descriptors: null, code 0x08, data 0x10. */
    public static final int GDT_LIMIT = 3 * 8 - 1;
    /** The information structure; 8-byte aligned as Multiboot2 3.6.1 requires. */
    public static final long INFO_ADDRESS = 0x2000;
    public static final long INFO_END = 0x10000;
    /** ESP at entry (0.6.96 section 3.2 leaves it undefined: the kernel must set up its own stack). */
    public static final long ENTRY_ESP = OWN_END;
    /** Where the extended BIOS data area begins on a PC (SeaBIOS' E820 map); lower memory ends here. */
    public static final long LOW_MEMORY_END = 0x9FC00;
    /** Upper memory starts at 1 MiB (0.6.96 section 3.3, mem_upper). */
    public static final long UPPER_MEMORY = 0x100000;
    private static final long FOUR_GIB = 1L << 32;
    private static final long PAGE = 4096;

    /** CR0 = PE | ET: protected mode, paging off (0.6.96 section 3.2; Intel SDM vol. 3, 2.5). */
    public static final long ENTRY_CR0 = 0x11;
    /** EFLAGS: bit 1 is reserved-as-one; IF and VM clear (0.6.96 section 3.2). */
    public static final long ENTRY_EFLAGS = 0x2;
    public static final int CODE_SELECTOR = 0x08;
    public static final int DATA_SELECTOR = 0x10;
    /**
     * Flat 32-bit segments, base 0, limit 0xFFFFF pages (4 GiB), G=1, D/B=1 (Intel SDM vol. 3,
     * 3.4.5), accessed bit set so that loading them never writes the GDT. Code: P, DPL 0, type
     * 0xB (execute/read, accessed). Data: P, DPL 0, type 0x3 (read/write, accessed).
     */
    public static final long GDT_CODE32 = 0x00CF_9B00_0000_FFFFL;
    public static final long GDT_DATA32 = 0x00CF_9300_0000_FFFFL;

    public static final String BOOT_LOADER_NAME = "pml4";

    /** Memory map types (0.6.96 section 3.3; 2.0 section 3.6.8). */
    public static final int AVAILABLE = 1;
    public static final int RESERVED = 2;

    /** One memory map entry as both specifications have it: base_addr, length, type. */
    public record MapEntry(long base, long length, int type) {
        public long end() {
            return base + length;
        }
    }

    /** Part of the physical address space as the map will call it, and what it is, for messages. */
    private record Region(long start, long end, int type, String what) {
    }

    /**
     * Loads the image, its modules and the information structure, and returns the entry state.
     *
     * @param commandLine the kernel's command line; null gives an empty one (the information
     *                    structure always has one)
     * @throws ImageRejectedException naming what does not fit, or overlaps what
     */
    public static BootState load(PhysicalMemory ram, MultibootImage image, String commandLine, List<BootModule> modules)
            throws ImageRejectedException {
        String name = image.name();
        long ramSize = ram.ramSize();
        if (ramSize <= UPPER_MEMORY) {
            throw new ImageRejectedException(name, "RAM of " + size(ramSize) + " is too small for a Multiboot "
                    + "boot: the kernel goes at 1 MiB or above");
        }
        List<Region> regions = List.of(
                new Region(0, OWN_START, AVAILABLE, "low memory"),
                new Region(OWN_START, OWN_END, RESERVED, "pml4's own area 0x1000-0x20000 (GDT, Multiboot information, "
                        + "boot stack)"),
                new Region(OWN_END, LOW_MEMORY_END, AVAILABLE, "low memory"),
                new Region(LOW_MEMORY_END, UPPER_MEMORY, RESERVED, "the reserved area 0x9fc00-0x100000 (extended BIOS "
                        + "data area, VGA window, ROM)"),
                new Region(UPPER_MEMORY, ramSize, AVAILABLE, "upper memory"));

        long kernelStart = -1;
        long kernelEnd = 0;
        for (LoadSegment s : image.segments()) {
            checkPlacement(image, s, regions, ramSize);
            kernelStart = Math.min(kernelStart == -1 ? Long.MAX_VALUE : kernelStart, s.physicalAddress());
            kernelEnd = Math.max(kernelEnd, s.physicalAddress() + s.memorySize());
        }
        checkEntry(image);
        byte[] cmdline = string(name, "the command line", commandLine == null ? "" : commandLine);

        // pml4's copies above the kernel: modules, then ELF sections that no segment loads.
        long limit = Math.min(ramSize, FOUR_GIB);
        long cursor = Math.max(UPPER_MEMORY, alignUp(kernelEnd, PAGE));
        long highStart = cursor;
        List<long[]> placedModules = new ArrayList<>();
        for (BootModule m : modules) {
            long start = alignUp(cursor, PAGE); // 0.6.96 flags bit 0 and 2.0 3.1.11: pml4 always page-aligns
            if (start + m.size() > limit) {
                throw new ImageRejectedException(name, "--module " + m.name() + " (" + size(m.size())
                        + ") does not fit: it would end at " + hex(start + m.size()) + ", past "
                        + (limit == ramSize ? "the end of RAM (" + size(ramSize) + ")" : "4 GiB"));
            }
            placedModules.add(new long[] {start, start + m.size()});
            cursor = start + m.size();
        }
        Sections sections = Sections.place(image.elf(), cursor, limit, name);
        cursor = sections.end;
        long highEnd = alignUp(cursor, PAGE);
        List<MapEntry> map = memoryMap(regions, highStart, highEnd);

        boolean multiboot2 = image.method() == BootMethod.MULTIBOOT2;
        Info info = new Info();
        try {
            if (multiboot2) {
                writeInfo2(info, ramSize, kernelStart, cmdline, modules, placedModules, map, sections);
            } else {
                writeInfo1(info, image.header(), ramSize, cmdline, modules, placedModules, map, sections);
            }
        } catch (BufferOverflowException e) {
            throw new ImageRejectedException(name, "the Multiboot information (command line, module strings, "
                    + "memory map, ELF section headers) needs more than the " + (INFO_END - INFO_ADDRESS)
                    + " bytes of pml4's information area " + range(INFO_ADDRESS, INFO_END - INFO_ADDRESS));
        }

        // Nothing was refused: write.
        ram.zero(OWN_START, OWN_END - OWN_START);
        ram.write64(GDT_ADDRESS, 0);
        ram.write64(GDT_ADDRESS + CODE_SELECTOR, GDT_CODE32);
        ram.write64(GDT_ADDRESS + DATA_SELECTOR, GDT_DATA32);
        ram.writeBytes(INFO_ADDRESS, info.bytes());
        for (LoadSegment s : image.segments()) {
            ram.writeBytes(s.physicalAddress(), s.data());
            ram.zero(s.physicalAddress() + s.fileSize(), s.memorySize() - s.fileSize());
        }
        for (int i = 0; i < modules.size(); i++) {
            ram.writeBytes(placedModules.get(i)[0], modules.get(i).data());
        }
        sections.writeTo(ram);

        int magic = multiboot2 ? Multiboot2Header.BOOTLOADER_MAGIC : MultibootHeader.BOOTLOADER_MAGIC;
        return new BootState(image.entry(), ENTRY_ESP, 0, ENTRY_EFLAGS, ENTRY_CR0, 0, 0, 0,
                GDT_ADDRESS, GDT_LIMIT, CODE_SELECTOR, DATA_SELECTOR, DATA_SELECTOR, DATA_SELECTOR, DATA_SELECTOR,
                DATA_SELECTOR, kernelStart, kernelEnd, highEnd, magic & 0xFFFF_FFFFL, INFO_ADDRESS,
                EntryMode.PROTECTED_32);
    }

    /** The memory map {@link #load} writes: the fixed regions, with pml4's copies above the kernel reserved. */
    private static List<MapEntry> memoryMap(List<Region> regions, long highStart, long highEnd) {
        List<MapEntry> out = new ArrayList<>();
        for (Region r : regions) {
            if (r.type == AVAILABLE && highEnd > highStart && r.start <= highStart && highEnd <= r.end) {
                add(out, r.start, highStart, AVAILABLE);
                add(out, highStart, highEnd, RESERVED);
                add(out, highEnd, r.end, AVAILABLE);
            } else {
                add(out, r.start, r.end, r.type);
            }
        }
        return out;
    }

    private static void add(List<MapEntry> out, long start, long end, int type) {
        if (start < end) {
            out.add(new MapEntry(start, end - start, type));
        }
    }

    // ---- checks ----------------------------------------------------------------------------------

    private static void checkPlacement(MultibootImage image, LoadSegment s, List<Region> regions, long ramSize)
            throws ImageRejectedException {
        String name = image.name();
        String where = image.describe(s);
        long start = s.physicalAddress();
        long end = start + s.memorySize();
        String at = " at physical " + range(start, s.memorySize());
        if (Long.compareUnsigned(start, FOUR_GIB) >= 0 || Long.compareUnsigned(end, FOUR_GIB) > 0 || end < start) {
            throw new ImageRejectedException(name, where + at + " reaches above 4 GiB, which 32-bit code with "
                    + "paging off cannot address; a Multiboot kernel is loaded below 4 GiB");
        }
        if (end > ramSize) {
            throw new ImageRejectedException(name, where + at + " runs past the end of RAM (" + hex(ramSize)
                    + ", " + size(ramSize) + ")");
        }
        for (Region r : regions) {
            if (r.type != AVAILABLE && start < r.end && r.start < end) {
                throw new ImageRejectedException(name, where + at + " overlaps " + r.what
                        + "; a Multiboot kernel loads at 1 MiB or above (or in 0x20000-0x9fc00)");
            }
        }
    }

    private static void checkEntry(MultibootImage image) throws ImageRejectedException {
        long entry = image.entry();
        for (LoadSegment s : image.segments()) {
            if (entry >= s.physicalAddress() && entry < s.physicalAddress() + s.memorySize()) {
                return;
            }
        }
        throw new ImageRejectedException(image.name(), "the entry point " + hex(entry)
                + " is not inside any loaded segment's physical range");
    }

    private static byte[] string(String name, String what, String text) throws ImageRejectedException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        for (byte b : bytes) {
            if (b == 0) {
                throw new ImageRejectedException(name, what + " contains a NUL byte, which would end it early "
                        + "for the kernel");
            }
        }
        return bytes;
    }

    // ---- Multiboot 1 information (0.6.96 section 3.3) --------------------------------------------

    /* The fixed part's offsets and flag bits. */
    private static final int MB1_FLAGS = 0;
    private static final int MB1_MEM_LOWER = 4;
    private static final int MB1_MEM_UPPER = 8;
    private static final int MB1_CMDLINE = 16;
    private static final int MB1_MODS_COUNT = 20;
    private static final int MB1_MODS_ADDR = 24;
    private static final int MB1_SYMS = 28;
    private static final int MB1_MMAP_LENGTH = 44;
    private static final int MB1_MMAP_ADDR = 48;
    private static final int MB1_BOOT_LOADER_NAME = 64;
    private static final int MB1_FRAMEBUFFER = 88;
    private static final int MB1_SIZE = 116;
    public static final int INFO_MEMORY = 1;
    public static final int INFO_CMDLINE = 1 << 2;
    public static final int INFO_MODS = 1 << 3;
    public static final int INFO_ELF_SHDR = 1 << 5;
    public static final int INFO_MEM_MAP = 1 << 6;
    public static final int INFO_BOOT_LOADER_NAME = 1 << 9;
    public static final int INFO_FRAMEBUFFER = 1 << 12;

    /** EGA text (0.6.96 section 3.3 framebuffer_type 2; Multiboot2 3.6.12): 80×25 cells of 2 bytes at 0xB8000. */
    public static final long EGA_TEXT_ADDRESS = 0xB8000;
    public static final int EGA_TEXT_COLUMNS = 80;
    public static final int EGA_TEXT_ROWS = 25;
    private static final int FRAMEBUFFER_TYPE_EGA_TEXT = 2;

    private static void writeInfo1(Info info, MultibootHeader header, long ramSize, byte[] cmdline,
                                   List<BootModule> modules, List<long[]> placed, List<MapEntry> map, Sections sections) {
        info.skip(MB1_SIZE);
        int flags = INFO_MEMORY | INFO_CMDLINE | INFO_MODS | INFO_MEM_MAP | INFO_BOOT_LOADER_NAME;
        info.put32At(MB1_MEM_LOWER, (int) (LOW_MEMORY_END / 1024));
        info.put32At(MB1_MEM_UPPER, (int) ((Math.min(ramSize, FOUR_GIB) - UPPER_MEMORY) / 1024));
        info.put32At(MB1_CMDLINE, (int) info.string(cmdline));
        info.put32At(MB1_BOOT_LOADER_NAME, (int) info.string(BOOT_LOADER_NAME.getBytes(StandardCharsets.US_ASCII)));
        long[] strings = new long[modules.size()];
        for (int i = 0; i < modules.size(); i++) {
            strings[i] = info.string(modules.get(i).string().getBytes(StandardCharsets.UTF_8));
        }
        info.align(8);
        info.put32At(MB1_MODS_COUNT, modules.size());
        info.put32At(MB1_MODS_ADDR, modules.isEmpty() ? 0 : (int) info.address());
        for (int i = 0; i < modules.size(); i++) { // mod_start, mod_end, string, reserved
            info.put32((int) placed.get(i)[0]);
            info.put32((int) placed.get(i)[1]);
            info.put32((int) strings[i]);
            info.put32(0);
        }
        // Each entry: size (20, not counting itself), base_addr, length, type.
        info.put32At(MB1_MMAP_ADDR, (int) info.address());
        info.put32At(MB1_MMAP_LENGTH, map.size() * 24);
        for (MapEntry e : map) {
            info.put32(20);
            info.put64(e.base());
            info.put64(e.length());
            info.put32(e.type());
        }
        if (sections.count > 0) { // num, size, addr, shndx
            flags |= INFO_ELF_SHDR;
            info.put32At(MB1_SYMS, sections.count);
            info.put32At(MB1_SYMS + 4, sections.entrySize);
            info.put32At(MB1_SYMS + 8, (int) sections.tableAddress);
            info.put32At(MB1_SYMS + 12, sections.stringIndex);
        }
        if (header != null && header.video()) { // asked for a video mode: EGA text is what there is
            flags |= INFO_FRAMEBUFFER;
            info.put64At(MB1_FRAMEBUFFER, EGA_TEXT_ADDRESS);
            info.put32At(MB1_FRAMEBUFFER + 8, EGA_TEXT_COLUMNS * 2);
            info.put32At(MB1_FRAMEBUFFER + 12, EGA_TEXT_COLUMNS);
            info.put32At(MB1_FRAMEBUFFER + 16, EGA_TEXT_ROWS);
            info.put8At(MB1_FRAMEBUFFER + 20, 16);
            info.put8At(MB1_FRAMEBUFFER + 21, FRAMEBUFFER_TYPE_EGA_TEXT);
        }
        info.put32At(MB1_FLAGS, flags);
    }

    // ---- Multiboot2 information (2.0 section 3.6) ------------------------------------------------

    public static final int TAG_END = 0;
    public static final int TAG_CMDLINE = 1;
    public static final int TAG_BOOT_LOADER_NAME = 2;
    public static final int TAG_MODULE = 3;
    public static final int TAG_BASIC_MEMINFO = 4;
    public static final int TAG_MMAP = 6;
    public static final int TAG_FRAMEBUFFER = 8;
    public static final int TAG_ELF_SECTIONS = 9;
    public static final int TAG_LOAD_BASE_ADDR = 21;

    private static void writeInfo2(Info info, long ramSize, long loadBase, byte[] cmdline, List<BootModule> modules,
                                   List<long[]> placed, List<MapEntry> map, Sections sections) {
        info.skip(8); // total_size, reserved (3.6.1)
        stringTag(info, TAG_CMDLINE, cmdline); // 3.6.5
        stringTag(info, TAG_BOOT_LOADER_NAME, BOOT_LOADER_NAME.getBytes(StandardCharsets.US_ASCII)); // 3.6.9
        for (int i = 0; i < modules.size(); i++) { // 3.6.6: mod_start, mod_end, string
            byte[] string = modules.get(i).string().getBytes(StandardCharsets.UTF_8);
            info.put32(TAG_MODULE);
            info.put32(16 + string.length + 1);
            info.put32((int) placed.get(i)[0]);
            info.put32((int) placed.get(i)[1]);
            info.string(string);
            info.align(8);
        }
        info.put32(TAG_BASIC_MEMINFO); // 3.6.3
        info.put32(16);
        info.put32((int) (LOW_MEMORY_END / 1024));
        info.put32((int) ((Math.min(ramSize, FOUR_GIB) - UPPER_MEMORY) / 1024));
        info.put32(TAG_LOAD_BASE_ADDR); // 3.6.23 (as GRUB gives it): the lowest physical address loaded
        info.put32(12);
        info.put32((int) loadBase);
        info.align(8);
        info.put32(TAG_MMAP); // 3.6.8: entry_size 24, entry_version 0, entries base, length, type, reserved
        info.put32(16 + 24 * map.size());
        info.put32(24);
        info.put32(0);
        for (MapEntry e : map) {
            info.put64(e.base());
            info.put64(e.length());
            info.put32(e.type());
            info.put32(0);
        }
        // 3.6.12: framebuffer_addr, pitch, width, height, bpp, type (2: EGA text, no colour info),
        // then GRUB's multiboot2.h has a 16-bit reserved field: 32 bytes in all.
        info.put32(TAG_FRAMEBUFFER);
        info.put32(32);
        info.put64(EGA_TEXT_ADDRESS);
        info.put32(EGA_TEXT_COLUMNS * 2);
        info.put32(EGA_TEXT_COLUMNS);
        info.put32(EGA_TEXT_ROWS);
        info.put8(16);
        info.put8(FRAMEBUFFER_TYPE_EGA_TEXT);
        info.put16(0);
        if (sections.count > 0) {
            // 3.6.7: num, entsize, shndx and the section headers. The specification's text has
            // u16 fields with a u16 reserved; GRUB (the reference loader) and its multiboot2.h,
            // which kernels are built against, use three u32 fields: pml4 does as GRUB.
            info.put32(TAG_ELF_SECTIONS);
            info.put32(20 + sections.headers.length);
            info.put32(sections.count);
            info.put32(sections.entrySize);
            info.put32(sections.stringIndex);
            info.put(sections.headers);
            info.align(8);
        }
        info.put32(TAG_END); // 3.6.1: the end tag
        info.put32(8);
        info.put32At(0, info.size()); // total_size, end tag included
    }

    private static void stringTag(Info info, int type, byte[] string) {
        info.put32(type);
        info.put32(8 + string.length + 1);
        info.string(string);
        info.align(8);
    }

    /** The information area being written: a little-endian buffer that knows its physical address. */
    private static final class Info {
        private final ByteBuffer buf = ByteBuffer.allocate((int) (INFO_END - INFO_ADDRESS)).order(ByteOrder.LITTLE_ENDIAN);

        long address() {
            return INFO_ADDRESS + buf.position();
        }

        int size() {
            return buf.position();
        }

        void skip(int n) {
            buf.position(buf.position() + n);
        }

        void align(int n) {
            while (buf.position() % n != 0) {
                buf.put((byte) 0);
            }
        }

        /** Writes {@code s} and a NUL, returning its physical address. */
        long string(byte[] s) {
            long at = address();
            buf.put(s);
            buf.put((byte) 0);
            return at;
        }

        void put(byte[] b) {
            buf.put(b);
        }

        void put8(int v) {
            buf.put((byte) v);
        }

        void put16(int v) {
            buf.putShort((short) v);
        }

        void put32(int v) {
            buf.putInt(v);
        }

        void put64(long v) {
            buf.putLong(v);
        }

        void put8At(int offset, int v) {
            buf.put(offset, (byte) v);
        }

        void put32At(int offset, int v) {
            buf.putInt(offset, v);
        }

        void put64At(int offset, long v) {
            buf.putLong(offset, v);
        }

        byte[] bytes() {
            return java.util.Arrays.copyOf(buf.array(), buf.position());
        }
    }

    /**
     * The ELF section headers for the information structure, as GRUB gives them: a copy of the
     * table in which the sections that no segment loads (symbol and string tables; not
     * SHT_NOBITS, not SHF_ALLOC) are copied into memory after the modules, their sh_addr set
     * to where they now lie, so that a kernel can read its own symbols.
     */
    private static final class Sections {
        private static final int SHT_NULL = 0;
        private static final int SHT_NOBITS = 8;
        private static final long SHF_ALLOC = 2;

        final int count;
        final int entrySize;
        final int stringIndex;
        final byte[] headers;
        final long tableAddress;
        final long end;
        private final List<long[]> copies = new ArrayList<>();
        private final List<byte[]> contents = new ArrayList<>();

        private Sections(int count, int entrySize, int stringIndex, byte[] headers, long tableAddress, long end) {
            this.count = count;
            this.entrySize = entrySize;
            this.stringIndex = stringIndex;
            this.headers = headers;
            this.tableAddress = tableAddress;
            this.end = end;
        }

        static Sections place(ElfImage elf, long cursor, long limit, String name) throws ImageRejectedException {
            if (elf == null || elf.sectionTable().count() == 0) {
                return new Sections(0, 0, 0, new byte[0], 0, cursor);
            }
            ElfImage.SectionTable table = elf.sectionTable();
            boolean wide = elf.bits() == 64;
            ByteBuffer h = ByteBuffer.wrap(table.headers().clone()).order(ByteOrder.LITTLE_ENDIAN);
            List<long[]> copies = new ArrayList<>();
            List<byte[]> contents = new ArrayList<>();
            for (int i = 0; i < table.count(); i++) {
                int at = i * table.entrySize();
                int type = h.getInt(at + 4);
                long flags = wide ? h.getLong(at + 8) : h.getInt(at + 8) & 0xFFFF_FFFFL;
                long offset = wide ? h.getLong(at + 24) : h.getInt(at + 16) & 0xFFFF_FFFFL;
                long size = wide ? h.getLong(at + 32) : h.getInt(at + 20) & 0xFFFF_FFFFL;
                if (type == SHT_NULL || type == SHT_NOBITS || (flags & SHF_ALLOC) != 0 || size == 0) {
                    continue;
                }
                long address = alignUp(cursor, 16);
                if (size > Integer.MAX_VALUE || address + size > limit) {
                    throw new ImageRejectedException(name, "ELF section " + i + " (" + size(size) + ") does not fit "
                            + "in RAM after the kernel and its modules, where pml4 copies the sections it does not load");
                }
                if (wide) {
                    h.putLong(at + 16, address);
                } else {
                    h.putInt(at + 12, (int) address);
                }
                copies.add(new long[] {address});
                contents.add(elf.fileBytes(offset, size));
                cursor = address + size;
            }
            // Multiboot 1 points at the table; Multiboot2 embeds it. A copy after the sections serves both.
            long tableAddress = alignUp(cursor, 16);
            long end = tableAddress + h.capacity();
            if (end > limit) {
                throw new ImageRejectedException(name, "the ELF section header table does not fit in RAM after the "
                        + "kernel and its modules");
            }
            Sections s = new Sections(table.count(), table.entrySize(), table.stringIndex(), h.array(), tableAddress, end);
            s.copies.addAll(copies);
            s.contents.addAll(contents);
            return s;
        }

        void writeTo(PhysicalMemory ram) {
            for (int i = 0; i < copies.size(); i++) {
                ram.writeBytes(copies.get(i)[0], contents.get(i));
            }
            if (count > 0) {
                ram.writeBytes(tableAddress, headers);
            }
        }
    }

    private static long alignUp(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }
}
