package dev.pml4.machine;

import static dev.pml4.machine.Messages.hex;
import static dev.pml4.machine.Messages.range;

import java.util.List;

/**
 * A flat binary (BOOT.md, "Images"): the file's bytes, copied as they are to one physical address
 * and run from the entry address, both identity-mapped. It has no symbols and no bss.
 */
public final class FlatImage implements KernelImage {
    private final String name;
    private final LoadSegment segment;
    private final long entry;

    private FlatImage(String name, LoadSegment segment, long entry) {
        this.name = name;
        this.segment = segment;
        this.entry = entry;
    }

    /**
     * @param loadAddress physical (and, identity-mapped, virtual) address of the first byte;
     *                    {@link BootProtocol#FLAT_DEFAULT_LOAD_ADDRESS} unless the user says otherwise
     * @param entry       where execution starts; BOOT.md's default is the load address
     * @throws ImageRejectedException for an empty file, or an entry outside the loaded bytes (it
     *                                could only be a mistake: nothing else is mapped as the kernel's)
     */
    public static FlatImage of(String name, byte[] file, long loadAddress, long entry) throws ImageRejectedException {
        if (file.length == 0) {
            throw new ImageRejectedException(name, "the file is empty: there is nothing to load");
        }
        if (Long.compareUnsigned(loadAddress + file.length - 1, loadAddress) < 0) {
            throw new ImageRejectedException(name, "the flat image at " + hex(loadAddress)
                    + " (" + file.length + " bytes) wraps past the top of the 64-bit address space");
        }
        if (Long.compareUnsigned(entry, loadAddress) < 0
                || Long.compareUnsigned(entry - loadAddress, file.length) >= 0) {
            throw new ImageRejectedException(name, "the entry point " + hex(entry)
                    + " is outside the flat image, which is loaded at " + range(loadAddress, file.length));
        }
        // Readable, writable and executable: a flat binary has no headers to say otherwise.
        return new FlatImage(name, new LoadSegment(0, loadAddress, loadAddress, file, file.length, true, true), entry);
    }

    /** A flat image at BOOT.md's default load address, entered at its first byte. */
    public static FlatImage of(String name, byte[] file) throws ImageRejectedException {
        return of(name, file, BootProtocol.FLAT_DEFAULT_LOAD_ADDRESS, BootProtocol.FLAT_DEFAULT_LOAD_ADDRESS);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<LoadSegment> segments() {
        return List.of(segment);
    }

    public long loadAddress() {
        return segment.physicalAddress();
    }

    @Override
    public long entry() {
        return entry;
    }

    private SymbolTable symbols = SymbolTable.empty();

    /** The same image with symbols (from a NASM map file). */
    public FlatImage withSymbols(SymbolTable table) {
        FlatImage copy = new FlatImage(name, segment, entry);
        copy.symbols = table;
        return copy;
    }

    @Override
    public SymbolTable symbols() {
        return symbols;
    }

    @Override
    public String describe(LoadSegment segment) {
        return "the flat image";
    }

    @Override
    public String toString() {
        return "FlatImage[" + name + ", " + range(segment.physicalAddress(), segment.memorySize())
                + ", entry " + hex(entry) + "]";
    }
}
