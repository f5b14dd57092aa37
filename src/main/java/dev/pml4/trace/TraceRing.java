package dev.pml4.trace;

import dev.pml4.ffi.unicorn.Unicorn;

import java.util.Arrays;
import java.util.function.Supplier;

/**
 * The last N lines of a trace ({@code --trace-ring N}), kept as raw values and formatted only if
 * they are written, when the run ends badly. Recording an instruction stores a few longs in
 * primitive arrays: no allocation, no text, no disassembly.
 *
 * <p>A line is an instruction or an event. An instruction keeps its number, RIP, its bytes (up to
 * 15, packed little-endian into two longs, read when it was about to run: the guest may rewrite
 * or remap its code later, so the bytes are never read again), its length, whether it was 32-bit
 * code, what it raised, and the registers it changed: a bit mask over the register snapshot's
 * general registers and its flag state ({@link Unicorn.RegisterFile}), and the new values of only
 * those, in a second ring of longs (most instructions change one register and the flags). For
 * the flags, both states are kept, before and after, so that RFLAGS is computed from QEMU's lazy
 * flag state only for the lines written, and shown only if it really changed. An event (walk, TLB, exception, CR, I/O, stale use,
 * mode switch) keeps the small immutable closure that formats it; events are rare beside
 * instructions.
 *
 * <p>Both rings grow by doubling as the run needs, up to N lines; they never shrink. A line that
 * falls out of the ring is forgotten, its register values with it.
 */
final class TraceRing {
    /** What one instruction line needs to be formatted; handed to {@link Formatter} at the end. */
    interface Formatter {
        String instruction(long count, long rip, int size, boolean code32, long bytesLow, long bytesHigh, String raised,
                           int changed, long[] before, long[] after);
    }

    private static final int FIRST_CAPACITY = 1 << 12;
    private static final int SIZE_BITS = 0xf;
    private static final int CODE32 = 1 << 4;
    private static final int EVENT = 1 << 5;
    private static final int CHANGED_SHIFT = 8;

    private static final int FLAGS = Unicorn.RegisterFile.FLAGS;
    private static final int FLAG_WORDS = Unicorn.RegisterFile.FLAG_WORDS;

    private final int limit;
    /** The lines, oldest at {@code head}, {@code size} of them, in arrays of {@code capacity}. */
    private int head;
    private int size;
    private int capacity;
    private long[] count;
    private long[] rip;
    private long[] bytesLow;
    private long[] bytesHigh;
    /** Length, 32-bit code, event, and the changed registers' mask above {@link #CHANGED_SHIFT}. */
    private int[] meta;
    /** Where a line's register values begin in {@link #values} (an ever-growing index). */
    private long[] valuesFrom;
    /** What an instruction raised (a String, or null), or an event's formatter. */
    private Object[] side;
    /** The changed registers' values, indexed by an ever-growing number modulo its power-of-two length. */
    private long[] values;
    private long valuesEnd;

    /** @param limit the most lines to keep */
    TraceRing(int limit) {
        if (limit <= 0) {
            throw new IllegalArgumentException("a ring of " + limit + " lines");
        }
        this.limit = limit;
        allocate(Math.min(limit, FIRST_CAPACITY));
        values = new long[Integer.highestOneBit(capacity) * 4]; // two changed registers a line, then it grows
    }

    private void allocate(int newCapacity) {
        count = grown(count, newCapacity);
        rip = grown(rip, newCapacity);
        bytesLow = grown(bytesLow, newCapacity);
        bytesHigh = grown(bytesHigh, newCapacity);
        valuesFrom = grown(valuesFrom, newCapacity);
        int[] m = new int[newCapacity];
        Object[] s = new Object[newCapacity];
        for (int i = 0; i < size; i++) {
            m[i] = meta[(head + i) % capacity];
            s[i] = side[(head + i) % capacity];
        }
        meta = m;
        side = s;
        head = 0;
        capacity = newCapacity;
    }

    /** The live lines of {@code old} in order from index 0, in an array of {@code length}. */
    private long[] grown(long[] old, int length) {
        long[] a = new long[length];
        for (int i = 0; old != null && i < size; i++) {
            a[i] = old[(head + i) % capacity];
        }
        return a;
    }

