package dev.pml4.ffi.libc;

import dev.pml4.ffi.NativeFunction;

import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;

/**
 * RAM as an anonymous file from {@code memfd_create(2)}, sized with {@code ftruncate(2)} and mapped
 * {@code MAP_SHARED | MAP_NORESERVE} once. Pages are zero-filled by the kernel on first touch, as
 * with private anonymous memory. (Engine regions used to show it through further host windows,
 * retargeted with {@code mmap(MAP_FIXED)}; a region now changes frames in place, see
 * {@code Unicorn.retargetRegion}, so nothing maps the file twice any more.)
 */
@SuppressWarnings("restricted")
public final class SharedMemory implements AutoCloseable {
    private static final int PROT_READ = 0x1;
    private static final int PROT_WRITE = 0x2;
    private static final int MAP_SHARED = 0x01;
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
        long base = map(size);
        this.whole = MemorySegment.ofAddress(base).reinterpret(size, arena, s -> unmap(base, size));
    }

    /** The whole memory, mapped once. */
    public MemorySegment segment() {
        return whole;
    }

    private long map(long length) {
        long address = MMAP.call(0, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
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

    /** Closes the file; the mapping of the whole stays valid until the arena unmaps it. */
    @Override
    public void close() {
        CLOSE.call(fd);
    }
}
