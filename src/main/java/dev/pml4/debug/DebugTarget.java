package dev.pml4.debug;

import java.util.Set;

/**
 * What a debugger may ask of a pml4 machine. The gdb stub ({@code dev.pml4.debug.gdb}) talks to
 * the machine through this interface only, so it can be tested against a fake and wired to the
 * real {@code Cpu} separately.
 *
 * <h2>Threading rule</h2>
 * <ul>
 *   <li>Every method except {@link #interrupt()} is called on one thread, the <em>owner
 *       thread</em> (the one that calls {@code GdbServer.serve()}), one call at a time.
 *       {@link #resume()} and {@link #step()} run the guest on that thread and block until it
 *       stops. The machine therefore needs no locking of its own.</li>
 *   <li>{@link #interrupt()} is called from any other thread (the stub's socket reader, when gdb
 *       sends Ctrl-C or the connection drops; {@code GdbServer.close()}), at any time, usually
 *       while {@link #resume()} runs. It must not block and must be safe to call concurrently:
 *       set a volatile flag that the run loop checks at every instruction boundary, and return.
 *       The run then stops promptly with {@link StopEvent.Interrupted}, and the flag is cleared
 *       when that event is returned. A request that arrives while the guest is not running may be
 *       kept for the next resume (which then stops at once) or dropped.</li>
 * </ul>
 *
 * <h2>Errors</h2>
 * A request the machine refuses throws {@link DebugTargetException}; the stub turns it into an
 * error reply. Any other runtime exception is treated the same way and never ends the session.
 */
public interface DebugTarget {

    // ---- registers ------------------------------------------------------------------------------

    /** The register's current value; see {@link Register} for how values are packed. */
    long readRegister(Register register);

    /**
     * Sets a register as the debugger asks. The target may refuse a value the architecture forbids
     * (throw {@link DebugTargetException}); a control register write takes the effects a guest's
     * MOV to CRn would (TLB flushes for CR3/CR4), without raising an exception in the guest.
     */
    void writeRegister(Register register, long value);

    // ---- memory ---------------------------------------------------------------------------------

    /**
     * Reads guest memory at a <em>virtual</em> (linear) address through the guest's current page
     * tables, as the debugger sees it: a side-effect-free walk (no TLB fill, no accessed or dirty
     * bits set, no #PF), with supervisor rights. Reading stops at the first byte whose page is not
     * mapped (or maps a hole in the physical address map).
     *
     * @return how many bytes were read into {@code buffer[offset..]}: {@code length} when all were
     *         mapped, fewer (0 included) when the range runs into an unmapped page
     */
    int readMemory(long address, byte[] buffer, int offset, int length);

    /**
     * Writes guest memory at a virtual address through the guest's page tables, as the debugger's
     * access: no TLB fill, no A/D bits, and the page's R/W bit is ignored (a debugger may patch
     * code on a read-only page). Code translated from the written bytes must be retranslated.
     *
     * @return how many bytes were written; fewer than {@code length} when the range runs into an
     *         unmapped page
     */
    int writeMemory(long address, byte[] data, int offset, int length);

    // ---- execution ------------------------------------------------------------------------------

    /**
     * Runs the guest until something stops it: a breakpoint, a watchpoint, a caught exception,
     * the end of the run, or {@link #interrupt()}. A breakpoint at the RIP the run starts from
     * does not fire before that instruction has run.
     */
    StopEvent resume();

    /**
     * Runs one instruction (or delivers one pending exception, stopping at its handler's first
     * instruction) and returns {@link StopEvent.Stepped}, unless that instruction hit a
     * watchpoint, raised a caught exception, ended the run, or the step was interrupted.
     */
    StopEvent step();

    /**
     * Asks a running {@link #resume()} to stop at the next instruction boundary and return
     * {@link StopEvent.Interrupted}. The only method called from other threads: see the
     * threading rule above.
     */
    void interrupt();

    /** Ends the run for good (gdb's {@code kill}); no other method is called afterwards. */
    void kill();

    // ---- breakpoints, watchpoints, exceptions ---------------------------------------------------

    /**
     * Stops execution before the instruction at this virtual address runs, whatever the page
     * tables map there at the time. How is up to the target (a check in the instruction hook; no
     * memory patching needed). The stub never inserts one address twice.
     *
     * @return false if the target cannot place a breakpoint there
     */
    boolean insertBreakpoint(long address);

    /** @return false if there was no breakpoint at that address */
    boolean removeBreakpoint(long address);

    /**
     * Watches the virtual range {@code [address, address + length)} for accesses of the given
     * kind, by the guest's own instructions only (not page walks, not the debugger's accesses).
     *
     * @param length 1 or more bytes
     * @return false if the target cannot watch that range (too many, too long)
     */
    boolean insertWatchpoint(long address, int length, WatchKind kind);

    /** @return false if no such watchpoint was inserted */
    boolean removeWatchpoint(long address, int length, WatchKind kind);

    /**
     * Replaces the set of exception vectors (0..31) at which execution stops with
     * {@link StopEvent.ExceptionCaught}, before delivery through the guest's IDT.
     *
     * @throws DebugTargetException for a vector the target cannot catch
     */
    void catchExceptions(Set<Integer> vectors);

    /**
     * Stops (or no longer stops) with {@link StopEvent.StaleUseCaught} before the guest uses a
     * stale TLB entry ({@code monitor catch stale}).
     *
     * @throws DebugTargetException when the target cannot check TLB coherence (pml4 without --check-tlb)
     */
    default void catchStaleUses(boolean on) {
        throw new DebugTargetException("this target does not check TLB coherence");
    }

    // ---- monitor commands -----------------------------------------------------------------------

    /**
     * Runs a machine-specific command that gdb passes through untouched ({@code monitor walk
     * 0x1000}, {@code monitor tlb}) and returns its output for people, lines ending in
     * {@code '\n'}. Unknown commands and bad arguments are answered with text that says so.
     */
    String monitor(String command);
}
