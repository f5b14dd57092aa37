package dev.pml4.machine;

import static dev.pml4.machine.Messages.hex;

/**
 * The load addresses a Multiboot header gives for an image that is not loaded by its ELF program
 * headers: Multiboot 1's "a.out kludge" (0.6.96 section 3.1.3, header offsets 12–28, valid with
 * flags bit 16) and Multiboot2's address tag (2.0 section 3.1.5). Both read the same way: the file
 * bytes from {@code headerOffset - (header_addr - load_addr)} up to {@code load_end_addr} are
 * copied to {@code load_addr}, and {@code bss_end_addr} ends the zeroed memory after them.
 *
 * @param what how messages name the fields' home ("the Multiboot header", "the Multiboot2 address tag")
 * @param minusOneIsFileStart Multiboot2 only: load_addr 0xFFFFFFFF loads from the start of the file
 */
record AddressFields(String what, boolean minusOneIsFileStart, long headerAddr, long loadAddr, long loadEndAddr, long bssEndAddr) {
    /** Multiboot2 3.1.5: load_addr -1 means "load from the beginning of the file". */
    static final long FROM_FILE_START = 0xFFFF_FFFFL;

    /**
     * The one segment these fields describe.
     *
     * @param headerOffset where the header's magic lies in the file
     * @throws ImageRejectedException naming the field that is out of order or outside the file
     */
    LoadSegment segment(String name, byte[] file, int headerOffset) throws ImageRejectedException {
        long fileOffset;
        long load = loadAddr;
        if (minusOneIsFileStart && loadAddr == FROM_FILE_START) {
            fileOffset = 0;
            load = headerAddr - headerOffset;
        } else {
            if (loadAddr > headerAddr) {
                throw new ImageRejectedException(name, what + ": load_addr " + hex(loadAddr)
                        + " is above header_addr " + hex(headerAddr) + " (it must be at or below it)");
            }
            fileOffset = headerOffset - (headerAddr - loadAddr);
            if (fileOffset < 0) {
                throw new ImageRejectedException(name, what + ": header_addr " + hex(headerAddr) + " - load_addr "
                        + hex(loadAddr) + " is " + hex(headerAddr - loadAddr) + ", more than the header's file offset "
                        + hex(headerOffset) + ", so loading would start before the file");
            }
        }
        long fileBytes;
        if (loadEndAddr == 0) {
            fileBytes = file.length - fileOffset; // 0: up to the end of the file
        } else {
            if (loadEndAddr < load) {
                throw new ImageRejectedException(name, what + ": load_end_addr " + hex(loadEndAddr)
                        + " is below load_addr " + hex(load));
            }
            fileBytes = loadEndAddr - load;
            if (fileOffset + fileBytes > file.length) {
                throw new ImageRejectedException(name, what + ": load_end_addr " + hex(loadEndAddr) + " asks for "
                        + hex(fileBytes) + " bytes from file offset " + hex(fileOffset) + ", past the end of the file ("
                        + file.length + " bytes)");
            }
        }
        long memory = fileBytes;
        if (bssEndAddr != 0) {
            if (bssEndAddr < load + fileBytes) {
                throw new ImageRejectedException(name, what + ": bss_end_addr " + hex(bssEndAddr)
                        + " is below the end of the loaded bytes (" + hex(load + fileBytes) + ")");
            }
            memory = bssEndAddr - load;
        }
        if (memory == 0) {
            throw new ImageRejectedException(name, what + ": load_addr to load_end_addr loads nothing");
        }
        byte[] data = java.util.Arrays.copyOfRange(file, (int) fileOffset, (int) (fileOffset + fileBytes));
        return new LoadSegment(0, load, load, data, memory, true, true);
    }
}
