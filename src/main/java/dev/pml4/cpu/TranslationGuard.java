package dev.pml4.cpu;

import dev.pml4.ffi.capstone.Capstone;

/**
 * Keeps the instructions of {@link EngineAbortForms} from ever reaching Unicorn's translator, which
 * aborts the process on them while it translates a block, before any hook of that block runs.
 *
 * <p>How it sees the translator at work: the engine never maps a page executable (the
 * {@link EnginePageMapper} withholds execute; the right to execute is kept in Java), so every
 * code fetch the translator makes comes to the FETCH_PROT hook, and so here, before the bytes are
 * decoded; Java answers "go on" for pages its TLB lets the guest execute. The fetches of one block
 * are in order, so the guard follows the instruction boundaries with Capstone's lengths, from the
 * block's start (RIP while a block is translated) onwards. Only translation pays: a translated block
 * runs without any of this, and self-modifying code is translated, and so checked, again.
 *
 * <p>At the start of an instruction that would abort the engine:
 * <ul>
 * <li>the block's first instruction raises #UD at its own RIP (SDM: each of these is #UD);</li>
 * <li>an instruction later in the block must let those before it run first: the translation is
 *     abandoned, and the engine runs again from the block's start with that instruction's address
 *     as its {@code until} address, where Unicorn ends the block before translating it. The run
 *     after that starts a block there, which raises #UD as above. A fetch of that address while it
 *     is the {@code until} address is one in the middle of another instruction (an instruction
 *     start there would have ended the block), and passes.</li>
 * </ul>
 * When Capstone cannot decode an instruction, the boundaries after it are unknown until the next
 * block, and every fetch is checked as if it started an instruction, which may only stop early.
 */
public final class TranslationGuard {
    /**
     * No address to stop at: a non-canonical one, where no instruction can be fetched. (It was -1,
     * where a jump to the last byte of the address space stopped the engine for good, issue 13.)
     */
    static final long NO_STOP = 0x8000_0000_0000_0000L;
    private static final long UNKNOWN = Long.MIN_VALUE;
    private static final long MODE_32_KEY = 1L << 62;

    private final Cpu cpu;
    private final Capstone capstone;
    /** Where the instruction last checked starts, and where the next one starts. */
    private long lastStart = UNKNOWN;
    private long nextStart = UNKNOWN;
    /** Where the last fetch ended: a block that starts anywhere else is a new one. */
    private long fetchEnd = UNKNOWN;
    private final LengthCache lengths = new LengthCache();
    /** The {@code until} address for the next engine run, and the one of the run going on. */
    private long stopAt = NO_STOP;
    private long activeStop = NO_STOP;
    private long blocksStopped;
    private long undefined;
    private long fetches;
    private long checked;

    TranslationGuard(Cpu cpu, Capstone capstone) {
        this.cpu = cpu;
        this.capstone = capstone;
    }

    /** The {@code until} address of the engine run about to start (one run only). */
    long takeUntil() {
        lastStart = nextStart = fetchEnd = UNKNOWN; // a translation never spans two runs
        activeStop = stopAt;
        stopAt = NO_STOP;
        return activeStop;
    }

    /**
     * The translator fetches {@code [address, address + size)} of a page Java lets the guest
     * execute, while translating the block that starts at {@code blockStart}. True lets it go on.
     */
    boolean fetch(long address, int size, java.util.function.LongSupplier blockStartNow) {
        fetches++;
        boolean contiguous = address == fetchEnd;
        fetchEnd = address + size;
        if (contiguous && address > lastStart && address < nextStart) {
            return true; // the rest of the instruction last checked (the usual case: no register read)
        }
        long blockStart = address == nextStart ? Long.MIN_VALUE : blockStartNow.getAsLong();
        boolean start = address == nextStart || address == blockStart || nextStart == UNKNOWN;
        if (!start || address == activeStop) {
            return true;
        }
        checked++;
        lastStart = address;
        byte[] code = cpu.instructionBytes(address, 16);
        // The same bytes decode differently in 32-bit code (0x40-0x4F are INC/DEC there, not REX),
        // so the cache keys them by mode too: a 32-bit address with bit 62 set is no 64-bit one.
        boolean code32 = cpu.code32;
        long key = code32 ? address | MODE_32_KEY : address;
        int length = lengths.lengthOf(key, code);
        if (length > 0) {
            nextStart = address + length; // the same bytes here were checked before
            return true;
        }
        String why = EngineAbortForms.match(code, !code32);
        if (why == null) {
            length = capstone.length(code, address, code32);
            nextStart = length > 0 ? address + length : UNKNOWN;
            lengths.remember(key, code, length);
            return true;
        }
        nextStart = UNKNOWN;
        if (blockStart == Long.MIN_VALUE) {
            blockStart = blockStartNow.getAsLong();
        }
        if (address == blockStart) {
            undefined++;
            cpu.undefinedAtBlockStart(address, why);
        } else {
            blocksStopped++;
            stopAt = address;
            cpu.translateAgain();
        }
        return false;
    }

    /** What the guard saw: its cost is one upcall per fetch and one decode per instruction checked. */
    public record Statistics(long fetches, long instructionsChecked, long undefined, long blocksCutShort) {
    }

    Statistics statistics() {
        return new Statistics(fetches, checked, undefined, blocksStopped);
    }

    /**
     * The lengths of instructions already checked, by address and bytes: code translated again
     * (after a CR3 switch dropped the engine's mappings, say) is neither matched nor decoded again.
     * Direct-mapped; an entry counts only when all 16 bytes read there are the same, so code
     * written since is checked afresh.
     */
    private static final class LengthCache {
        private static final int SIZE = 4096;
        private final long[] address = new long[SIZE];
        private final long[] low = new long[SIZE];
        private final long[] high = new long[SIZE];
        private final int[] length = new int[SIZE];

        private static int slot(long a) {
            return (int) (a ^ (a >>> 12) ^ (a >>> 24)) & (SIZE - 1);
        }

        private static long word(byte[] b, int from) {
            long v = 0;
            for (int i = 7; i >= 0; i--) {
                v = v << 8 | (b[from + i] & 0xff);
            }
            return v;
        }

        /** The length remembered for these bytes at this address, or 0. */
        int lengthOf(long a, byte[] code) {
            int i = slot(a);
            return length[i] > 0 && address[i] == a && low[i] == word(code, 0) && high[i] == word(code, 8) ? length[i] : 0;
        }

        void remember(long a, byte[] code, int n) {
            int i = slot(a);
            address[i] = a;
            low[i] = word(code, 0);
            high[i] = word(code, 8);
            length[i] = n;
        }
    }
}
