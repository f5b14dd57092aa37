package dev.pml4.fuzz;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;

/**
 * Kernel images for fuzzing: random bytes, and well-formed ELF64, ELF32 and Multiboot images
 * mutated mostly in their headers (ELF header, program headers; the Multiboot header), where a
 * loader's trust lives, and sometimes anywhere.
 */
final class ImageMutator {
    /** What a mutated image started as. */
    enum Shape { ELF64, ELF32, MULTIBOOT1, MULTIBOOT2 }

    private static final long[] INTERESTING = {0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x1000, 0x7fff, 0x8000, 0xffff,
            0x100000, 0x200000, 0x4000000, 0x7fffffffL, 0x80000000L, 0xffffffffL, 0x100000000L,
            0x7fffffffffffffffL, 0x8000000000000000L, -1L, -0x1000L, 0xffffffff80000000L, 0xffff800000000000L};

    private final byte[] elf64;

    /** {@code elf64}: a good ELF64 kernel to start from (a guest of guest/build). */
    ImageMutator(byte[] elf64) {
        this.elf64 = elf64.clone();
    }

    /** Random bytes, 1 B to 16 KiB; one in four begins with the ELF magic, so the ELF parser sees noise too. */
    static byte[] random(Random r) {
        byte[] b = new byte[1 + r.nextInt(r.nextBoolean() ? 64 : 16 * 1024)];
        r.nextBytes(b);
        if (b.length >= 4 && r.nextInt(4) == 0) {
            b[0] = 0x7f;
            b[1] = 'E';
            b[2] = 'L';
            b[3] = 'F';
        }
        return b;
    }

    byte[] mutated(Shape shape, Random r) {
        byte[] image = switch (shape) {
            case ELF64 -> elf64.clone();
            case ELF32 -> elf32();
            case MULTIBOOT1 -> multiboot1();
            case MULTIBOOT2 -> multiboot2();
        };
        int[] header = headerRange(shape, image);
        int mutations = 1 + r.nextInt(6);
        for (int m = 0; m < mutations; m++) {
            boolean inHeader = r.nextInt(10) != 0;
            int from = inHeader ? header[0] : 0;
            int to = inHeader ? Math.min(header[1], image.length) : image.length;
            if (to <= from) {
                continue;
            }
            int at = from + r.nextInt(to - from);
            switch (r.nextInt(6)) {
                case 0 -> image[at] ^= (byte) (1 << r.nextInt(8));
                case 1 -> image[at] = (byte) r.nextInt(256);
                case 2, 3 -> {
                    int width = 1 << (1 + r.nextInt(3)); // 2, 4, 8: a header field
                    int aligned = at & -width;
                    if (aligned + width <= image.length) {
                        long v = INTERESTING[r.nextInt(INTERESTING.length)];
                        if (r.nextBoolean()) {
                            v += r.nextInt(9) - 4;
                        }
                        for (int k = 0; k < width; k++) {
                            image[aligned + k] = (byte) (v >>> (8 * k));
                        }
                    }
                }
                case 4 -> image = Arrays.copyOf(image, Math.max(1, r.nextInt(image.length + 1)));
                default -> {
                    byte[] tail = new byte[r.nextInt(4096)];
                    r.nextBytes(tail);
                    byte[] longer = Arrays.copyOf(image, image.length + tail.length);
                    System.arraycopy(tail, 0, longer, image.length, tail.length);
                    image = longer;
                }
            }
        }
        return image;
    }

    /** [from, to) of the bytes a loader reads first: the ELF and program headers, or the Multiboot header. */
    private static int[] headerRange(Shape shape, byte[] image) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        return switch (shape) {
            case ELF64 -> {
                long phoff = b.getLong(32);
                int phnum = b.getShort(56) & 0xffff;
                yield new int[]{0, (int) Math.min(image.length, Math.max(64, phoff + 56L * phnum))};
            }
            case ELF32 -> new int[]{0, 52 + 32};
            case MULTIBOOT1 -> new int[]{0, 48};
            case MULTIBOOT2 -> new int[]{0, 40};
        };
    }

    /** Code both Multiboot images and the ELF32 image carry: write "mb" to COM1, then exit through port 0xF4. */
    private static final byte[] CODE32 = {(byte) 0xba, (byte) 0xf8, 0x03, 0, 0, (byte) 0xb0, 'm', (byte) 0xee,
            (byte) 0xb0, 'b', (byte) 0xee, (byte) 0xb0, 0, (byte) 0xe6, (byte) 0xf4, (byte) 0xf4};

    /** An ELF32 ET_EXEC for i386, one PT_LOAD at 1 MiB (ELF spec, Figure 1-3 and 2-1). */
    static byte[] elf32() {
        int codeAt = 52 + 32;
        ByteBuffer b = ByteBuffer.allocate(codeAt + CODE32.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[]{0x7f, 'E', 'L', 'F', 1, 1, 1, 0}).put(new byte[8]);
        b.putShort((short) 2).putShort((short) 3).putInt(1);      // ET_EXEC, EM_386, EV_CURRENT
        b.putInt(0x100000 + codeAt).putInt(52).putInt(0).putInt(0); // entry, phoff, shoff, flags
        b.putShort((short) 52).putShort((short) 32).putShort((short) 1); // ehsize, phentsize, phnum
        b.putShort((short) 40).putShort((short) 0).putShort((short) 0);
        b.putInt(1).putInt(0).putInt(0x100000).putInt(0x100000);  // PT_LOAD, offset, vaddr, paddr
        b.putInt(codeAt + CODE32.length).putInt(codeAt + CODE32.length).putInt(5).putInt(0x1000);
        b.put(CODE32);
        return b.array();
    }

    /** A flat image with a Multiboot 1 header (magic 0x1BADB002, flags with the address fields, checksum). */
    static byte[] multiboot1() {
        ByteBuffer b = ByteBuffer.allocate(48 + CODE32.length).order(ByteOrder.LITTLE_ENDIAN);
        int magic = 0x1badb002, flags = 0x00010003;
        b.putInt(magic).putInt(flags).putInt(-(magic + flags));
        b.putInt(0x100000).putInt(0x100000).putInt(0x100000 + 48 + CODE32.length).putInt(0).putInt(0x100000 + 48);
        b.putInt(0).putInt(0).putInt(0).putInt(0);
        b.put(CODE32);
        return b.array();
    }

    /** A flat image with a Multiboot 2 header (magic 0xE85250D6, i386, length, checksum, end tag). */
    static byte[] multiboot2() {
        ByteBuffer b = ByteBuffer.allocate(40 + CODE32.length).order(ByteOrder.LITTLE_ENDIAN);
        int magic = 0xe85250d6, length = 40;
        b.putInt(magic).putInt(0).putInt(length).putInt(-(magic + length));
        b.putShort((short) 3).putShort((short) 0).putInt(12).putInt(0x100000 + 40).putInt(0); // entry address tag, padded
        b.putShort((short) 0).putShort((short) 0).putInt(8);                                  // end tag
        b.put(CODE32);
        return b.array();
    }
}
