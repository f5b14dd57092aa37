package dev.pml4.ffi.libc;

import dev.pml4.ffi.NativeFunction;

/** glibc's {@code malloc_trim(3)}. */
public final class Malloc {
    /** int malloc_trim(size_t pad), through the plain shape every binding shares (see dev.pml4.ffi). */
    private static final NativeFunction MALLOC_TRIM = NativeFunction.libc("malloc_trim").orElse(null);

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
        MALLOC_TRIM.call(0L);
    }
}
