package dev.pml4.machine;

import static dev.pml4.machine.Messages.hex;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;

/**
 * A Multiboot2 header (specification 2.0, section 3.1), found and checked, with the tags pml4
 * acts on. Every tag that is not marked optional (flags bit 0, 3.1.3) and asks for something pml4
 * cannot give is refused, naming the tag.
 *
 * @param offset  where its magic lies in the file
 * @param address the address tag's fields (3.1.5), or null to load by ELF program headers
 * @param entry   the entry address tag's entry_addr (3.1.6), if there is one
 */
public record Multiboot2Header(int offset, AddressFields address, OptionalLong entry) {
    /** 3.1.2: the magic field. */
    public static final int MAGIC = 0xE85250D6;
    /** 3.3: what EAX holds at entry. */
    public static final int BOOTLOADER_MAGIC = 0x36D76289;
    /** 3.1.1: the header lies completely within the first 32768 bytes, 64-bit aligned. */
    public static final int SEARCH_BYTES = 32768;
    public static final int ALIGN = 8;
    /** 3.1.2: architecture 0 is 32-bit (protected mode of) i386. */
    private static final int ARCH_I386 = 0;
    private static final int FIXED_PART = 16;

    // 3.1.3–3.1.13: header tag types.
    private static final int TAG_END = 0;
    private static final int TAG_INFORMATION_REQUEST = 1;
    private static final int TAG_ADDRESS = 2;
    private static final int TAG_ENTRY_ADDRESS = 3;
    private static final int TAG_CONSOLE_FLAGS = 4;
    private static final int TAG_FRAMEBUFFER = 5;
    private static final int TAG_MODULE_ALIGN = 6;
    private static final int TAG_EFI_BS = 7;
    private static final int TAG_ENTRY_ADDRESS_EFI32 = 8;
    private static final int TAG_ENTRY_ADDRESS_EFI64 = 9;
    private static final int TAG_RELOCATABLE = 10;
    /** 3.1.3: tag flags bit 0, "optional": a loader that cannot honour the tag may ignore it. */
    private static final int TAG_OPTIONAL = 1;

    /** The information tags (3.6) that {@link MultibootLoader} always gives. */
    static final Set<Integer> PROVIDED_INFORMATION = Set.of(0, 1, 2, 3, 4, 6, 8, 9, 21);

    /** The first 8-byte-aligned offset in the first 32 KiB where the magic lies, if any. */
    public static OptionalInt find(byte[] file) {
        return MultibootHeader.findMagic(file, MAGIC, ALIGN, SEARCH_BYTES, FIXED_PART);
    }

