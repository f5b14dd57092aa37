package dev.pml4.machine;

import static dev.pml4.machine.BootProtocol.*;
import static dev.pml4.machine.Messages.hex;
import static dev.pml4.machine.Messages.range;
import static dev.pml4.machine.Messages.size;

import dev.pml4.machine.BootProtocol.MemoryType;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Boot protocol version 1 (BOOT.md): places a kernel image in RAM and builds everything BOOT.md
 * promises the kernel at entry: page tables, GDT, boot info with memory map and command line.
 *
 * <p>Everything is checked, and the page tables planned, before the first byte is written, so a
 * refused image leaves RAM as it was.
 *
 * <h2>The memory map</h2>
 * BOOT.md fixes the physical layout; the map reports it, clipped to RAM, sorted, with no overlaps
 * and no two neighbours of the same type:
 * <pre>
 *   0x0..0x1000          reserved  the null page, left zero so that a null pointer finds nothing
 *   0x1000..0x80000      loader    page tables, GDT, boot info and command line, spare table
 *                                  pages up to 0xFFFF, and the boot stack 0x10000..0x80000
 *   0x80000..0xA0000     usable    conventional memory that BOOT.md gives no use
 *   0xA0000..0x100000    reserved  VGA window and ROM area
 *   from 0x100000        kernel    each segment's pages (rounded out to 4 KiB), merged where they
 *                                  touch; usable in the gaps between them and after the last one
 * </pre>
 * The loader entries become the kernel's to reuse once it has its own page tables, GDT and stack
 * and has read the boot info; the map says "loader" so that it knows what it would overwrite.
 */
public final class BootLoader {
    private BootLoader() {
    }

    /** Table entries per page-table page (Intel SDM vol. 3, 4.5: 512 eight-byte entries). */
    private static final int ENTRIES = 512;
    /** From here on an address can only be a virtual one: no machine has this much RAM. */
    private static final long LOOKS_VIRTUAL = 0x0000_8000_0000_0000L;

    /**
     * Loads the image into RAM and sets up the entry state of BOOT.md.
     *
     * @param commandLine the kernel's command line, or null for none (boot info offset 48 is then 0)
     * @return the CPU state at entry and where the kernel landed
     * @throws ImageRejectedException when the image does not fit this machine or the protocol (a
     *                                segment outside RAM, in the loader area, too large...), naming
     *                                the file, the segment and the reason; RAM is untouched then
     */
    public static BootState load(PhysicalMemory ram, KernelImage image, String commandLine)
            throws ImageRejectedException {
        String name = image.name();
        List<LoadSegment> segments = image.segments();
        long ramSize = ram.ramSize();

        checkFitsInRam(ram, image);
        checkVirtualPlacement(image);
        byte[] commandLineBytes = commandLineBytes(name, commandLine);
        Tables tables = new Tables(image);
        for (LoadSegment s : segments) {
            if (s.virtualAddress() != s.physicalAddress()) {
                tables.map(s);
            }
        }
        List<MemoryMapEntry> map = memoryMap(ramSize, image);
        if (map.size() > MEMORY_MAP_MAX_ENTRIES) {
            throw new ImageRejectedException(name, "its segments are spread over so many separate places that the "
                    + "memory map would need " + map.size() + " entries, more than the " + MEMORY_MAP_MAX_ENTRIES
                    + " that fit in the boot info page");
        }

        long kernelStart = -1;
        long kernelEnd = 0;
        for (LoadSegment s : segments) {
            kernelStart = Long.compareUnsigned(s.physicalAddress(), kernelStart) < 0 ? s.physicalAddress() : kernelStart;
            long end = s.physicalAddress() + s.memorySize();
            kernelEnd = Long.compareUnsigned(end, kernelEnd) > 0 ? end : kernelEnd;
        }
        long firstFree = Math.max(alignUp(kernelEnd, PAGE_SIZE_4K), KERNEL_AREA_START);

        // Nothing was refused: write. The loader's low memory is cleared first so that a machine
        // that is booted twice sees the same bytes as a fresh one.
        ram.zero(0, STACK_TOP);
        tables.writeTo(ram);
        writeGdt(ram);
        writeBootInfo(ram, kernelStart, kernelEnd, firstFree, map, commandLineBytes);
        for (LoadSegment s : segments) {
            ram.writeBytes(s.physicalAddress(), s.data());
            ram.zero(s.physicalAddress() + s.fileSize(), s.memorySize() - s.fileSize());
        }

        return new BootState(image.entry(), ENTRY_RSP, ENTRY_RDI, ENTRY_RFLAGS,
                ENTRY_CR0, ENTRY_CR3, ENTRY_CR4, ENTRY_EFER,
                GDT_ADDRESS, GDT_LIMIT,
                ENTRY_CS, ENTRY_DS, ENTRY_ES, ENTRY_SS, ENTRY_FS, ENTRY_GS,
                kernelStart, kernelEnd, firstFree);
    }

