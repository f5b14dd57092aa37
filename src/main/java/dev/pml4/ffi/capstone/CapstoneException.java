package dev.pml4.ffi.capstone;

/**
 * Capstone could not be loaded or reported an error. Unchecked: none of these is something the
 * emulator can recover from mid-run; they mean the installation or the binding is wrong.
 */
public final class CapstoneException extends RuntimeException {
    /** {@link #error()} when the failure did not come from a {@code cs_err} (e.g. library missing). */
    public static final int NOT_A_CS_ERR = -1;

    private final int error;

    CapstoneException(String message, int error) {
        super(message);
        this.error = error;
    }

    CapstoneException(String message, Throwable cause) {
        super(message, cause);
        this.error = NOT_A_CS_ERR;
    }

    /** The {@code cs_err} value (capstone.h), or {@link #NOT_A_CS_ERR}. */
    public int error() {
        return error;
    }
}