    /** The slot of a new line: the next free one, or the oldest line's, which it replaces. */
    private int append() {
        if (size == capacity && capacity < limit) {
            allocate((int) Math.min(limit, 2L * capacity));
        }
        int slot;
        if (size < capacity) {
            slot = head + size < capacity ? head + size : head + size - capacity;
            size++;
        } else {
            slot = head;
            head = head + 1 == capacity ? 0 : head + 1;
        }
        return slot;
    }

    /**
     * @param changed bit i below {@code FLAGS}: general register i changed, to {@code after[i]};
     *                bit {@code FLAGS}: the flag state changed, from {@code before} to {@code after}
     */
    void instruction(long number, long address, int length, boolean code32, long low, long high, String raised,
                     int changed, long[] before, long[] after) {
        int slot = append();
        count[slot] = number;
        rip[slot] = address;
        bytesLow[slot] = low;
        bytesHigh[slot] = high;
        meta[slot] = length | (code32 ? CODE32 : 0) | changed << CHANGED_SHIFT;
        side[slot] = raised;
        valuesFrom[slot] = valuesEnd;
        if (changed != 0) {
            boolean flags = (changed >>> FLAGS & 1) != 0;
            int registers = changed & ((1 << FLAGS) - 1);
            ensureValues(Integer.bitCount(registers) + (flags ? 2 * FLAG_WORDS : 0));
            int mask = values.length - 1;
            for (int bits = registers; bits != 0; bits &= bits - 1) {
                values[(int) (valuesEnd++ & mask)] = after[Integer.numberOfTrailingZeros(bits)];
            }
            if (flags) {
                for (int i = FLAGS; i < FLAGS + FLAG_WORDS; i++) {
                    values[(int) (valuesEnd++ & mask)] = before[i];
                    values[(int) (valuesEnd++ & mask)] = after[i];
                }
            }
        }
    }

    void event(Supplier<String> line) {
        int slot = append();
        meta[slot] = EVENT;
        side[slot] = line;
        valuesFrom[slot] = valuesEnd;
    }

    /** Makes room for {@code more} values without overwriting those of the oldest line kept. */
    private void ensureValues(int more) {
        long live = valuesEnd - valuesFrom[head];
        if (live + more <= values.length) {
            return;
        }
        int length = values.length;
        while (length < live + more) {
            length *= 2;
        }
        long[] a = new long[length];
        for (long i = valuesFrom[head]; i < valuesEnd; i++) {
            a[(int) (i & (length - 1))] = values[(int) (i & (values.length - 1))];
        }
        values = a;
    }

    /** The kept lines, oldest first, formatted now. */
    void forEachLine(Formatter formatter, java.util.function.Consumer<String> out) {
        long[] before = new long[Unicorn.RegisterFile.LENGTH];
        long[] after = new long[Unicorn.RegisterFile.LENGTH];
        for (int i = 0; i < size; i++) {
            int slot = (head + i) % capacity;
            int m = meta[slot];
            if ((m & EVENT) != 0) {
                @SuppressWarnings("unchecked")
                Supplier<String> line = (Supplier<String>) side[slot];
                out.accept(line.get());
                continue;
            }
            int changed = m >>> CHANGED_SHIFT;
            Arrays.fill(before, 0);
            Arrays.fill(after, 0);
            long v = valuesFrom[slot];
            int mask = values.length - 1;
            for (int bits = changed & ((1 << FLAGS) - 1); bits != 0; bits &= bits - 1) {
                after[Integer.numberOfTrailingZeros(bits)] = values[(int) (v++ & mask)];
            }
            if ((changed >>> FLAGS & 1) != 0) {
                for (int r = FLAGS; r < FLAGS + FLAG_WORDS; r++) {
                    before[r] = values[(int) (v++ & mask)];
                    after[r] = values[(int) (v++ & mask)];
                }
            }
            out.accept(formatter.instruction(count[slot], rip[slot], m & SIZE_BITS, (m & CODE32) != 0, bytesLow[slot],
                    bytesHigh[slot], (String) side[slot], changed, before, after));
        }
    }
}