    /**
     * The memory map that {@link #load} writes for this image in this much RAM (see the class
     * comment for the layout).
     */
    public static List<MemoryMapEntry> memoryMap(long ramSize, KernelImage image) {
        List<MemoryMapEntry> out = new ArrayList<>();
        add(out, ramSize, NULL_PAGE, LOADER_BASE, MemoryType.RESERVED);
        add(out, ramSize, LOADER_BASE, STACK_TOP, MemoryType.LOADER);
        add(out, ramSize, STACK_TOP, RESERVED_LOW_START, MemoryType.USABLE);
        add(out, ramSize, RESERVED_LOW_START, KERNEL_AREA_START, MemoryType.RESERVED);

        List<long[]> kernel = new ArrayList<>();
        for (LoadSegment s : image.segments()) {
            kernel.add(new long[] {alignDown(s.physicalAddress(), PAGE_SIZE_4K),
                    alignUp(s.physicalAddress() + s.memorySize(), PAGE_SIZE_4K)});
        }
        kernel.sort((a, b) -> Long.compareUnsigned(a[0], b[0]));
        long cursor = KERNEL_AREA_START;
        for (long[] k : kernel) {
            add(out, ramSize, cursor, k[0], MemoryType.USABLE);
            add(out, ramSize, Math.max(cursor, k[0]), k[1], MemoryType.KERNEL);
            cursor = Math.max(cursor, k[1]);
        }
        add(out, ramSize, cursor, ramSize, MemoryType.USABLE);
        return List.copyOf(out);
    }

    /** Appends [start, end) clipped to RAM, merging it into the previous entry of the same type. */
    private static void add(List<MemoryMapEntry> out, long ramSize, long start, long end, MemoryType type) {
        end = Math.min(end, ramSize);
        if (start >= end) {
            return;
        }
        if (!out.isEmpty()) {
            MemoryMapEntry last = out.getLast();
            if (last.type() == type && last.end() == start) {
                out.set(out.size() - 1, new MemoryMapEntry(last.base(), end - last.base(), type));
                return;
            }
        }
        out.add(new MemoryMapEntry(start, end - start, type));
    }

    // ---- checks ----------------------------------------------------------------------------------

