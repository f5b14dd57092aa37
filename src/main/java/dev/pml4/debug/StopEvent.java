package dev.pml4.debug;

import java.util.Objects;
import java.util.OptionalLong;

/** Why {@link DebugTarget#resume()} or {@link DebugTarget#step()} returned. */
public sealed interface StopEvent {

    /** One instruction retired (or one exception was delivered) and nothing else happened. */
    record Stepped() implements StopEvent {}

    /**
     * Execution reached a breakpoint: RIP equals {@code address} and the instruction there has
     * not run yet.
     */
    record BreakpointHit(long address) implements StopEvent {}

    /**
     * An instruction accessed watched memory. Like an x86 data breakpoint, the stop comes after
     * the instruction retired: RIP is the next instruction, and memory holds the new value.
     *
     * @param address the linear address the instruction accessed (within a watched range)
     * @param kind    the kind of the watchpoint that fired
     */
    record WatchpointHit(long address, WatchKind kind) implements StopEvent {
        public WatchpointHit {
            Objects.requireNonNull(kind, "kind");
        }
    }

    /**
     * The guest raised an exception whose vector is in {@link DebugTarget#catchExceptions}; it
     * has not been delivered yet. RIP is where the exception points (the faulting instruction for
     * a fault), CR2 is set for #PF. The next resume or step delivers it through the guest's IDT.
     *
     * @param errorCode the error code the vector pushes (#DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP),
     *                  empty for the others
     */
    record ExceptionCaught(int vector, OptionalLong errorCode) implements StopEvent {
        public ExceptionCaught {
            if (vector < 0 || vector > 255) {
                throw new IllegalArgumentException("vector must be 0..255, not " + vector);
            }
            Objects.requireNonNull(errorCode, "errorCode");
        }
    }

    /**
     * The run is over: the guest halted, wrote the debug-exit port, triple-faulted, hit the
     * instruction limit, or pml4 failed. Nothing can be resumed after this.
     *
     * @param status      the process exit status pml4 gives this end (BOOT.md), 0..255
     * @param description one line for people, e.g. {@code StopReason.describe()}
     */
    record Exited(int status, String description) implements StopEvent {
        public Exited {
            Objects.requireNonNull(description, "description");
        }
    }

    /**
     * The guest is about to access memory through a stale TLB entry ({@link
     * DebugTarget#catchStaleUses}); the access has not happened, RIP is the instruction that makes
     * it. The next resume lets it through the stale entry, as hardware would.
     *
     * @param report the checker's report, as pml4 prints it
     */
    record StaleUseCaught(String report) implements StopEvent {
        public StaleUseCaught {
            Objects.requireNonNull(report, "report");
        }
    }

    /** {@link DebugTarget#interrupt()} was called: the user pressed Ctrl-C in gdb. */
    record Interrupted() implements StopEvent {}
}
