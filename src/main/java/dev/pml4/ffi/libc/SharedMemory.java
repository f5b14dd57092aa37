package dev.pml4.ffi.libc;

import dev.pml4.ffi.NativeFunction;

import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;

/**
 * Memory that more than one host address range can show: an anonymous file from
 * {@code memfd_create(2)}, sized with {@code ftruncate(2)} and mapped {@code MAP_SHARED}. A
 * {@link Window} is a further mapping of a run of the file; {@link Window#retarget} points the same
 * host addresses at another run with one {@code mmap(MAP_FIXED)}, which is how a Unicorn region
 * mapped once onto a window changes frames without Unicorn remapping anything. Pages are
 * zero-filled by the kernel on first touch, as with private anonymous memory.
 */
@SuppressWarnings("restricted")
public final class SharedMemory implements AutoCloseable {
    private static final int PROT_READ = 0x1;
    private static final int PROT_WRITE = 0x2;
    private static final int MAP_SHARED = 0x01;
    private static final int MAP_FIXED = 0x10;
    private static final int MAP_NORESERVE = 0x4000;
    private static final int MFD_CLOEXEC = 0x1;
    private static final long MAP_FAILED = -1L;

    // Through the plain shape every binding shares (see dev.pml4.ffi); the C prototypes:
    private static final NativeFunction MEMFD_CREATE = libc("memfd_create"); // int (const char *name, unsigned flags)
    private static final NativeFunction FTRUNCATE = libc("ftruncate");       // int (int fd, off_t length)
    // void *(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
    private static final NativeFunction MMAP = libc("mmap");
    private static final NativeFunction MUNMAP = libc("munmap");             // int (void *addr, size_t length)
    private static final NativeFunction CLOSE = libc("close");               // int (int fd)

    private static NativeFunction libc(String name) {
        return NativeFunction.plain(name, Linker.nativeLinker().defaultLookup().find(name).orElseThrow());
    }

    /**
     * Links the libc calls now, which this class's initializer does, so that a caller can have it
     * done on another thread ({@link dev.pml4.machine.NativeWarmUp}); the first link of all pays for
     * the FFM linker's own start-up.
     */
    public static void link() {
        // Nothing more: calling a static method runs the initializer.
    }

    private final int fd;
    private final long size;
    private final MemorySegment whole;

    /**
     * {@code size} bytes, readable and writable; {@link #segment()} lives as long as {@code arena}.
     *
     * @throws OutOfMemoryError when the kernel refuses the file or the mapping
     */
    public SharedMemory(long size, Arena arena) {
        this.size = size;
        try (Arena names = Arena.ofConfined()) {
            fd = (int) MEMFD_CREATE.call(NativeFunction.pointer(names.allocateFrom("pml4-ram")), MFD_CLOEXEC);
            if (fd < 0) {
                throw new OutOfMemoryError("memfd_create for " + size + " bytes of RAM failed");
            }
            if ((int) FTRUNCATE.call(fd, size) != 0) {
                CLOSE.call(fd);
                throw new OutOfMemoryError("ftruncate of the RAM file to " + size + " bytes failed");
            }
        }
        long base = map(0, size, 0, 0);
        this.whole = MemorySegment.ofAddress(base).reinterpret(size, arena, s -> unmap(base, size));
    }

    /** The whole memory, mapped once. */
    public MemorySegment segment() {
        return whole;
    }

    /** A new host range of {@code length} bytes showing the memory from {@code offset}; release it when done. */
    public Window window(long offset, long length) {
        check(offset, length);
        return new Window(map(0, length, 0, offset), length, offset);
    }

    /** A host address range showing a run of the shared memory; it can be pointed at another run. */
    public final class Window {
        private final long address;
        private final long length;
        private long offset;
        private boolean released;

        private Window(long address, long length, long offset) {
            this.address = address;
            this.length = length;
            this.offset = offset;
        }

        /** The host addresses (valid until {@link #release}). */
        public MemorySegment segment() {
            return MemorySegment.ofAddress(address).reinterpret(length);
        }

        public long offset() {
            return offset;
        }

        /** The same host addresses now show the memory from {@code newOffset}: one {@code mmap(MAP_FIXED)}. */
        public void retarget(long newOffset) {
            if (released) {
                throw new IllegalStateException("window released");
            }
            check(newOffset, length);
            map(address, length, MAP_FIXED, newOffset);
            offset = newOffset;
        }

        public void release() {
            if (!released) {
                released = true;
                unmap(address, length);
            }
        }
    }

    private void check(long offset, long length) {
        if (offset < 0 || length <= 0 || offset + length > size || (offset & 0xfff) != 0 || (length & 0xfff) != 0) {
            throw new IllegalArgumentException(String.format("window 0x%x+0x%x outside the 0x%x bytes", offset, length, size));
        }
    }

    private long map(long at, long length, int extraFlags, long offset) {
        long address = MMAP.call(at, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE | extraFlags, fd, offset);
        if (address == MAP_FAILED) {
            throw new OutOfMemoryError("mmap of " + length + " bytes of shared RAM failed");
        }
        return address;
    }

    private static void unmap(long base, long length) {
        if ((int) MUNMAP.call(base, length) != 0) {
            throw new IllegalStateException("munmap of 0x" + Long.toHexString(base) + " failed");
        }
    }

    /** Closes the file; mappings (the whole segment, windows not released) stay valid until unmapped. */
    @Override
    public void close() {
        CLOSE.call(fd);
    }
}