    /** BOOT.md, "Images": a segment or image outside RAM or over the loader area is refused. */
    private static void checkFitsInRam(PhysicalMemory ram, KernelImage image) throws ImageRejectedException {
        String name = image.name();
        long ramSize = ram.ramSize();
        if (ramSize <= KERNEL_AREA_START) {
            throw new ImageRejectedException(name, "RAM of " + size(ramSize) + " is too small: BOOT.md keeps "
                    + "the first 1 MiB for the loader, and the kernel goes above it");
        }
        long available = ramSize - KERNEL_AREA_START;
        long total = 0;
        for (LoadSegment s : image.segments()) {
            total = saturatingAdd(total, s.memorySize());
        }
        if (Long.compareUnsigned(total, available) > 0) {
            throw new ImageRejectedException(name, "the image is larger than RAM: it needs " + describeSize(total)
                    + " of memory, but RAM is " + size(ramSize) + " and only the " + describeSize(available)
                    + " above the loader area (0x100000) can hold a kernel");
        }
        for (LoadSegment s : image.segments()) {
            String where = image.describe(s);
            long start = s.physicalAddress();
            if (Long.compareUnsigned(start, KERNEL_AREA_START) < 0) {
                throw new ImageRejectedException(name, where + " at physical " + hex(start)
                        + " overlaps the loader area (below 0x100000)");
            }
            if (!ram.isRam(start, s.memorySize())) {
                boolean pastEnd = Long.compareUnsigned(s.lastPhysical(), ramSize) >= 0;
                String hint = start == s.virtualAddress() && Long.compareUnsigned(start, LOOKS_VIRTUAL) >= 0
                        ? "; its p_paddr equals its p_vaddr, as when a higher-half kernel is linked without "
                        + "AT(...) in its linker script to give each section a physical load address"
                        : "";
                throw new ImageRejectedException(name, where + " at physical " + range(start, s.memorySize())
                        + (pastEnd ? " runs past the end of RAM (" + hex(ramSize) + ", " + size(ramSize) + ")"
                        : " covers physical addresses that are not RAM") + hint);
            }
            if (start == s.virtualAddress() && Long.compareUnsigned(s.lastPhysical(), IDENTITY_MAP_SIZE) >= 0) {
                throw new ImageRejectedException(name, where + " at physical " + range(start, s.memorySize())
                        + " reaches above 4 GiB, where the boot page tables identity-map nothing, so it would not be "
                        + "mapped at entry; load it below 4 GiB or give it a p_vaddr that differs from its p_paddr");
            }
        }
    }

    /**
     * Checks what the 4 KiB mappings of segments with p_vaddr != p_paddr need: a canonical
     * virtual range, the same offset within a page on both sides, no mapping over the first MiB
     * (the boot stack and boot info are used there, identity-mapped, at entry), and no virtual page
     * that two segments would put on different frames.
     */
    private static void checkVirtualPlacement(KernelImage image) throws ImageRejectedException {
        String name = image.name();
        List<LoadSegment> segments = image.segments();
        for (LoadSegment s : segments) {
            if (s.virtualAddress() == s.physicalAddress()) {
                continue;
            }
            String where = image.describe(s);
            long first = s.virtualAddress();
            long last = s.lastVirtual();
            if (!isCanonical(first) || !isCanonical(last) || (first ^ last) < 0) {
                throw new ImageRejectedException(name, where + " at virtual " + range(first, s.memorySize())
                        + " is not in canonical address space (bits 63..47 of an address must all be equal), "
                        + "so no page table can map it");
            }
            if (((first ^ s.physicalAddress()) & (PAGE_SIZE_4K - 1)) != 0) {
                throw new ImageRejectedException(name, where + ": p_vaddr " + hex(first) + " and p_paddr "
                        + hex(s.physicalAddress()) + " differ in their low 12 bits, so 4 KiB pages cannot map "
                        + "one onto the other; align them alike in the linker script");
            }
            if (Long.compareUnsigned(first, KERNEL_AREA_START) < 0) {
                throw new ImageRejectedException(name, where + " at virtual " + range(first, s.memorySize())
                        + " would be mapped over the first 1 MiB, which must stay identity-mapped at entry "
                        + "(boot stack, boot info, page tables)");
            }
        }
        for (int a = 0; a < segments.size(); a++) {
            for (int b = a + 1; b < segments.size(); b++) {
                LoadSegment x = segments.get(a);
                LoadSegment y = segments.get(b);
                long deltaX = x.virtualAddress() - x.physicalAddress();
                long deltaY = y.virtualAddress() - y.physicalAddress();
                long xFirst = alignDown(x.virtualAddress(), PAGE_SIZE_4K);
                long yFirst = alignDown(y.virtualAddress(), PAGE_SIZE_4K);
                if (deltaX != deltaY && ElfImage.overlap(xFirst, x.lastVirtual(), yFirst, y.lastVirtual())) {
                    long page = Long.compareUnsigned(xFirst, yFirst) > 0 ? xFirst : yFirst;
                    throw new ImageRejectedException(name, image.describe(x) + " and " + image.describe(y)
                            + " share the virtual page " + hex(page) + " but would put it on different physical "
                            + "pages (" + hex(page - deltaX) + " and " + hex(page - deltaY)
                            + "), so 4 KiB pages cannot map both");
                }
            }
        }
    }

