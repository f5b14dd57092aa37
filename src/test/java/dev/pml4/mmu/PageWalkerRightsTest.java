package dev.pml4.mmu;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static dev.pml4.mmu.Paging.*;
import static org.junit.jupiter.api.Assertions.*;

/** SDM 4.6: rights combined across levels, and every protection rule with its exact error code. */
class PageWalkerRightsTest {
    private final Paging p = new Paging();

    @AfterEach
    void close() {
        p.close();
    }

    @ParameterizedTest(name = "{0}: [{1}] [{2}] [{3}] [{4}] -> W={5} U={6} X={7}")
    @CsvSource({
            // size,  PML4E, PDPTE, PDE,   PTE,   writable, user, executable
            "SIZE_4K, W U,   W U,   W U,   W U,   true,  true,  true",
            "SIZE_4K, U,     W U,   W U,   W U,   false, true,  true",
            "SIZE_4K, W U,   U,     W U,   W U,   false, true,  true",
            "SIZE_4K, W U,   W U,   U,     W U,   false, true,  true",
            "SIZE_4K, W U,   W U,   W U,   U,     false, true,  true",
            "SIZE_4K, W,     W U,   W U,   W U,   true,  false, true",
            "SIZE_4K, W U,   W,     W U,   W U,   true,  false, true",
            "SIZE_4K, W U,   W U,   W,     W U,   true,  false, true",
            "SIZE_4K, W U,   W U,   W U,   W,     true,  false, true",
            "SIZE_4K, W U XD, W U,  W U,   W U,   true,  true,  false",
            "SIZE_4K, W U,   W U XD, W U,  W U,   true,  true,  false",
            "SIZE_4K, W U,   W U,   W U XD, W U,  true,  true,  false",
            "SIZE_4K, W U,   W U,   W U,   W U XD, true, true,  false",
            "SIZE_4K, U,     W,     W U XD, W U,  false, false, false",
            "SIZE_4K, -,     -,     -,     -,     false, false, true",
            "SIZE_4K, XD,    XD,    XD,    XD,    false, false, false",
            "SIZE_2M, W U,   W U,   W U,   -,     true,  true,  true",
            "SIZE_2M, U,     W U,   W U,   -,     false, true,  true",
            "SIZE_2M, W U,   U,     W U,   -,     false, true,  true",
            "SIZE_2M, W U,   W U,   U,     -,     false, true,  true",
            "SIZE_2M, W,     W U,   W U,   -,     true,  false, true",
            "SIZE_2M, W U,   W,     W U,   -,     true,  false, true",
            "SIZE_2M, W U,   W U,   W,     -,     true,  false, true",
            "SIZE_2M, W U XD, W U,  W U,   -,     true,  true,  false",
            "SIZE_2M, W U,   W U XD, W U,  -,     true,  true,  false",
            "SIZE_2M, W U,   W U,   W U XD, -,    true,  true,  false",
            "SIZE_1G, W U,   W U,   -,     -,     true,  true,  true",
            "SIZE_1G, U,     W U,   -,     -,     false, true,  true",
            "SIZE_1G, W U,   U,     -,     -,     false, true,  true",
            "SIZE_1G, W,     W U,   -,     -,     true,  false, true",
            "SIZE_1G, W U,   W,     -,     -,     true,  false, true",
            "SIZE_1G, W U XD, W U,  -,     -,     true,  true,  false",
            "SIZE_1G, W U,   W U XD, -,    -,     true,  true,  false",
    })
    void rightsAreCombinedOverEveryLevel(PageSize size, String pml4e, String pdpte, String pde, String pte,
                                         boolean writable, boolean user, boolean executable) {
        p.chain(size, LINEAR, pml4e, pdpte, pde, pte);
        WalkResult r = p.walker().translate(LINEAR, AccessType.READ, AccessMode.SUPERVISOR, state("NXE"));
        assertEquals(new PageRights(writable, user, executable), assertInstanceOf(Translation.class, r).rights());
    }

