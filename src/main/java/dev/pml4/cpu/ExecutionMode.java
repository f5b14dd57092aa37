package dev.pml4.cpu;

/**
 * How the processor runs the guest (issue 12). Both give the same architectural results: serial
 * output, exit status, instruction count, the instruction an interrupt lands on, exception frames.
 */
public enum ExecutionMode {
    /** A Java hook before every instruction: what tracing, stepping and watchpoints need. */
    PRECISE,
    /**
     * Blocks run natively and are counted by a native block hook; only sensitive instructions,
     * the rest of their block, and the block in which an interrupt or the limit falls go through
     * the Java hook. Falls back to {@link #PRECISE} when the fast-mode helper is not built.
     */
    FAST
}
