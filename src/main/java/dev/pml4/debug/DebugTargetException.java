package dev.pml4.debug;

/**
 * A {@link DebugTarget} refuses a request: a register value the architecture forbids (CR0.PG
 * without CR4.PAE, a CR3 with reserved bits), a vector it cannot catch, a machine that has ended.
 * The message says what, for people.
 */
public class DebugTargetException extends RuntimeException {
    public DebugTargetException(String message) {
        super(message);
    }

    public DebugTargetException(String message, Throwable cause) {
        super(message, cause);
    }
}