    /**
     * One access to a 4K page whose upper levels are all "W U" and whose PTE carries the flags given.
     * Columns: PTE flags, access, mode, state, expected error code (0 = allowed), expected reason.
     */
    @ParameterizedTest(name = "[{index}] PTE [{0}] {1} {2} [{3}] -> {4} {5}")
    @CsvSource(delimiter = '|', textBlock = """
            # user-mode accesses
            W U    | READ  | USER                | -            | 0x0  | -
            W U    | WRITE | USER                | WP           | 0x0  | -
            W U    | FETCH | USER                | NXE SMEP     | 0x0  | -
            W      | READ  | USER                | -            | 0x5  | user access to supervisor page
            W      | WRITE | USER                | -            | 0x7  | user access to supervisor page
            W      | FETCH | USER                | NXE          | 0x15 | user access to supervisor page
            W      | FETCH | USER                | -            | 0x5  | user access to supervisor page
            W      | FETCH | USER                | SMEP         | 0x15 | user access to supervisor page
            U      | READ  | USER                | -            | 0x0  | -
            U      | WRITE | USER                | -            | 0x7  | write to read-only page
            U      | WRITE | USER                | WP           | 0x7  | write to read-only page
            U      | FETCH | USER                | -            | 0x0  | -
            W U XD | FETCH | USER                | NXE          | 0x15 | instruction fetch from NX page
            W U XD | READ  | USER                | NXE          | 0x0  | -
            W U XD | WRITE | USER                | NXE          | 0x0  | -
            -      | WRITE | USER                | WP NXE       | 0x7  | user access to supervisor page
            # supervisor writes and CR0.WP
            U      | WRITE | SUPERVISOR          | -            | 0x0  | -
            -      | WRITE | SUPERVISOR          | -            | 0x0  | -
            -      | WRITE | SUPERVISOR          | WP           | 0x3  | write to read-only page (CR0.WP=1)
            U      | WRITE | SUPERVISOR          | WP           | 0x3  | write to read-only page (CR0.WP=1)
            W      | WRITE | SUPERVISOR          | WP           | 0x0  | -
            -      | READ  | SUPERVISOR          | WP           | 0x0  | -
            U      | WRITE | IMPLICIT_SUPERVISOR | WP           | 0x3  | write to read-only page (CR0.WP=1)
            -      | WRITE | IMPLICIT_SUPERVISOR | -            | 0x0  | -
            # supervisor fetches: NX and SMEP
            W XD   | FETCH | SUPERVISOR          | NXE          | 0x11 | instruction fetch from NX page
            W      | FETCH | SUPERVISOR          | NXE          | 0x0  | -
            W U    | FETCH | SUPERVISOR          | -            | 0x0  | -
            W U    | FETCH | SUPERVISOR          | NXE          | 0x0  | -
            W U    | FETCH | SUPERVISOR          | SMEP         | 0x11 | SMEP: supervisor fetch from user page
            W U    | FETCH | SUPERVISOR          | SMEP NXE     | 0x11 | SMEP: supervisor fetch from user page
            W U XD | FETCH | SUPERVISOR          | SMEP NXE     | 0x11 | SMEP: supervisor fetch from user page
            W      | FETCH | SUPERVISOR          | SMEP         | 0x0  | -
            W U    | READ  | SUPERVISOR          | SMEP         | 0x0  | -
            W U    | WRITE | SUPERVISOR          | SMEP WP      | 0x0  | -
            W U    | FETCH | IMPLICIT_SUPERVISOR | SMEP         | 0x11 | SMEP: supervisor fetch from user page
            # SMAP, RFLAGS.AC and implicit supervisor accesses
            W U    | READ  | SUPERVISOR          | SMAP         | 0x1  | SMAP: supervisor read of user page
            W U    | WRITE | SUPERVISOR          | SMAP         | 0x3  | SMAP: supervisor write to user page
            W U    | READ  | SUPERVISOR          | SMAP AC      | 0x0  | -
            W U    | WRITE | SUPERVISOR          | SMAP AC      | 0x0  | -
            U      | WRITE | SUPERVISOR          | SMAP AC      | 0x0  | -
            U      | WRITE | SUPERVISOR          | SMAP AC WP   | 0x3  | write to read-only page (CR0.WP=1)
            U      | WRITE | SUPERVISOR          | SMAP WP      | 0x3  | SMAP: supervisor write to user page
            W U    | READ  | SUPERVISOR          | AC           | 0x0  | -
            W U    | READ  | IMPLICIT_SUPERVISOR | SMAP         | 0x1  | SMAP: implicit supervisor read of user page
            W U    | READ  | IMPLICIT_SUPERVISOR | SMAP AC      | 0x1  | SMAP: implicit supervisor read of user page
            W U    | WRITE | IMPLICIT_SUPERVISOR | SMAP AC      | 0x3  | SMAP: implicit supervisor write to user page
            W U    | READ  | IMPLICIT_SUPERVISOR | -            | 0x0  | -
            W U    | READ  | IMPLICIT_SUPERVISOR | AC           | 0x0  | -
            W      | READ  | IMPLICIT_SUPERVISOR | SMAP         | 0x0  | -
            W      | READ  | SUPERVISOR          | SMAP         | 0x0  | -
            W U    | FETCH | SUPERVISOR          | SMAP         | 0x0  | -
            W U    | FETCH | SUPERVISOR          | SMAP NXE     | 0x0  | -
            W U    | READ  | USER                | SMAP SMEP    | 0x0  | -
            W U    | WRITE | USER                | SMAP SMEP WP | 0x0  | -
            W U    | FETCH | USER                | SMAP SMEP NXE | 0x0 | -
            """)
    void protectionRulesAndErrorCodes(String pte, AccessType type, AccessMode mode, String state,
                                      String code, String reason) {
        p.chain(PageSize.SIZE_4K, LINEAR, "W U", "W U", "W U", pte);
        expect(p.walker().translate(LINEAR, type, mode, state(state)), Integer.decode(code), reason, 4);
    }

