package dev.pml4.ffi;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A C function that pml4 calls, linked through one of the three downcall shapes that every
 * binding shares (Unicorn, capstone, the C library, fast mode's helper). The typed bindings pass
 * and receive longs here and convert at their edge; see {@link dev.pml4.ffi} for why three shapes
 * are enough and why that is safe on SysV x86-64.
 *
 * <p>A record, so that the JIT trusts its final fields: a call through a function held in a static
 * final (or in a record held there) is inlined as a constant method handle.
 *
 * @param name   the C name, for errors
 * @param handle {@code (long x 6) -> long}, or {@code (long x 8) -> long} for {@link #variadic}
 */
@SuppressWarnings("restricted")
public record NativeFunction(String name, MethodHandle handle, boolean isVariadic) {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final FunctionDescriptor SIX = FunctionDescriptor.of(JAVA_LONG,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG);
    private static final FunctionDescriptor EIGHT = FunctionDescriptor.of(JAVA_LONG,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG);
    private static final Linker.Option CRITICAL = Linker.Option.critical(false);
    /** uc_ctl's two fixed arguments; uc_hook_add's seven fixed ones travel as variadic ones do (see package doc). */
    private static final Linker.Option VARIADIC_FROM_2 = Linker.Option.firstVariadicArg(2);

    /** Any non-variadic function of at most six integer or pointer arguments. */
    public static NativeFunction plain(String name, MemorySegment address) {
        return new NativeFunction(name, LINKER.downcallHandle(address, SIX), false);
    }

    /**
     * As {@link #plain}, without the thread-state transition ({@link Linker.Option#critical}): only
     * for a function that can never call back into Java (no hook can run inside it) and is hot.
     */
    public static NativeFunction critical(String name, MemorySegment address) {
        return new NativeFunction(name, LINKER.downcallHandle(address, SIX, CRITICAL), false);
    }

    /**
     * A variadic function of at most eight integer or pointer arguments in all (uc_hook_add,
     * uc_ctl), or a non-variadic one of seven or eight (uc_mmio_map): AL is set as a variadic
     * callee needs it.
     */
    public static NativeFunction variadic(String name, MemorySegment address) {
        return new NativeFunction(name, LINKER.downcallHandle(address, EIGHT, VARIADIC_FROM_2), true);
    }

    /**
     * Links the three shapes now (each is spun once per JVM, then shared by every function linked
     * with it), so that a caller can have it done on another thread
     * ({@code dev.pml4.machine.NativeWarmUp}).
     */
    public static void linkShapes() {
        LINKER.downcallHandle(SIX);
        LINKER.downcallHandle(SIX, CRITICAL);
        LINKER.downcallHandle(EIGHT, VARIADIC_FROM_2);
    }

    public long call() {
        return call(0L, 0L, 0L, 0L, 0L, 0L);
    }

    public long call(long a0) {
        return call(a0, 0L, 0L, 0L, 0L, 0L);
    }

    public long call(long a0, long a1) {
        return call(a0, a1, 0L, 0L, 0L, 0L);
    }

    public long call(long a0, long a1, long a2) {
        return call(a0, a1, a2, 0L, 0L, 0L);
    }

    public long call(long a0, long a1, long a2, long a3) {
        return call(a0, a1, a2, a3, 0L, 0L);
    }

    public long call(long a0, long a1, long a2, long a3, long a4) {
        return call(a0, a1, a2, a3, a4, 0L);
    }

    /** Arguments the C function does not declare are passed as 0 and never read by it. */
    public long call(long a0, long a1, long a2, long a3, long a4, long a5) {
        try {
            return isVariadic ? (long) handle.invokeExact(a0, a1, a2, a3, a4, a5, 0L, 0L)
                    : (long) handle.invokeExact(a0, a1, a2, a3, a4, a5);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public long call(long a0, long a1, long a2, long a3, long a4, long a5, long a6) {
        return call(a0, a1, a2, a3, a4, a5, a6, 0L);
    }

    public long call(long a0, long a1, long a2, long a3, long a4, long a5, long a6, long a7) {
        if (!isVariadic) {
            throw new IllegalArgumentException(name + " is linked for at most six arguments");
        }
        try {
            return (long) handle.invokeExact(a0, a1, a2, a3, a4, a5, a6, a7);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- converting at the edge of a binding --------------------------------------------------

    /**
     * The host address of native memory, to pass as a pointer. The caller keeps the memory alive
     * until the call returns (its arena open), as the linker did for a segment argument. A heap
     * segment has no host address that native code may keep or use, so it is refused, as the linker
     * refused it for a pointer argument.
     */
    public static long pointer(MemorySegment memory) {
        if (!memory.isNative()) {
            throw new IllegalArgumentException("heap memory passed as a pointer to native code: " + memory);
        }
        if (!memory.scope().isAlive()) {
            throw new IllegalStateException("already closed: " + memory);
        }
        return memory.address();
    }

    /** A C {@code bool} result: only AL is set by the callee. */
    public static boolean bool(long result) {
        return (result & 0xff) != 0;
    }

    private RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException(name, t);
    }
}
