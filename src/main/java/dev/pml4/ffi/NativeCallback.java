package dev.pml4.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * Java code that native code calls (a Unicorn hook, a callback of fast mode's helper), through the
 * one upcall shape that every callback shares, {@code (long x 6) -> long}: see {@link dev.pml4.ffi}
 * for why that is safe on SysV x86-64 for any C callback of at most six integer or pointer
 * arguments.
 *
 * <p>What an implementation must do, since it sees registers rather than C types: read only the
 * arguments the C type declares (the other registers hold whatever the caller left there); take a
 * 32-bit argument as {@code (int) a} (its upper 32 bits are unspecified); return 0 or 1 for a C
 * {@code bool}, the value for an integer, anything for {@code void}.
 */
@FunctionalInterface
public interface NativeCallback {
    long call(long a0, long a1, long a2, long a3, long a4, long a5);

    /** A native entry point that calls {@code callback}, valid as long as {@code arena}. */
    @SuppressWarnings("restricted")
    static MemorySegment stub(NativeCallback callback, Arena arena) {
        return NativeFunction.LINKER.upcallStub(Target.CALL.bindTo(callback), NativeFunction.SIX, arena);
    }

    /** {@link #call} as a method handle, in a holder: an interface's fields are public. */
    final class Target {
        private static final MethodHandle CALL;

        static {
            try {
                CALL = MethodHandles.publicLookup().findVirtual(NativeCallback.class, "call",
                        MethodType.methodType(long.class, long.class, long.class, long.class, long.class, long.class, long.class));
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private Target() {
        }
    }
}
