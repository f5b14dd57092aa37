package dev.pml4.ffi.libc;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

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

    private static final MethodHandle MEMFD_CREATE;
    private static final MethodHandle FTRUNCATE;
    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;
    private static final MethodHandle CLOSE;

    static {
        Linker linker = Linker.nativeLinker();
        var libc = linker.defaultLookup();
        MEMFD_CREATE = linker.downcallHandle(libc.find("memfd_create").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        FTRUNCATE = linker.downcallHandle(libc.find("ftruncate").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
        MMAP = linker.downcallHandle(libc.find("mmap").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
        MUNMAP = linker.downcallHandle(libc.find("munmap").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        CLOSE = linker.downcallHandle(libc.find("close").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
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
            fd = (int) MEMFD_CREATE.invokeExact(names.allocateFrom("pml4-ram"), MFD_CLOEXEC);
            if (fd < 0) {
                throw new OutOfMemoryError("memfd_create for " + size + " bytes of RAM failed");
            }
            if ((int) FTRUNCATE.invokeExact(fd, size) != 0) {
                int ignored = (int) CLOSE.invokeExact(fd);
                throw new OutOfMemoryError("ftruncate of the RAM file to " + size + " bytes failed");
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("memfd_create", t);
        }
        long base = map(size);
        this.whole = MemorySegment.ofAddress(base).reinterpret(size, arena, s -> unmap(base, size));
    }

    /** The whole memory, mapped once. */
    public MemorySegment segment() {
        return whole;
    }

    private long map(long length) {
        MemorySegment address;
        try {
            address = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, length, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_NORESERVE, fd, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("mmap", t);
        }
        if (address.address() == MAP_FAILED) {
            throw new OutOfMemoryError("mmap of " + length + " bytes of shared RAM failed");
        }
        return address.address();
    }

    private static void unmap(long base, long length) {
        try {
            if ((int) MUNMAP.invokeExact(MemorySegment.ofAddress(base), length) != 0) {
                throw new IllegalStateException("munmap of 0x" + Long.toHexString(base) + " failed");
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("munmap", t);
        }
    }

    /** Closes the file; the mapping of the whole stays valid until the arena unmaps it. */
    @Override
    public void close() {
        try {
            int ignored = (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            throw new IllegalStateException("close", t);
        }
    }
}
