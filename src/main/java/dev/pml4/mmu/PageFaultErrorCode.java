package dev.pml4.mmu;

/**
 * The #PF error code (SDM Vol. 3A 4.7 and its figure "Page-Fault Error Code").
 *
 * <p>{@link #describe(int)} spells a code out as its hex value followed by one token per flag:
 * <pre>
 *   P  | !P    bit 0: a protection violation (or reserved bit) on a present page | page not present
 *   W  | R     bit 1: the access was a write | not a write (a read, or a fetch when I is shown)
 *   U  | S     bit 2: a user-mode access | a supervisor-mode access
 *   RSVD       bit 3: a reserved bit was set in a paging-structure entry (only with P)
 *   I          bit 4: an instruction fetch (reported only with CR4.PAE=1 and EFER.NXE=1, or CR4.SMEP=1)
 *   PK, SS, SGX  bits 5, 6, 15 (never produced here: protection keys, shadow stacks and SGX
 *              are not modelled); any other set bit as "bit N".
 * </pre>
 * Examples: {@code 0x7 (P W U)}, {@code 0x10 (!P R S I)}, {@code 0xd (P R U RSVD)}.
 */
public final class PageFaultErrorCode {
    /** Bit 0: 0 = the page was not present, 1 = a protection violation or reserved bit. */
    public static final int P = 1;
    /** Bit 1 (W/R): the access was a write. */
    public static final int W = 1 << 1;
    /** Bit 2 (U/S): the access was a user-mode access. */
    public static final int U = 1 << 2;
    /** Bit 3: a reserved bit was set in some paging-structure entry. */
    public static final int RSVD = 1 << 3;
    /** Bit 4 (I/D): the access was an instruction fetch (only with NXE=1 or SMEP=1). */
    public static final int ID = 1 << 4;

    private static final int PK = 1 << 5;
    private static final int SS = 1 << 6;
    private static final int SGX = 1 << 15;

    private PageFaultErrorCode() {
    }

    /**
     * The bits that describe the access itself rather than why it failed (SDM 4.7): W/R for a
     * write; U/S iff the access is user-mode (an implicit supervisor access at CPL 3 is
     * supervisor-mode); I/D for a fetch when CR4.SMEP=1, or when CR4.PAE=1 and IA32_EFER.NXE=1
     * (SDM 4.7: 32-bit paging has no XD, so NXE alone does not make it report fetches).
     */
    static int forAccess(AccessType type, AccessMode mode, PagingState state) {
        int code = 0;
        if (type == AccessType.WRITE) {
            code |= W;
        }
        if (mode == AccessMode.USER) {
            code |= U;
        }
        if (type == AccessType.FETCH && ((state.nxe() && state.pae()) || state.smep())) {
            code |= ID;
        }
        return code;
    }

    /** The code as hex and flag tokens, e.g. {@code "0x7 (P W U)"}; see the class comment. */
    public static String describe(int code) {
        var sb = new StringBuilder(String.format("0x%x (", code));
        sb.append((code & P) != 0 ? "P" : "!P");
        sb.append((code & W) != 0 ? " W" : " R");
        sb.append((code & U) != 0 ? " U" : " S");
        if ((code & RSVD) != 0) {
            sb.append(" RSVD");
        }
        if ((code & ID) != 0) {
            sb.append(" I");
        }
        if ((code & PK) != 0) {
            sb.append(" PK");
        }
        if ((code & SS) != 0) {
            sb.append(" SS");
        }
        if ((code & SGX) != 0) {
            sb.append(" SGX");
        }
        int known = P | W | U | RSVD | ID | PK | SS | SGX;
        for (int bit = 0; bit < 32; bit++) {
            if ((code & ~known & (1 << bit)) != 0) {
                sb.append(" bit ").append(bit);
            }
        }
        return sb.append(')').toString();
    }
}
