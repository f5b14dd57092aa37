package dev.pml4.machine;

import static dev.pml4.machine.Messages.hex;
import static dev.pml4.machine.Messages.range;

import java.util.ArrayList;
import java.util.List;

/**
 * A kernel with a Multiboot 1 or Multiboot2 header, as the header says to load it: by the ELF
 * program headers (ELF32 or ELF64, each segment at its p_paddr), or by the header's address fields
 * (Multiboot 1's a.out kludge, Multiboot2's address tag) for a flat image. Where it fits in RAM is
 * {@link MultibootLoader}'s to decide.
 *
 * @param method MULTIBOOT or MULTIBOOT2
 * @param entry  the physical address of the first instruction (paging is off at entry)
 * @param elf    the ELF file when the image is loaded by its program headers; null for address fields
 * @param header the Multiboot 1 header (null for Multiboot2)
 */
public record MultibootImage(String name, BootMethod method, List<LoadSegment> segments, long entry,
                             SymbolTable symbols, ElfImage elf, MultibootHeader header) implements KernelImage {
    public MultibootImage {
        segments = List.copyOf(segments);
    }

    /**
     * Makes the image of {@code file} for {@code method} (MULTIBOOT or MULTIBOOT2), whose header
     * must be in it.
     *
     * @throws ImageRejectedException when there is no header, or it or the ELF file is bad
     */
    public static MultibootImage of(String name, byte[] file, BootMethod method) throws ImageRejectedException {
        if (method == BootMethod.MULTIBOOT2) {
            var at = Multiboot2Header.find(file);
            if (at.isEmpty()) {
                throw new ImageRejectedException(name, "no Multiboot2 header: its magic 0xe85250d6 is not at any "
                        + "8-byte-aligned offset in the first 32768 bytes (--boot multiboot2 asks for one)");
            }
            Multiboot2Header h = Multiboot2Header.parse(name, file, at.getAsInt());
            if (h.address() != null) {
                LoadSegment s = h.address().segment(name, file, h.offset());
                return new MultibootImage(name, method, List.of(s), checkFlatEntry(name, h.entry().getAsLong(), s,
                        "entry_addr of the entry address tag"), SymbolTable.empty(), null, null);
            }
            ElfImage elf = elf(name, file, "Multiboot2 header has no address tag");
            long entry = h.entry().isPresent() ? h.entry().getAsLong() : physicalEntry(elf);
            return new MultibootImage(name, method, elf.segments(), entry, elf.symbols(), elf, null);
        }
        var at = MultibootHeader.find(file);
        if (at.isEmpty()) {
            throw new ImageRejectedException(name, "no Multiboot header: its magic 0x1badb002 is not at any "
                    + "4-byte-aligned offset in the first 8192 bytes (--boot multiboot asks for one)");
        }
        MultibootHeader h = MultibootHeader.parse(name, file, at.getAsInt());
        if (h.address() != null) {
            LoadSegment s = h.address().segment(name, file, h.offset());
            return new MultibootImage(name, method, List.of(s), checkFlatEntry(name, h.entry(), s,
                    "entry_addr of the Multiboot header"), SymbolTable.empty(), null, h);
        }
        ElfImage elf = elf(name, file, "Multiboot header's flags bit 16 (a.out kludge) is clear");
        return new MultibootImage(name, method, elf.segments(), physicalEntry(elf), elf.symbols(), elf, h);
    }

    private static ElfImage elf(String name, byte[] file, String why) throws ImageRejectedException {
        if (!KernelImages.isElf(file)) {
            throw new ImageRejectedException(name, "not an ELF file, and the " + why
                    + ", so nothing says where to load it");
        }
        return ElfImage.parse(name, file);
    }

    private static long checkFlatEntry(String name, long entry, LoadSegment s, String field)
            throws ImageRejectedException {
        if (entry < s.physicalAddress() || entry >= s.physicalAddress() + s.fileSize()) {
            throw new ImageRejectedException(name, field + " " + hex(entry) + " is outside the loaded bytes "
                    + range(s.physicalAddress(), s.fileSize()));
        }
        return entry;
    }

    /**
     * Paging is off at entry, so e_entry is taken as the physical address it lies at: a virtual
     * e_entry inside a segment is moved by that segment's p_paddr - p_vaddr, as GRUB does
     * (ElfImage has already checked that e_entry lies in a segment's virtual range).
     */
    private static long physicalEntry(ElfImage elf) {
        for (LoadSegment s : elf.segments()) {
            if (Long.compareUnsigned(elf.entry(), s.virtualAddress()) >= 0
                    && Long.compareUnsigned(elf.entry() - s.virtualAddress(), s.memorySize()) < 0) {
                return elf.entry() - s.virtualAddress() + s.physicalAddress();
            }
        }
        return elf.entry();
    }

    @Override
    public String describe(LoadSegment segment) {
        return elf != null ? elf.describe(segment) : "the image (loaded by the header's address fields)";
    }

    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        for (LoadSegment s : segments) {
            parts.add(range(s.physicalAddress(), s.memorySize()));
        }
        return "MultibootImage[" + name + ", " + method.cliName() + ", entry " + hex(entry) + ", " + parts + "]";
    }
}
