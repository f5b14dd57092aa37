package dev.pml4.cpu;

import dev.pml4.mmu.PageMapper;

/**
 * How the engine reaches what the TLB holds, as the Cpu sees it: the engine page table (the
 * default) or Unicorn regions (the fallback). The MMU maps through it as any {@link PageMapper};
 * these are the questions and duties the execution engine adds, each answered by the layout that
 * knows, so that the Cpu's event paths are the same for both.
 */
sealed interface EngineMemory extends PageMapper permits EnginePageTable, EnginePageMapper {
    /** A miss of the engine page table's fill, reported through the interrupt hook (EnginePageTable). */
    record Miss(long address, boolean fromRunningCode) {
    }

    /** The engine's last interrupt was such a miss: it, once; else null (always with regions). */
    Miss takeMiss(int vector);

    /** The translator fetched code at {@code linear}, through the current mapping of its page. */
    void translatedFrom(long linear);

    /** An engine event reached {@code address}: nothing the engine caches there on the way may outlive Java's answer. */
    void touched(long address);

    /** QEMU's cached translation of the page of {@code linear} may be stale now: it goes. */
    void forgetCachedTranslation(long linear);

    /** Drops every block QEMU translated. */
    void forgetTranslatedCode();

    /** Drops the blocks translated over {@code linear} (a breakpoint set or cleared there). */
    void forgetTranslatedCodeAt(long linear);

    /** Java wrote guest RAM at {@code [physical, physical + length)} (the debugger). */
    void ramWritten(long physical, long length);

    /**
     * Changes after which a block running now may have been translated from another frame than its
     * page shows: a block that walked a page must start again when this moved meanwhile.
     */
    long codeChanges();

    /**
     * Changes that rebuilt Unicorn's view of memory: an access whose page such a change remapped
     * in its own memory hook must be abandoned and run again (Unicorn 2.0.1 crashes otherwise).
     */
    long rebuilds();

    /**
     * Whether a guest write through one linear address of a frame drops code translated through
     * another: else the Cpu keeps such aliases read-only and drops that code itself (DESIGN.md fact 12).
     */
    boolean seesWritesToCode();

    /** The native table fast mode's memory hook answers refills from, or 0. */
    long nativeTable();

    /** What the layout did this run, for --stats. */
    String statistics();
}
