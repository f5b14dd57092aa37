package dev.pml4.ffi.libc;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

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

    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;

    static {
        Linker linker = Linker.nativeLinker();
        var libc = linker.defaultLookup();
        MMAP = linker.downcallHandle(libc.find("mmap").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
        MUNMAP = linker.downcallHandle(libc.find("munmap").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    }

    private AnonymousMemory() {
    }

    /**
     * Links mmap and munmap now, which this class's initializer does, so that a caller can have it
     * done on another thread ({@link dev.pml4.machine.NativeWarmUp}); the first link of all pays for
     * the FFM linker's own start-up.
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
        MemorySegment address;
        try {
            address = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("mmap", t);
        }
        if (address.address() == MAP_FAILED) {
            throw new OutOfMemoryError("mmap of " + size + " bytes of anonymous memory failed");
        }
        long base = address.address();
        return address.reinterpret(size, arena, segment -> unmap(base, size));
    }

    private static void unmap(long base, long size) {
        try {
            int result = (int) MUNMAP.invokeExact(MemorySegment.ofAddress(base), size);
            if (result != 0) {
                throw new IllegalStateException("munmap of 0x" + Long.toHexString(base) + " failed");
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("munmap", t);
        }
    }
}
