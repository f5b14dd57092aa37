package dev.pml4.mmu;

/**
 * The access-rights rules of SDM Vol. 3A 4.6.1 ("Determination of Access Rights"), in one place.
 *
 * <p>The page walker applies them after a walk and the TLB applies them to the rights it cached,
 * so a TLB hit and a fresh walk can never disagree. Only the rights combined over every level
 * enter (see {@link PageRights}); protection keys (CR4.PKE/PKS) and shadow stacks (CET) are not
 * modelled.
 *
 * <p>User-mode accesses (CPL 3):
 * <ul>
 *   <li>need U/S=1 at every level (a "user-mode address") for reads, writes and fetches;
 *   <li>writes need R/W=1 at every level, whatever CR0.WP says;
 *   <li>fetches need XD=0 at every level when IA32_EFER.NXE=1.
 * </ul>
 * Supervisor-mode accesses (CPL &lt; 3, and implicit accesses at any CPL):
 * <ul>
 *   <li>fetches from a user-mode address are refused when CR4.SMEP=1;
 *   <li>fetches need XD=0 at every level when IA32_EFER.NXE=1;
 *   <li>data reads and writes of a user-mode address are refused when CR4.SMAP=1 and either
 *       RFLAGS.AC=0 or the access is implicit (SMAP never applies to fetches);
 *   <li>writes need R/W=1 at every level only when CR0.WP=1.
 * </ul>
 * When several rules refuse an access the error code is the same; only the reason differs, and
 * the first rule listed above wins.
 */
public final class AccessRights {
    private AccessRights() {
    }

    /** The rule an access broke. */
    private enum Violation {
        USER_TO_SUPERVISOR("user access to supervisor page"),
        USER_WRITE_READ_ONLY("write to read-only page"),
        NX_FETCH("instruction fetch from NX page"),
        SMEP("SMEP: supervisor fetch from user page"),
        SMAP_READ("SMAP: supervisor read of user page"),
        SMAP_WRITE("SMAP: supervisor write to user page"),
        SMAP_IMPLICIT_READ("SMAP: implicit supervisor read of user page"),
        SMAP_IMPLICIT_WRITE("SMAP: implicit supervisor write to user page"),
        SUPERVISOR_WRITE_READ_ONLY("write to read-only page (CR0.WP=1)");

        final String reason;

        Violation(String reason) {
            this.reason = reason;
        }
    }

    /**
     * Checks one access against a translation's combined rights.
     *
     * @return 0 when the access is allowed, else the #PF error code of the protection violation:
     *         P=1, plus W/R, U/S and I/D as {@link PageFaultErrorCode} describes (never RSVD).
     *         Always 0 while CR0.PG=0: without paging there are no access rights to check, and
     *         CR4.SMEP, CR4.SMAP and CR0.WP have no effect.
     */
    public static int check(PageRights rights, AccessType type, AccessMode mode, PagingState state) {
        return violation(rights, type, mode, state) == null
                ? 0
                : PageFaultErrorCode.P | PageFaultErrorCode.forAccess(type, mode, state);
    }

    /** Why {@link #check} refuses an access, as a sentence; null when it allows it. */
    static String reason(PageRights rights, AccessType type, AccessMode mode, PagingState state) {
        Violation v = violation(rights, type, mode, state);
        return v == null ? null : v.reason;
    }

    private static Violation violation(PageRights rights, AccessType type, AccessMode mode,
                                       PagingState state) {
        if (!state.pagingEnabled()) {
            return null;
        }
        if (mode == AccessMode.USER) {
            if (!rights.user()) {
                return Violation.USER_TO_SUPERVISOR;
            }
            if (type == AccessType.WRITE && !rights.writable()) {
                return Violation.USER_WRITE_READ_ONLY;
            }
            if (type == AccessType.FETCH && !rights.executable()) {
                return Violation.NX_FETCH;
            }
            return null;
        }
        // Supervisor-mode access, explicit or implicit.
        if (type == AccessType.FETCH) {
            if (rights.user() && state.smep()) {
                return Violation.SMEP;
            }
            if (!rights.executable()) {
                return Violation.NX_FETCH;
            }
            return null;
        }
        boolean write = type == AccessType.WRITE;
        if (rights.user() && state.smap()) {
            if (mode == AccessMode.IMPLICIT_SUPERVISOR) {
                return write ? Violation.SMAP_IMPLICIT_WRITE : Violation.SMAP_IMPLICIT_READ;
            }
            if (!state.alignmentCheck()) {
                return write ? Violation.SMAP_WRITE : Violation.SMAP_READ;
            }
        }
        if (write && !rights.writable() && state.wp()) {
            return Violation.SUPERVISOR_WRITE_READ_ONLY;
        }
        return null;
    }
}
