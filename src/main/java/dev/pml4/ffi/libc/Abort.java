package dev.pml4.ffi.libc;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;

/** The C library's {@code abort(3)}: the process dies by SIGABRT, as when Unicorn's translator aborts. */
@SuppressWarnings("restricted")
public final class Abort {
    private Abort() {
    }

    public static void now() {
        Linker linker = Linker.nativeLinker();
        MethodHandle abort = linker.downcallHandle(linker.defaultLookup().find("abort").orElseThrow(), FunctionDescriptor.ofVoid());
        try {
            abort.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("abort", t);
        }
    }
}
