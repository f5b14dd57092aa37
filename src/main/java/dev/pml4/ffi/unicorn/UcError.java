package dev.pml4.ffi.unicorn;

/** {@code uc_err} values of unicorn.h 2.0.1 that callers act upon. */
public final class UcError {
    public static final int OK = 0;
    public static final int READ_UNMAPPED = 6;
    public static final int WRITE_UNMAPPED = 7;
    public static final int FETCH_UNMAPPED = 8;
    public static final int INSN_INVALID = 10;
    public static final int MAP = 11;
    public static final int WRITE_PROT = 12;
    public static final int READ_PROT = 13;
    public static final int FETCH_PROT = 14;
    public static final int ARG = 15;
    public static final int EXCEPTION = 21;

    private UcError() {
    }
}
