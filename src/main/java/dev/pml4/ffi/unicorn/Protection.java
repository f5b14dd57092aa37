package dev.pml4.ffi.unicorn;

/** {@code uc_prot} bits of unicorn.h. */
public final class Protection {
    public static final int NONE = 0;
    public static final int READ = 1;
    public static final int WRITE = 2;
    public static final int EXEC = 4;
    public static final int ALL = READ | WRITE | EXEC;

    private Protection() {
    }

    public static String describe(int perms) {
        return ((perms & READ) != 0 ? "r" : "-") + ((perms & WRITE) != 0 ? "w" : "-") + ((perms & EXEC) != 0 ? "x" : "-");
    }
}
