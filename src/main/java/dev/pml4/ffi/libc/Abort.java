package dev.pml4.ffi.libc;

import dev.pml4.ffi.NativeFunction;

/** The C library's {@code abort(3)}: the process dies by SIGABRT, as when Unicorn's translator aborts. */
public final class Abort {
    private Abort() {
    }

    public static void now() {
        // void abort(void), through the plain shape every binding shares (see dev.pml4.ffi).
        NativeFunction.libc("abort").orElseThrow().call();
    }
}
