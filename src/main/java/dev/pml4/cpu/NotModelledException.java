package dev.pml4.cpu;

/**
 * Thrown by an emulated instruction that needs something pml4 does not model yet; the code hook
 * turns it into {@link StopReason.NotModelled} (exit status 12), the instruction not run.
 */
final class NotModelledException extends RuntimeException {
    NotModelledException(String what) {
        super(what, null, false, false);
    }
}
