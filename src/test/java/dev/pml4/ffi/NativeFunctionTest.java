package dev.pml4.ffi;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SysV x86-64 facts the shared shapes rely on (package doc of {@link dev.pml4.ffi}), checked
 * against the C library's own code rather than assumed.
 */
class NativeFunctionTest {
    private static MemorySegment libc(String name) {
        return Linker.nativeLinker().defaultLookup().find(name).orElseThrow();
    }

    @Test
    void anIntResultIsTheLowHalfOfRax() {
        try (Arena arena = Arena.ofConfined()) {
            long r = NativeFunction.plain("atoi", libc("atoi")).call(NativeFunction.pointer(arena.allocateFrom("-42")));
            assertEquals(-42, (int) r);
        }
    }

    @Test
    void anIntArgumentIsReadFromTheLowHalfOfItsRegister() {
        // int abs(int): the upper half of RDI is garbage the callee must not read.
        long r = NativeFunction.plain("abs", libc("abs")).call(0xdeadbeef_fffffffbL);
        assertEquals(5, (int) r);
    }

    @Test
    void aCBoolResultIsAl() {
        assertTrue(NativeFunction.bool(0xffffff01L));
        assertFalse(NativeFunction.bool(0x100L)); // AL is 0: false, whatever the rest of RAX holds
    }

    @Test
    void aPointerResultIsTheWholeOfRax() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocateFrom("pml4");
            // char *strchr(const char *s, int c)
            long r = NativeFunction.plain("strchr", libc("strchr")).call(NativeFunction.pointer(text), 'l');
            assertEquals(text.address() + 2, r);
        }
    }

    @Test
    void fixedArgumentsMayTravelAsVariadicOnes() {
        // int snprintf(char *s, size_t n, const char *format, ...): three fixed arguments, linked
        // with two (as uc_hook_add's seven are); %d reads va_arg(int) from a slot a long filled.
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(64);
            long n = NativeFunction.variadic("snprintf", libc("snprintf")).call(NativeFunction.pointer(out), 64,
                    NativeFunction.pointer(arena.allocateFrom("%d %ld %d %d %d")), 0xffffffff_00000007L, 1L << 40, -3, 4, 5);
            assertEquals("7 1099511627776 -3 4 5", out.getString(0));
            assertEquals(22, (int) n);
        }
    }

    @Test
    void everyCallbackGoesThroughTheOneUpcallShape() {
        // void qsort(void *base, size_t n, size_t size, int (*compar)(const void *, const void *))
        try (Arena arena = Arena.ofConfined()) {
            long[] values = {5, -1, 3, 0};
            MemorySegment array = arena.allocateFrom(JAVA_LONG, values);
            // The comparator's int result is read from EAX; RDX..R9 hold whatever qsort left there.
            MemorySegment compare = NativeCallback.stub((a, b, unused2, unused3, unused4, unused5) -> Long.compare(
                    MemorySegment.ofAddress(a).reinterpret(8).get(JAVA_LONG, 0),
                    MemorySegment.ofAddress(b).reinterpret(8).get(JAVA_LONG, 0)), arena);
            NativeFunction.plain("qsort", libc("qsort")).call(NativeFunction.pointer(array), values.length, 8, compare.address());
            assertArrayEquals(new long[] {-1, 0, 3, 5}, array.toArray(JAVA_LONG));
        }
    }

    @Test
    void heapMemoryIsNoPointer() {
        assertThrows(IllegalArgumentException.class, () -> NativeFunction.pointer(MemorySegment.ofArray(new byte[8])));
    }

    @Test
    void memoryOfAClosedArenaIsNoPointer() {
        MemorySegment gone;
        try (Arena arena = Arena.ofConfined()) {
            gone = arena.allocate(8);
        }
        assertThrows(IllegalStateException.class, () -> NativeFunction.pointer(gone));
    }

    @Test
    void aNonVariadicFunctionTakesAtMostSixArguments() {
        NativeFunction abs = NativeFunction.plain("abs", libc("abs"));
        assertThrows(IllegalArgumentException.class, () -> abs.call(1, 2, 3, 4, 5, 6, 7));
    }
}