    private static byte[] commandLineBytes(String name, String commandLine) throws ImageRejectedException {
        if (commandLine == null) {
            return null;
        }
        byte[] bytes = commandLine.getBytes(StandardCharsets.UTF_8);
        for (byte b : bytes) {
            if (b == 0) {
                throw new ImageRejectedException(name, "the command line contains a NUL byte, "
                        + "which would end it early for the kernel");
            }
        }
        if (bytes.length > COMMAND_LINE_MAX_BYTES) {
            throw new ImageRejectedException(name, "the command line is too long: " + bytes.length
                    + " bytes, and at most " + COMMAND_LINE_MAX_BYTES + " fit in the boot info page");
        }
        return bytes;
    }

    // ---- writing ---------------------------------------------------------------------------------

    /** BOOT.md: GDT at 0x7000: null, kernel code 0x08, kernel data 0x10, user data 0x18, user code 0x20. */
    private static void writeGdt(PhysicalMemory ram) {
        long[] descriptors = {GDT_NULL, GDT_KERNEL_CODE, GDT_KERNEL_DATA, GDT_USER_DATA, GDT_USER_CODE};
        for (int i = 0; i < descriptors.length; i++) {
            ram.write64(GDT_ADDRESS + 8L * i, descriptors[i]);
        }
    }

    /** BOOT.md, "Boot info", then the map entries, then the command line at the next 8-byte boundary. */
    private static void writeBootInfo(PhysicalMemory ram, long kernelStart, long kernelEnd, long firstFree,
                                      List<MemoryMapEntry> map, byte[] commandLine) {
        long info = BOOT_INFO_ADDRESS;
        long mapEnd = info + BI_MEMORY_MAP + (long) map.size() * MEMORY_MAP_ENTRY_SIZE;
        long commandLineAddress = commandLine == null ? 0 : alignUp(mapEnd, 8);
        ram.write64(info + BI_MAGIC, BOOT_INFO_MAGIC);
        ram.write64(info + BI_VERSION, VERSION);
        ram.write64(info + BI_RAM_SIZE, ram.ramSize());
        ram.write64(info + BI_KERNEL_START, kernelStart);
        ram.write64(info + BI_KERNEL_END, kernelEnd);
        ram.write64(info + BI_FIRST_FREE, firstFree);
        ram.write64(info + BI_COMMAND_LINE, commandLineAddress);
        ram.write64(info + BI_MEMORY_MAP_COUNT, map.size());
        for (int i = 0; i < map.size(); i++) {
            long entry = info + BI_MEMORY_MAP + (long) i * MEMORY_MAP_ENTRY_SIZE;
            ram.write64(entry, map.get(i).base());
            ram.write64(entry + 8, map.get(i).length());
            ram.write64(entry + 16, map.get(i).type().code);
        }
        if (commandLine != null) {
            ram.writeBytes(commandLineAddress, commandLine);
            ram.write8(commandLineAddress + commandLine.length, 0);
        }
    }

    /**
     * The boot page tables, planned in Java first so that running out of table pages or a
     * conflict refuses the image before RAM is touched.
     */
    private static final class Tables {
        private final KernelImage image;
        /** Table pages by physical address, in allocation order. */
        private final Map<Long, long[]> pages = new LinkedHashMap<>();
        private long nextFree = EXTRA_TABLES_START;

        /** BOOT.md: PML4[0] -> PDPT, PDPT[0..3] -> four PDs, 2048 identity 2 MiB pages for 4 GiB. */
        Tables(KernelImage image) {
            this.image = image;
            table(PML4_ADDRESS)[0] = PDPT_ADDRESS | TABLE_ENTRY_FLAGS;
            long[] pdpt = table(PDPT_ADDRESS);
            for (int g = 0; g < PD_COUNT; g++) {
                long pdAddress = PD_ADDRESS + g * PAGE_SIZE_4K;
                pdpt[g] = pdAddress | TABLE_ENTRY_FLAGS;
                long[] pd = table(pdAddress);
                for (int i = 0; i < ENTRIES; i++) {
                    pd[i] = ((long) g * ENTRIES + i) * PAGE_SIZE_2M | IDENTITY_2M_FLAGS;
                }
            }
        }

