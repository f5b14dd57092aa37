package dev.pml4.cpu;

import dev.pml4.ffi.unicorn.Protection;
import dev.pml4.mmu.PageMapper;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Makes an instruction-fetch fault precise when the engine finds it while translating a block that
 * started on an earlier instruction.
 *
 * <p>Unicorn fetches a whole translation block before running any of it, so a fetch from a page
 * that cannot be executed is reported with RIP at the start of the block, not at the instruction
 * that reaches into the page; on hardware the instructions before it retire first. The fence maps
 * that page, execute-only, onto a page of NOPs for the next engine run (the one that translates
 * the block again): the block translates, the earlier instructions run, and the code hook of the
 * first instruction with a byte in the fenced page is where the fetch really faults (SDM Vol. 3A
 * 6.15, #PF: CR2 is the first byte that could not be fetched). Nothing else can see the fence: it
 * is never readable or writable, and it is gone once that run ends.
 */
final class FetchFence {
    private static final long PAGE = 4096;
    private static final byte NOP = (byte) 0x90;

    private final PageMapper engine;
    private final MemorySegment nops;
    private long page = -1;
    /** Raised during the engine run now ending: it is for the next run, which translates the block again. */
    private boolean forNextRun;

    FetchFence(PageMapper engine) {
        this.engine = engine;
        // Held by the Cpu as long as the engine lives; unmapped before every engine run returns.
        this.nops = Arena.ofAuto().allocate(PAGE, PAGE).fill(NOP);
    }

    /** Fences the page of {@code linear}, which the engine does not map. */
    void raise(long linear) {
        lower();
        page = linear & -PAGE;
        engine.mapOwn(page, nops, Protection.EXEC);
        forNextRun = true;
    }

    /**
     * After each engine run: a fence raised during the run stays up for the next one, which it was
     * raised for (lowering it here made that run fetch the page again, fence it again, and never
     * get further); a fence the run had from its start comes down.
     */
    void endOfRun() {
        if (forNextRun) {
            forNextRun = false;
        } else {
            lower();
        }
    }

    boolean up() {
        return page >= 0;
    }

    /** Whether the instruction at [rip, rip + length) has a byte in the fenced page. */
    boolean reachedBy(long rip, int length) {
        return page >= 0 && rip < page + PAGE && rip + length > page;
    }

    /** The first byte of the instruction at {@code rip} that lies in the fenced page. */
    long firstFencedByte(long rip) {
        return Math.max(rip, page);
    }

    boolean covers(long linear) {
        return page >= 0 && (linear & -PAGE) == page;
    }

    void lower() {
        forNextRun = false;
        if (page >= 0) {
            engine.unmapOwn(page);
            page = -1;
        }
    }
}