    /**
     * Reads and checks the header at {@code offset} and its tags.
     *
     * @throws ImageRejectedException naming the field or tag at fault
     */
    public static Multiboot2Header parse(String name, byte[] file, int offset) throws ImageRejectedException {
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        String where = "the Multiboot2 header at file offset " + hex(offset);
        int architecture = b.getInt(offset + 4);
        long length = b.getInt(offset + 8) & 0xFFFF_FFFFL;
        int checksum = b.getInt(offset + 12);
        if (MAGIC + architecture + (int) length + checksum != 0) {
            throw new ImageRejectedException(name, where + ": checksum " + hex(checksum & 0xFFFF_FFFFL)
                    + " does not make magic + architecture + header_length + checksum zero (it should be "
                    + hex(-(MAGIC + architecture + (int) length) & 0xFFFF_FFFFL) + ")");
        }
        if (architecture != ARCH_I386) {
            throw new ImageRejectedException(name, where + ": architecture " + architecture
                    + (architecture == 4 ? " (32-bit MIPS)" : "") + " is not 0 (32-bit protected-mode i386), "
                    + "the only one pml4 boots");
        }
        if (length < FIXED_PART + 8) {
            throw new ImageRejectedException(name, where + ": header_length " + length
                    + " is too small for the fixed part (16 bytes) and an end tag (8 bytes)");
        }
        if (offset + length > file.length) {
            throw new ImageRejectedException(name, where + ": header_length " + length
                    + " runs past the end of the file (" + file.length + " bytes)");
        }
        if (offset + length > SEARCH_BYTES) {
            throw new ImageRejectedException(name, where + ": header_length " + length + " takes the header past "
                    + "the first 32768 bytes of the file, where Multiboot2 (section 3.1.1) wants all of it");
        }
        int end = (int) (offset + length);
        AddressFields address = null;
        OptionalLong entry = OptionalLong.empty();
        int at = offset + FIXED_PART;
        boolean ended = false;
        while (at + 8 <= end) {
            int type = b.getShort(at) & 0xFFFF;
            int flags = b.getShort(at + 2) & 0xFFFF;
            long size = b.getInt(at + 4) & 0xFFFF_FFFFL;
            boolean optional = (flags & TAG_OPTIONAL) != 0;
            String tag = "the " + tagName(type) + " tag (type " + type + ") at file offset " + hex(at);
            if (size < 8 || at + size > end) {
                throw new ImageRejectedException(name, tag + ": size " + size + (size < 8
                        ? " is smaller than a tag's own 8 bytes" : " runs past header_length (" + length + ")"));
            }
            if (type == TAG_END) {
                if (size != 8) {
                    throw new ImageRejectedException(name, tag + ": size " + size + ", expected 8");
                }
                ended = true;
                break;
            }
            switch (type) {
                case TAG_INFORMATION_REQUEST -> {
                    if ((size - 8) % 4 != 0) {
                        throw sizeRejected(name, tag, size, "8 plus 4 per requested type");
                    }
                    for (int i = at + 8; i < at + size; i += 4) {
                        int wanted = b.getInt(i);
                        if (!optional && !PROVIDED_INFORMATION.contains(wanted)) {
                            throw new ImageRejectedException(name, tag + " requires information tag type " + wanted
                                    + " (" + informationName(wanted) + "), which pml4 does not provide (it gives "
                                    + "types 1, 2, 3, 4, 6, 8, 9 and 21); set the request's optional flag to boot anyway");
                        }
                    }
                }
                case TAG_ADDRESS -> {
                    expectSize(name, tag, size, 24);
                    address = new AddressFields("the Multiboot2 address tag", true, u32(b, at + 8), u32(b, at + 12),
                            u32(b, at + 16), u32(b, at + 20));
                }
                case TAG_ENTRY_ADDRESS -> {
                    expectSize(name, tag, size, 12);
                    entry = OptionalLong.of(u32(b, at + 8));
                }
                case TAG_CONSOLE_FLAGS -> expectSize(name, tag, size, 12); // EGA text is there: any flags are met
                case TAG_FRAMEBUFFER -> {
                    expectSize(name, tag, size, 20);
                    long width = u32(b, at + 8);
                    long height = u32(b, at + 12);
                    long depth = u32(b, at + 16);
                    boolean text = (width == 0 || width == 80) && (height == 0 || height == 25) && depth == 0;
                    if (!text && !optional) {
                        throw new ImageRejectedException(name, tag + " requires a " + width + "x" + height + "x" + depth
                                + " graphics mode; pml4 has only EGA text, 80x25 (width 0 or 80, height 0 or 25, "
                                + "depth 0), so set the tag's optional flag or ask for text");
                    }
                }
                case TAG_MODULE_ALIGN -> expectSize(name, tag, size, 8); // modules are always page-aligned
                case TAG_EFI_BS -> {
                    if (!optional) {
                        throw new ImageRejectedException(name, tag + " requires EFI boot services to be left "
                                + "running; pml4 is no EFI firmware");
                    }
                }
                // 3.1.7/3.1.8: used only on EFI platforms with boot services; 3.1.13: the image may
                // be relocated, which allows loading it where it is linked, as pml4 does.
                case TAG_ENTRY_ADDRESS_EFI32, TAG_ENTRY_ADDRESS_EFI64 -> expectSize(name, tag, size, 12);
                case TAG_RELOCATABLE -> expectSize(name, tag, size, 24);
                default -> {
                    if (!optional) {
                        throw new ImageRejectedException(name, tag + " is a tag type pml4 does not know, "
                                + "and it is not marked optional");
                    }
                }
            }
            at += (int) ((size + 7) & ~7L);
        }
        if (!ended) {
            throw new ImageRejectedException(name, where + ": no end tag (type 0, size 8) within header_length "
                    + length);
        }
        if (address != null && entry.isEmpty()) {
            throw new ImageRejectedException(name, where + ": an address tag without an entry address tag "
                    + "(type 3): an image loaded by address fields has no other entry point");
        }
        return new Multiboot2Header(offset, address, entry);
    }

    private static void expectSize(String name, String tag, long size, int expected) throws ImageRejectedException {
        if (size != expected) {
            throw sizeRejected(name, tag, size, String.valueOf(expected));
        }
    }

    private static ImageRejectedException sizeRejected(String name, String tag, long size, String expected) {
        return new ImageRejectedException(name, tag + ": size " + size + ", expected " + expected);
    }

    private static long u32(ByteBuffer b, int at) {
        return b.getInt(at) & 0xFFFF_FFFFL;
    }

    private static String tagName(int type) {
        return switch (type) {
            case TAG_END -> "end";
            case TAG_INFORMATION_REQUEST -> "information request";
            case TAG_ADDRESS -> "address";
            case TAG_ENTRY_ADDRESS -> "entry address";
            case TAG_CONSOLE_FLAGS -> "console flags";
            case TAG_FRAMEBUFFER -> "framebuffer";
            case TAG_MODULE_ALIGN -> "module alignment";
            case TAG_EFI_BS -> "EFI boot services";
            case TAG_ENTRY_ADDRESS_EFI32 -> "EFI i386 entry address";
            case TAG_ENTRY_ADDRESS_EFI64 -> "EFI amd64 entry address";
            case TAG_RELOCATABLE -> "relocatable header";
            default -> "unknown";
        };
    }

    /** Multiboot2 3.6: the information tag types, for messages. */
    private static String informationName(int type) {
        return switch (type) {
            case 5 -> "BIOS boot device";
            case 7 -> "VBE info";
            case 10 -> "APM table";
            case 11 -> "EFI 32-bit system table pointer";
            case 12 -> "EFI 64-bit system table pointer";
            case 13 -> "SMBIOS tables";
            case 14 -> "ACPI old RSDP";
            case 15 -> "ACPI new RSDP";
            case 16 -> "networking information";
            case 17 -> "EFI memory map";
            case 18 -> "EFI boot services not terminated";
            case 19 -> "EFI 32-bit image handle pointer";
            case 20 -> "EFI 64-bit image handle pointer";
            case 21 -> "image load base physical address";
            default -> "unknown";
        };
    }
}