        /** BOOT.md: maps the segment at p_vaddr with 4 KiB pages onto its p_paddr. */
        void map(LoadSegment s) throws ImageRejectedException {
            long delta = s.virtualAddress() - s.physicalAddress();
            long first = alignDown(s.virtualAddress(), PAGE_SIZE_4K);
            long pages = (alignDown(s.lastVirtual(), PAGE_SIZE_4K) - first) / PAGE_SIZE_4K + 1;
            for (long n = 0; n < pages; n++) {
                long virtual = first + n * PAGE_SIZE_4K;
                long[] pdpt = next(table(PML4_ADDRESS), index(virtual, 39), s);
                long[] pd = next(pdpt, index(virtual, 30), s);
                long[] pt = next(pd, index(virtual, 21), s);
                pt[index(virtual, 12)] = (virtual - delta) | PAGE_4K_FLAGS;
            }
        }

        /**
         * The table that entry {@code i} of {@code parent} points at, allocating one if the entry is
         * empty. A 2 MiB identity page in the way is split into a page table that keeps the
         * identity mapping for the rest of its 2 MiB.
         */
        private long[] next(long[] parent, int i, LoadSegment s) throws ImageRejectedException {
            long entry = parent[i];
            if ((entry & PTE_PRESENT) != 0 && (entry & PTE_PAGE_SIZE) == 0) {
                return table(entry & PTE_ADDRESS_MASK);
            }
            long address = allocate(s);
            long[] child = table(address);
            if ((entry & PTE_PAGE_SIZE) != 0) {
                long base = entry & PTE_ADDRESS_MASK;
                for (int k = 0; k < ENTRIES; k++) {
                    child[k] = (base + k * PAGE_SIZE_4K) | PAGE_4K_FLAGS;
                }
            }
            parent[i] = address | TABLE_ENTRY_FLAGS;
            return child;
        }

        private long allocate(LoadSegment s) throws ImageRejectedException {
            if (nextFree >= EXTRA_TABLES_END) {
                long slots = (EXTRA_TABLES_END - EXTRA_TABLES_START) / PAGE_SIZE_4K;
                throw new ImageRejectedException(image.name(), image.describe(s) + " at virtual "
                        + range(s.virtualAddress(), s.memorySize()) + " needs more page tables than fit where BOOT.md "
                        + "puts them (0x9000..0x10000, " + slots + " tables); map fewer or smaller "
                        + "segments away from their physical address");
            }
            long address = nextFree;
            nextFree += PAGE_SIZE_4K;
            return address;
        }

        private long[] table(long address) {
            return pages.computeIfAbsent(address, a -> new long[ENTRIES]);
        }

        void writeTo(PhysicalMemory ram) {
            for (Map.Entry<Long, long[]> page : pages.entrySet()) {
                long[] entries = page.getValue();
                for (int i = 0; i < ENTRIES; i++) {
                    ram.write64(page.getKey() + 8L * i, entries[i]);
                }
            }
        }

        private static int index(long virtual, int shift) {
            return (int) ((virtual >>> shift) & (ENTRIES - 1));
        }
    }

    // ---- arithmetic ------------------------------------------------------------------------------

    /** x86-64 canonical form with 48-bit virtual addresses (4-level paging): bits 63..47 equal. */
    private static boolean isCanonical(long address) {
        return (address << 16 >> 16) == address;
    }

    private static long alignDown(long value, long alignment) {
        return value & -alignment;
    }

    private static long alignUp(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }

    private static long saturatingAdd(long a, long b) {
        long sum = a + b;
        return Long.compareUnsigned(sum, a) < 0 ? -1L : sum;
    }

    private static String describeSize(long bytes) {
        return bytes == -1L ? "more than 2^64 bytes" : hex(bytes) + " bytes (" + size(bytes) + ")";
    }
}
