package dev.pml4.ffi.unicorn;

/** {@code uc_mem_type}: what kind of access a memory hook reports (unicorn.h 2.0.1). */
public enum MemoryAccess {
    READ(16), WRITE(17), FETCH(18),
    READ_UNMAPPED(19), WRITE_UNMAPPED(20), FETCH_UNMAPPED(21),
    WRITE_PROT(22), READ_PROT(23), FETCH_PROT(24),
    READ_AFTER(25);

    private static final MemoryAccess[] BY_CODE = new MemoryAccess[32];

    static {
        for (MemoryAccess a : values()) {
            BY_CODE[a.code] = a;
        }
    }

    public final int code;

    MemoryAccess(int code) {
        this.code = code;
    }

    public static MemoryAccess of(int code) {
        MemoryAccess a = code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
        if (a == null) {
            throw new IllegalArgumentException("unknown uc_mem_type " + code);
        }
        return a;
    }

    public boolean isWrite() {
        return this == WRITE || this == WRITE_UNMAPPED || this == WRITE_PROT;
    }

    public boolean isFetch() {
        return this == FETCH || this == FETCH_UNMAPPED || this == FETCH_PROT;
    }
}
