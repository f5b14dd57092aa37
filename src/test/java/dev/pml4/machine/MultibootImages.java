package dev.pml4.machine;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Small Multiboot images for tests, written field by field from the specifications: a flat
 * Multiboot 1 image with the a.out-kludge address fields (0.6.96 section 3.1.3), and a flat
 * Multiboot2 image with an address and an entry address tag (2.0 sections 3.1.5, 3.1.6) plus any
 * other tags. Both are loaded at 0x100000 with the header at file offset 0 and run
 * {@link #EXIT_0} at 0x100040.
 */
public final class MultibootImages {
    private MultibootImages() {
    }

    public static final long LOAD = 0x100000;
    /** Where the code starts, in the file and after LOAD. */
    public static final int CODE = 0x40;
    /** xor eax, eax; out 0xf4, al; hlt. */
    public static final byte[] EXIT_0 = {0x31, (byte) 0xc0, (byte) 0xe6, (byte) 0xf4, (byte) 0xf4};

    /** A Multiboot 1 a.out-kludge image: flags 0x10003, load 0x100000, whole file, bss 0x1000. */
    public static Mb1 mb1() {
        return new Mb1();
    }

    public static final class Mb1 {
        public int flags = 0x0001_0003;
        public Integer checksum;
        public long headerAddr = LOAD;
        public long loadAddr = LOAD;
        public long loadEndAddr = 0;
        public long bssEndAddr = LOAD + 0x2000;
        public long entryAddr = LOAD + CODE;
        public int length = CODE + EXIT_0.length;

        public byte[] build() {
            ByteBuffer b = ByteBuffer.allocate(Math.max(length, 12)).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(0, MultibootHeader.MAGIC);
            b.putInt(4, flags);
            b.putInt(8, checksum != null ? checksum : -(MultibootHeader.MAGIC + flags));
            long[] fields = {headerAddr, loadAddr, loadEndAddr, bssEndAddr, entryAddr};
            for (int i = 0; i < fields.length && 12 + 4 * i + 4 <= length; i++) {
                b.putInt(12 + 4 * i, (int) fields[i]);
            }
            if (length >= CODE + EXIT_0.length) {
                b.put(CODE, EXIT_0);
            }
            return b.array();
        }
    }

    /** A Multiboot2 flat image: an address tag (load 0x100000, whole file, bss 0x2000) and an entry tag. */
    public static Mb2 mb2() {
        return new Mb2();
    }

    public static final class Mb2 {
        public int architecture = 0;
        public Integer checksum;
        public Long headerLength;
        public boolean addressTag = true;
        public boolean entryTag = true;
        public boolean endTag = true;
        private final ByteArrayOutputStream extra = new ByteArrayOutputStream();

        /** Adds a tag: type, flags (1: optional), and u32 fields after the 8-byte tag header. */
        public Mb2 tag(int type, int flags, long... fields) {
            return rawTag(type, flags, 8 + 4 * fields.length, fields);
        }

        /** Adds a tag whose size field says {@code size}, whatever the fields are. */
        public Mb2 rawTag(int type, int flags, long size, long... fields) {
            ByteBuffer t = ByteBuffer.allocate((8 + 4 * fields.length + 7) & ~7).order(ByteOrder.LITTLE_ENDIAN);
            t.putShort((short) type).putShort((short) flags).putInt((int) size);
            for (long f : fields) {
                t.putInt((int) f);
            }
            extra.writeBytes(t.array());
            return this;
        }

        public byte[] build() {
            ByteArrayOutputStream tags = new ByteArrayOutputStream();
            if (addressTag) {
                tags.writeBytes(tag(2, LOAD, LOAD, 0, LOAD + 0x2000));
            }
            if (entryTag) {
                tags.writeBytes(tag(3, LOAD + 0x400, 0)); // entry, padded to 8
            }
            tags.writeBytes(extra.toByteArray());
            if (endTag) {
                tags.writeBytes(new byte[] {0, 0, 0, 0, 8, 0, 0, 0});
            }
            int length = headerLength != null ? (int) (long) headerLength : 16 + tags.size();
            ByteBuffer b = ByteBuffer.allocate(0x400 + EXIT_0.length).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(Multiboot2Header.MAGIC).putInt(architecture).putInt(length);
            b.putInt(checksum != null ? checksum : -(Multiboot2Header.MAGIC + architecture + length));
            b.put(tags.toByteArray());
            b.put(0x400, EXIT_0);
            return b.array();
        }

        private static byte[] tag(int type, long... fields) {
            ByteBuffer t = ByteBuffer.allocate((8 + 4 * fields.length + 7) & ~7).order(ByteOrder.LITTLE_ENDIAN);
            int size = 8 + 4 * fields.length - (type == 3 ? 4 : 0);
            t.putShort((short) type).putShort((short) 0).putInt(size);
            for (long f : fields) {
                t.putInt((int) f);
            }
            return t.array();
        }
    }
}
