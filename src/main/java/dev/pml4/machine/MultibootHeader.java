package dev.pml4.machine;

import static dev.pml4.machine.Messages.hex;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.OptionalInt;

/**
 * A Multiboot 1 header (specification 0.6.96, section 3.1), found and checked.
 *
 * @param offset  where its magic lies in the file
 * @param flags   the header's flags (3.1.2)
 * @param address the a.out-kludge address fields (3.1.3) when flags bit 16 is set, else null
 * @param entry   entry_addr (3.1.3) when flags bit 16 is set
 * @param video   flags bit 2: the kernel asks for a video mode (answered with EGA text)
 */
public record MultibootHeader(int offset, int flags, AddressFields address, long entry, boolean video) {
    /** 3.1.2: the magic field. */
    public static final int MAGIC = 0x1BADB002;
    /** 3.2: what EAX holds at entry. */
    public static final int BOOTLOADER_MAGIC = 0x2BADB002;
    /** 3.1.1: the header lies completely within the first 8192 bytes, 32-bit aligned. */
    public static final int SEARCH_BYTES = 8192;
    public static final int ALIGN = 4;

    /** 3.1.2 flags: bit 0, modules page-aligned; bit 1, memory information; bit 2, video mode table. */
    public static final int FLAG_PAGE_ALIGN = 1;
    public static final int FLAG_MEMORY_INFO = 1 << 1;
    public static final int FLAG_VIDEO_MODE = 1 << 2;
    /** 3.1.2: bit 16, the address fields at offsets 12–28 are valid (the "a.out kludge"). */
    public static final int FLAG_AOUT_KLUDGE = 1 << 16;
    /** 3.1.2: bits 0–15 are requirements; a loader that does not know one must refuse the kernel. */
    private static final int REQUIRED_BITS = 0xFFFF;
    private static final int UNDERSTOOD = FLAG_PAGE_ALIGN | FLAG_MEMORY_INFO | FLAG_VIDEO_MODE;

    /** The first 4-byte-aligned offset in the first 8 KiB where the magic lies, if any. */
    public static OptionalInt find(byte[] file) {
        return findMagic(file, MAGIC, ALIGN, SEARCH_BYTES, 12);
    }

    /**
     * The first {@code align}-aligned offset in the first {@code window} bytes where {@code magic}
     * starts a header of at least {@code fixedPart} bytes that ends inside the window and the file
     * (the search both specifications describe in their section 3.1.1).
     */
    static OptionalInt findMagic(byte[] file, int magic, int align, int window, int fixedPart) {
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        for (int at = 0; at + fixedPart <= Math.min(file.length, window); at += align) {
            if (b.getInt(at) == magic) {
                return OptionalInt.of(at);
            }
        }
        return OptionalInt.empty();
    }

    /**
     * Reads and checks the header at {@code offset}.
     *
     * @throws ImageRejectedException for a bad checksum, a required flag pml4 cannot honour, or
     *                                address fields cut off by the end of the file, naming the field
     */
    public static MultibootHeader parse(String name, byte[] file, int offset) throws ImageRejectedException {
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        String where = "the Multiboot header at file offset " + hex(offset);
        int flags = b.getInt(offset + 4);
        int checksum = b.getInt(offset + 8);
        if (MAGIC + flags + checksum != 0) {
            throw new ImageRejectedException(name, where + ": checksum " + hex(checksum & 0xFFFF_FFFFL)
                    + " does not make magic + flags + checksum zero (it should be " + hex(-(MAGIC + flags) & 0xFFFF_FFFFL) + ")");
        }
        int unknown = flags & REQUIRED_BITS & ~UNDERSTOOD;
        if (unknown != 0) {
            int bit = Integer.numberOfTrailingZeros(unknown);
            throw new ImageRejectedException(name, where + ": flags bit " + bit + " (" + hex(flags & 0xFFFF_FFFFL)
                    + ") is a requirement that pml4 cannot honour (Multiboot 0.6.96 section 3.1.2: bits 0-15 are "
                    + "required, and pml4 knows bits 0, 1 and 2)");
        }
        AddressFields address = null;
        long entry = 0;
        if ((flags & FLAG_AOUT_KLUDGE) != 0) {
            if (offset + 32 > file.length) {
                throw new ImageRejectedException(name, where + ": flags bit 16 says the address fields "
                        + "(header_addr ... entry_addr, offsets 12-28) are valid, but the file ends before them");
            }
            address = new AddressFields("the Multiboot header (a.out kludge)", false, u32(b, offset + 12),
                    u32(b, offset + 16), u32(b, offset + 20), u32(b, offset + 24));
            entry = u32(b, offset + 28);
        }
        boolean video = (flags & FLAG_VIDEO_MODE) != 0;
        if (video && offset + 48 > file.length) {
            throw new ImageRejectedException(name, where + ": flags bit 2 says the graphics fields "
                    + "(mode_type ... depth, offsets 32-44) are valid, but the file ends before them");
        }
        return new MultibootHeader(offset, flags, address, entry, video);
    }

    public boolean pageAlignModules() {
        return (flags & FLAG_PAGE_ALIGN) != 0;
    }

    private static long u32(ByteBuffer b, int at) {
        return b.getInt(at) & 0xFFFF_FFFFL;
    }
}
