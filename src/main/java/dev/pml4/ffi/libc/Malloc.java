package dev.pml4.ffi.libc;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/** glibc's {@code malloc_trim(3)}. */
@SuppressWarnings("restricted")
public final class Malloc {
    private static final MethodHandle MALLOC_TRIM;

    static {
        Linker linker = Linker.nativeLinker();
        MALLOC_TRIM = linker.defaultLookup().find("malloc_trim")
                .map(address -> linker.downcallHandle(address, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG)))
                .orElse(null);
    }

    private Malloc() {
    }

    /**
     * Returns the free memory of every malloc arena to the kernel. A closed Unicorn engine frees
     * everything it allocated, but into the arena of the thread that ran it, where glibc keeps the
     * pages (measured: ~0.4 MB of resident memory per engine that ran a small kernel); without a
     * trim, a process that opens and closes many machines grows for no reason. No-op where the C
     * library has no {@code malloc_trim}.
     */
    public static void trim() {
        if (MALLOC_TRIM == null) {
            return;
        }
        try {
            int unused = (int) MALLOC_TRIM.invokeExact(0L);
        } catch (Throwable t) {
            throw new IllegalStateException("malloc_trim", t);
        }
    }
}
