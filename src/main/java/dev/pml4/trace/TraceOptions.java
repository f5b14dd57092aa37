package dev.pml4.trace;

import java.util.EnumSet;
import java.util.Set;

/**
 * What to trace and how.
 *
 * @param format text for people, jsonl for jq
 * @param kinds the kinds of line to write
 * @param fromInstruction trace from this instruction number on (1 = from the start)
 * @param rangeStart with {@code rangeEnd}: only instructions with RIP in [start, end), and their events
 * @param onFirstFault start at the first exception or interrupt delivered
 * @param ring when positive, keep only the last {@code ring} lines, as raw values ({@link TraceRing}),
 *             and format and write them when the run ends badly (triple fault, instruction limit,
 *             internal error: {@code StopReason.abnormal()})
 */
public record TraceOptions(Format format, Set<Kind> kinds, long fromInstruction, long rangeStart, long rangeEnd,
                           boolean onFirstFault, int ring) {
    public enum Format { TEXT, JSONL }

    /** The kinds of trace line; {@code --trace-events} names them in lower case. */
    public enum Kind {
        /** One line per executed instruction. */
        INSN,
        /** A page walk, each level's entry address and value. */
        WALK,
        /** TLB fills, evictions and invalidations. */
        TLB,
        /** Exceptions and interrupts delivered, with the frame pushed. */
        EXCEPTION,
        /** Writes of CR0, CR2, CR3, CR4, CR8 and EFER. */
        CR,
        /** Port I/O. */
        IO,
        /** The TLB checker's findings (--check-tlb): stale uses, dirty flags lost, spurious faults. */
        STALE,
        /** Changes of the processor's mode: protected, compatibility and 64-bit mode. */
        MODE
    }

    public TraceOptions {
        kinds = Set.copyOf(kinds);
    }

    public static TraceOptions all(Format format) {
        return new TraceOptions(format, EnumSet.allOf(Kind.class), 1, 0, -1, false, 0);
    }

    boolean inRange(long rip) {
        return rangeEnd < 0 || (Long.compareUnsigned(rip, rangeStart) >= 0 && Long.compareUnsigned(rip, rangeEnd) < 0);
    }
}
