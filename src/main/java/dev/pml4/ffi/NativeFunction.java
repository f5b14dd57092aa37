package dev.pml4.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A C function that pml4 calls, through one of the three downcall shapes that every binding shares
 * (Unicorn, capstone, the C library, fast mode's helper). The typed bindings pass and receive longs
 * here and convert at their edge; see {@link dev.pml4.ffi} for why three shapes are enough and why
 * that is safe on SysV x86-64.
 *
 * <p>Each shape is one method handle for all its functions, the function's address its first
 * argument, rather than a handle per function: the JDK customises a method handle that interpreted
 * code calls often (a class spun per handle, 11 of them in a run of the hello kernel when every
 * function had its own), and a shared handle is customised once. A record, so that the JIT trusts
 * its fields: a call through a function held in a static final (or in a record held there) is
 * inlined down to the native call.
 *
 * @param name       the C name, for errors
 * @param address    where the function is
 * @param handle     its shape, {@code (MemorySegment, long x 6) -> long} or, variadic, {@code (MemorySegment, long x 8) -> long}
 * @param isVariadic whether {@code handle} is the variadic shape
 */
@SuppressWarnings("restricted")
public record NativeFunction(String name, MemorySegment address, MethodHandle handle, boolean isVariadic) {
    static final Linker LINKER = Linker.nativeLinker();
    /** The plain and critical downcall shapes, and the upcall shape ({@link NativeCallback}). */
    static final FunctionDescriptor SIX = FunctionDescriptor.of(JAVA_LONG,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG);
    private static final FunctionDescriptor EIGHT = FunctionDescriptor.of(JAVA_LONG,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG);
    /** fcntl(2)'s command that reads a descriptor's flags (bits/fcntl-linux.h). */
    private static final int F_GETFD = 1;

    // Each shape in a holder of its own, linked when first used.
    private static final class Plain {
        static final MethodHandle HANDLE = LINKER.downcallHandle(SIX);
    }

    private static final class Critical {
        static final MethodHandle HANDLE = LINKER.downcallHandle(SIX, Linker.Option.critical(false));
    }

    private static final class Variadic {
        /** uc_ctl's two fixed arguments; uc_hook_add's seven fixed ones travel as variadic ones would (see package doc). */
        static final MethodHandle HANDLE = LINKER.downcallHandle(EIGHT, Linker.Option.firstVariadicArg(2));
    }

    /** Any non-variadic function of at most six integer or pointer arguments. */
    public static NativeFunction plain(String name, MemorySegment address) {
        return new NativeFunction(name, address, Plain.HANDLE, false);
    }

    /**
     * As {@link #plain}, without the thread-state transition ({@link Linker.Option#critical}): only
     * for a function that can never call back into Java (no hook can run inside it) and is hot.
     */
    public static NativeFunction critical(String name, MemorySegment address) {
        return new NativeFunction(name, address, Critical.HANDLE, false);
    }

    /** A function of the C library, through the plain shape, or empty when the library has none. */
    public static java.util.Optional<NativeFunction> libc(String name) {
        return LINKER.defaultLookup().find(name).map(address -> plain(name, address));
    }

    /**
     * A variadic function of at most eight integer or pointer arguments in all (uc_hook_add,
     * uc_ctl), or a non-variadic one of seven or eight (uc_mmio_map): AL is set as a variadic
     * callee needs it.
     */
    public static NativeFunction variadic(String name, MemorySegment address) {
        return new NativeFunction(name, address, Variadic.HANDLE, true);
    }

    /**
     * Links the three downcall shapes and the upcall shape now and calls through each, so that a
     * caller can have it all done on another thread ({@code dev.pml4.machine.NativeWarmUp}) before
     * the bindings need it: a first call spins lambda forms of its own, and the JDK customises a
     * method handle that interpreted code has called about 127 times
     * ({@code java.lang.invoke.MethodHandle.CUSTOMIZE_THRESHOLD}), spinning a class again. Each shape
     * being one handle for all its functions, calls here count for them all. The calls are harmless
     * ones into the C library: {@code getpid()} (plain and critical), {@code fcntl(-1, F_GETFD)}
     * (variadic; fails with EBADF), and {@code qsort} of two longs, which calls its comparator
     * through the upcall shape.
     */
    public static void warmUp() {
        SymbolLookup libc = LINKER.defaultLookup();
        NativeFunction plain = libc("getpid").orElseThrow();
        NativeFunction critical = critical("getpid", plain.address());
        NativeFunction variadic = variadic("fcntl", libc.find("fcntl").orElseThrow());
        for (int i = 0; i < 200; i++) {
            plain.call();
            critical.call();
            variadic.call(-1, F_GETFD);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pair = arena.allocate(JAVA_LONG, 2);
            pair.setAtIndex(JAVA_LONG, 0, 2);
            pair.setAtIndex(JAVA_LONG, 1, 1);
            // int (*compar)(const void *, const void *)
            MemorySegment compare = NativeCallback.stub((a, b, unused2, unused3, unused4, unused5) -> Long.compare(
                    MemorySegment.ofAddress(a).reinterpret(8).get(JAVA_LONG, 0),
                    MemorySegment.ofAddress(b).reinterpret(8).get(JAVA_LONG, 0)), arena);
            // void qsort(void *base, size_t nmemb, size_t size, compar)
            libc("qsort").orElseThrow().call(pointer(pair), 2, 8, compare.address());
        }
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
            return isVariadic ? (long) handle.invokeExact(address, a0, a1, a2, a3, a4, a5, 0L, 0L)
                    : (long) handle.invokeExact(address, a0, a1, a2, a3, a4, a5);
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
            return (long) handle.invokeExact(address, a0, a1, a2, a3, a4, a5, a6, a7);
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
