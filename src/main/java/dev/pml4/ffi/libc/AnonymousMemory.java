package dev.pml4.ffi.libc;

import dev.pml4.ffi.NativeFunction;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Private anonymous memory from {@code mmap(2)}: page-aligned, zero-filled by the kernel on first
 * touch, so a 64 MiB guest RAM costs nothing until the guest uses it (the JDK's own allocator
 * zeroes every byte up front, ~250 ms for 64 MiB here). Unmapped when the owning arena closes.
 */
@SuppressWarnings("restricted")
public final class AnonymousMemory {
    private static final int PROT_READ = 0x1;
    private static final int PROT_WRITE = 0x2;
    private static final int MAP_PRIVATE = 0x02;
    private static final int MAP_ANONYMOUS = 0x20;
    private static final int MAP_NORESERVE = 0x4000;
    private static final long MAP_FAILED = -1L;

    // Through the plain shape every binding shares (see dev.pml4.ffi); the C prototypes:
    // void *(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
    private static final NativeFunction MMAP = NativeFunction.libc("mmap").orElseThrow();
    private static final NativeFunction MUNMAP = NativeFunction.libc("munmap").orElseThrow(); // int (void *addr, size_t length)

    private AnonymousMemory() {
    }

    /**
     * Links the libc calls now, which this class's initializer does, so that a caller can have it
     * done on another thread ({@link dev.pml4.machine.NativeWarmUp}).
     */
    public static void link() {
        // Nothing more: calling a static method runs the initializer.
    }

    /**
     * Maps {@code size} bytes, readable and writable, whose lifetime is {@code arena}'s: closing the
     * arena unmaps them.
     *
     * @throws OutOfMemoryError when the kernel refuses the mapping
     */
    public static MemorySegment map(long size, Arena arena) {
        long base = MMAP.call(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (base == MAP_FAILED) {
            throw new OutOfMemoryError("mmap of " + size + " bytes of anonymous memory failed");
        }
        return MemorySegment.ofAddress(base).reinterpret(size, arena, segment -> unmap(base, size));
    }

    private static void unmap(long base, long size) {
        if ((int) MUNMAP.call(base, size) != 0) {
            throw new IllegalStateException("munmap of 0x" + Long.toHexString(base) + " failed");
        }
    }
}