    /**
     * Each permission bit at each level of each page size: clearing R/W or U/S, or setting XD, in
     * exactly one entry (the rest "W U") has the same effect wherever that entry sits.
     */
    @ParameterizedTest(name = "[{index}] {0} {1}: {2} -> {3} {4} [{5}] = {6}")
    @MethodSource("permissionBitAtEveryLevel")
    void permissionBitAtEveryLevel(PageSize size, PagingLevel level, String change, AccessType type,
                                   AccessMode mode, String state, int code, String reason) {
        p.chain(size, LINEAR, "W U", "W U", "W U", "W U");
        switch (change) {
            case "clear R/W" -> p.andNot(level, LINEAR, W);
            case "clear U/S" -> p.andNot(level, LINEAR, U);
            case "set XD" -> p.or(level, LINEAR, XD);
            default -> throw new IllegalArgumentException(change);
        }
        expect(p.walker().translate(LINEAR, type, mode, state(state)), code, reason, depth(size));
    }

    static Stream<Arguments> permissionBitAtEveryLevel() {
        // change, access, mode, state, code, reason (null = allowed)
        Object[][] effects = {
                {"clear R/W", AccessType.WRITE, AccessMode.USER, "-", 0x7, "write to read-only page"},
                {"clear R/W", AccessType.WRITE, AccessMode.SUPERVISOR, "WP", 0x3, "write to read-only page (CR0.WP=1)"},
                {"clear R/W", AccessType.WRITE, AccessMode.SUPERVISOR, "-", 0, null},
                {"clear R/W", AccessType.READ, AccessMode.USER, "WP", 0, null},
                {"clear U/S", AccessType.READ, AccessMode.USER, "-", 0x5, "user access to supervisor page"},
                {"clear U/S", AccessType.WRITE, AccessMode.USER, "-", 0x7, "user access to supervisor page"},
                {"clear U/S", AccessType.FETCH, AccessMode.USER, "NXE", 0x15, "user access to supervisor page"},
                {"clear U/S", AccessType.READ, AccessMode.SUPERVISOR, "SMAP", 0, null},
                {"clear U/S", AccessType.FETCH, AccessMode.SUPERVISOR, "SMEP", 0, null},
                {"set XD", AccessType.FETCH, AccessMode.USER, "NXE", 0x15, "instruction fetch from NX page"},
                {"set XD", AccessType.FETCH, AccessMode.SUPERVISOR, "NXE", 0x11, "instruction fetch from NX page"},
                {"set XD", AccessType.READ, AccessMode.USER, "NXE", 0, null},
        };
        List<Arguments> out = new ArrayList<>();
        for (PageSize size : Paging.SIZES) {
            for (int i = 0; i < depth(size); i++) {
                for (Object[] e : effects) {
                    out.add(Arguments.of(size, Paging.LEVELS.get(i), e[0], e[1], e[2], e[3], e[4], e[5]));
                }
            }
        }
        return out.stream();
    }

    static void expect(WalkResult r, int code, String reason, int steps) {
        assertEquals(steps, r.steps().size(), "steps");
        if (code == 0) {
            assertInstanceOf(Translation.class, r, () -> "expected the access to be allowed: " + r);
        } else {
            PageFault f = assertInstanceOf(PageFault.class, r, () -> "expected a fault");
            assertEquals(code, f.errorCode(), () -> "error code " + PageFaultErrorCode.describe(f.errorCode()));
            assertEquals(reason, f.reason());
            assertEquals(LINEAR, f.linearAddress());
        }
    }
}
