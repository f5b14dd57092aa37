package dev.pml4.ffi.unicorn;

/** A {@code uc_err} other than {@code UC_ERR_OK}, carrying {@code uc_strerror}'s text. */
public final class UnicornException extends RuntimeException {
    private final int code;

    public UnicornException(String operation, int code, String text) {
        super(operation + ": " + text + " (uc_err " + code + ")");
        this.code = code;
    }

    /** The raw {@code uc_err}; compare with the constants in {@link UcError}. */
    public int code() {
        return code;
    }
}
