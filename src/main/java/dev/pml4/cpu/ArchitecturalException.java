package dev.pml4.cpu;

/**
 * An exception the guest's instruction raises (SDM Vol. 3A 6.3.1, Table 6-1), to be delivered
 * through the guest's IDT. Thrown inside instruction emulation and caught by the CPU, which
 * delivers it; it carries no Java stack trace, being the guest's event, not the emulator's.
 */
public final class ArchitecturalException extends RuntimeException {
    public static final int DE = 0;
    public static final int DB = 1;
    public static final int BP = 3;
    public static final int UD = 6;
    public static final int NM = 7;
    public static final int DF = 8;
    public static final int TS = 10;
    public static final int NP = 11;
    public static final int SS = 12;
    public static final int GP = 13;
    public static final int PF = 14;

    private static final String[] MNEMONICS = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO",
            "#TS", "#NP", "#SS", "#GP", "#PF", "15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP"};

    private final int vector;
    private final int errorCode;
    private final long faultAddress;
    private final String reason;
    /** For INT n, INT3 and INT1: the RIP after the instruction, which the frame holds; else -1. */
    private long softwareReturn = -1;
    private boolean icebp;

    /**
     * @param vector the exception vector
     * @param errorCode the error code pushed with it, or -1 for vectors that push none
     * @param faultAddress what CR2 receives for a #PF; otherwise 0
     * @param reason a sentence for people: what the instruction did wrong
     */
    public ArchitecturalException(int vector, int errorCode, long faultAddress, String reason) {
        super(reason, null, false, false);
        this.vector = vector;
        this.errorCode = errorCode;
        this.faultAddress = faultAddress;
        this.reason = reason;
    }

    /** INT n, INT3 (SDM Vol. 2A INT n): delivered with the DPL check, returning to {@code nextRip}. */
    public static ArchitecturalException software(int vector, long nextRip, String reason) {
        ArchitecturalException e = new ArchitecturalException(vector, -1, 0, reason);
        e.softwareReturn = nextRip;
        return e;
    }

    /** INT1 (ICEBP): #DB without the DPL check (SDM Vol. 3A 6.12.1.1). */
    public static ArchitecturalException icebp(long nextRip) {
        ArchitecturalException e = software(DB, nextRip, "INT1");
        e.icebp = true;
        return e;
    }

    public boolean isSoftware() {
        return softwareReturn >= 0 || icebp;
    }

    public boolean isIcebp() {
        return icebp;
    }

    public long softwareReturn() {
        return softwareReturn;
    }

    public static ArchitecturalException gp(String reason) {
        return new ArchitecturalException(GP, 0, 0, reason);
    }

    public static ArchitecturalException ud(String reason) {
        return new ArchitecturalException(UD, -1, 0, reason);
    }

    public int vector() { return vector; }
    public int errorCode() { return errorCode; }
    public long faultAddress() { return faultAddress; }
    public String reason() { return reason; }

    public static String name(int vector) {
        return vector < MNEMONICS.length ? MNEMONICS[vector] : "vector " + vector;
    }

    public String name() {
        return name(vector);
    }

    @Override
    public String toString() {
        return name() + (errorCode >= 0 ? String.format("(0x%x)", errorCode) : "")
                + (vector == PF ? String.format(" CR2=0x%x", faultAddress) : "") + ": " + reason;
    }
}
