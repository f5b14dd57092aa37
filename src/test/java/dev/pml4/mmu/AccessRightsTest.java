package dev.pml4.mmu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dev.pml4.mmu.Paging.*;
import static org.junit.jupiter.api.Assertions.*;

/** AccessRights.check on cached rights, as the TLB uses it, and its agreement with the walker. */
class AccessRightsTest {

    /** Rights as the TLB caches them: writable, user, executable; state as in {@link Paging#state}. */
    @ParameterizedTest(name = "[{index}] W={0} U={1} X={2} {3} {4} [{5}] -> {6}")
    @CsvSource(delimiter = '|', textBlock = """
            true  | true  | true  | READ  | USER                | -                 | 0x0
            true  | true  | true  | WRITE | USER                | -                 | 0x0
            true  | true  | true  | FETCH | USER                | NXE               | 0x0
            false | true  | true  | WRITE | USER                | -                 | 0x7
            true  | false | true  | READ  | USER                | -                 | 0x5
            true  | false | true  | FETCH | USER                | -                 | 0x5
            true  | false | true  | FETCH | USER                | SMEP              | 0x15
            true  | true  | false | FETCH | USER                | NXE               | 0x15
            true  | true  | false | READ  | USER                | NXE               | 0x0
            false | false | true  | WRITE | SUPERVISOR          | -                 | 0x0
            false | false | true  | WRITE | SUPERVISOR          | WP                | 0x3
            false | true  | true  | WRITE | SUPERVISOR          | WP                | 0x3
            false | true  | true  | WRITE | IMPLICIT_SUPERVISOR | WP                | 0x3
            true  | false | false | FETCH | SUPERVISOR          | NXE               | 0x11
            true  | true  | true  | FETCH | SUPERVISOR          | SMEP              | 0x11
            true  | true  | true  | FETCH | SUPERVISOR          | -                 | 0x0
            true  | true  | true  | READ  | SUPERVISOR          | SMAP              | 0x1
            true  | true  | true  | WRITE | SUPERVISOR          | SMAP              | 0x3
            true  | true  | true  | READ  | SUPERVISOR          | SMAP AC           | 0x0
            true  | true  | true  | WRITE | SUPERVISOR          | SMAP AC           | 0x0
            true  | true  | true  | READ  | IMPLICIT_SUPERVISOR | SMAP AC           | 0x1
            true  | true  | true  | WRITE | IMPLICIT_SUPERVISOR | SMAP AC           | 0x3
            true  | true  | true  | READ  | IMPLICIT_SUPERVISOR | SMAP              | 0x1
            true  | true  | true  | FETCH | SUPERVISOR          | SMAP              | 0x0
            true  | false | true  | READ  | SUPERVISOR          | SMAP              | 0x0
            true  | true  | true  | READ  | USER                | SMAP SMEP WP NXE  | 0x0
            """)
    void checkGivesTheErrorCodeOfTheViolation(boolean writable, boolean user, boolean executable,
                                              AccessType type, AccessMode mode, String state, String code) {
        assertEquals(Integer.decode(code),
                AccessRights.check(new PageRights(writable, user, executable), type, mode, state(state)));
    }

    @Test
    void withPagingOffNothingIsRefusedWhateverWpSmepSmapSay() {
        var off = new PagingState(0x0001_0001L, 0, (1L << 21) | (1L << 20), 1L << 11, false);
        var none = new PageRights(false, false, false);
        for (AccessType type : AccessType.values()) {
            for (AccessMode mode : AccessMode.values()) {
                assertEquals(0, AccessRights.check(none, type, mode, off));
                assertEquals(0, AccessRights.check(PageRights.FULL, type, mode, off));
            }
        }
    }

    @Test
    void fullRightsAllowEverythingWithoutSmepOrSmap() {
        for (AccessType type : AccessType.values()) {
            for (AccessMode mode : AccessMode.values()) {
                assertEquals(0, AccessRights.check(PageRights.FULL, type, mode, state("WP NXE AC")));
            }
        }
        assertEquals(0x11, AccessRights.check(PageRights.FULL, AccessType.FETCH, AccessMode.SUPERVISOR, state("SMEP")));
        assertEquals(0x1, AccessRights.check(PageRights.FULL, AccessType.READ, AccessMode.SUPERVISOR, state("SMAP")));
    }

    /**
     * The TLB answers hits with AccessRights.check on the rights a walk produced. For every leaf R/W,
     * U/S, XD, every access, mode and combination of WP, NXE, SMEP, SMAP and AC, the walk's own
     * verdict must equal check() on the rights it reports (RSVD aside: XD without NXE).
     */
    @Test
    void theWalkerAndCheckNeverDisagree() {
        String[] flags = {"WP", "NXE", "SMEP", "SMAP", "AC"};
        int compared = 0;
        try (var p = new Paging()) {
            PageWalker walker = p.walker();
            for (int leaf = 0; leaf < 8; leaf++) {
                boolean w = (leaf & 1) != 0, u = (leaf & 2) != 0, xd = (leaf & 4) != 0;
                p.chain(PageSize.SIZE_4K, LINEAR, "W U", "W U", "W U",
                        (w ? "W " : "") + (u ? "U " : "") + (xd ? "XD" : ""));
                for (int s = 0; s < 32; s++) {
                    var spec = new StringBuilder("-");
                    for (int f = 0; f < flags.length; f++) {
                        if ((s & (1 << f)) != 0) {
                            spec.append(' ').append(flags[f]);
                        }
                    }
                    PagingState state = state(spec.toString());
                    var rights = new PageRights(w, u, !(xd && state.nxe()));
                    for (AccessType type : AccessType.values()) {
                        for (AccessMode mode : AccessMode.values()) {
                            WalkResult r = walker.probe(LINEAR, type, mode, state);
                            String where = leaf + " " + spec + " " + type + " " + mode;
                            if (xd && !state.nxe()) {
                                assertEquals(PageFaultErrorCode.P | PageFaultErrorCode.RSVD,
                                        ((PageFault) r).errorCode() & 9, where);
                                continue;
                            }
                            int code = AccessRights.check(rights, type, mode, state);
                            switch (r) {
                                case Translation t -> {
                                    assertEquals(0, code, where);
                                    assertEquals(rights, t.rights(), where);
                                }
                                case PageFault f -> assertEquals(code, f.errorCode(), where);
                            }
                            compared++;
                        }
                    }
                }
            }
        }
        assertEquals(4 * 32 * 9 + 4 * 16 * 9, compared);
    }
}
