package dev.pml4.machine;

/**
 * One piece of a kernel image that the loader copies to physical memory: an ELF {@code PT_LOAD}
 * program header, or the whole of a flat binary.
 *
 * @param index           the program header's index in the ELF file (as {@code readelf -l} numbers
 *                        them), which is what messages call "PT_LOAD segment N"; 0 for a flat image
 * @param physicalAddress where the bytes go ({@code p_paddr})
 * @param virtualAddress  where the kernel expects them ({@code p_vaddr}); mapped there at boot when
 *                        it differs from the physical address
 * @param data            the {@code p_filesz} bytes from the file (copied in and out: the record
 *                        stays immutable)
 * @param memorySize      {@code p_memsz}: bytes from {@code data.length} up to this are zeroed (bss)
 * @param writable        {@code PF_W}
 * @param executable      {@code PF_X}
 */
public record LoadSegment(int index, long physicalAddress, long virtualAddress, byte[] data, long memorySize,
                          boolean writable, boolean executable) {
    public LoadSegment {
        if (index < 0) {
            throw new IllegalArgumentException("negative segment index " + index);
        }
        if (Long.compareUnsigned(data.length, memorySize) > 0) {
            throw new IllegalArgumentException("segment data (" + data.length
                    + " bytes) is larger than its memory size " + Long.toUnsignedString(memorySize));
        }
        data = data.clone();
    }

    /** A copy of the file bytes; see {@link #fileSize()} to avoid the copy. */
    @Override
    public byte[] data() {
        return data.clone();
    }

    /** {@code p_filesz}: how many bytes come from the file. */
    public int fileSize() {
        return data.length;
    }

    /** The last physical byte (inclusive, so that a segment ending at 2^64 does not wrap). */
    long lastPhysical() {
        return physicalAddress + memorySize - 1;
    }

    /** The last virtual byte (inclusive). */
    long lastVirtual() {
        return virtualAddress + memorySize - 1;
    }
}
