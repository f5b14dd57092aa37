package dev.pml4.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pml4.mmu.TlbConfig;
import org.junit.jupiter.api.Test;

import java.io.IOException;

/**
 * A TLB that holds 8,192 pages of 4 KiB and a kernel that uses all of them: Unicorn 2.0.1 would
 * abort the JVM before 4,096 mappings (issue 13), so the engine holds a bounded number while the
 * TLB keeps every entry, and the second pass over the pages hits in the TLB without a walk.
 */
class EngineMappingBudgetGuestTest {
    @Test
    void aKernelTouching8192PagesRunsToItsEndWithATlbThatHoldsThemAll() throws IOException {
        Guests.Outcome outcome = Guests.run("many_pages", c -> c.withTlb(TlbConfig.parse("d4k=1024x8")));

        assertEquals(Guests.expectedTranscript("many_pages"), outcome.transcript());
        assertEquals(1, outcome.status(), () -> outcome.result().reason().describe());
        // 8,192 pages, each walked once (plus the few the kernel's own code and tables need):
        // the two read passes find every page in the TLB although the engine no longer maps it.
        var walks = java.util.regex.Pattern.compile("walks=(\\d+)").matcher(outcome.statistics());
        assertTrue(walks.find(), outcome.statistics());
        long n = Long.parseLong(walks.group(1));
        assertTrue(n >= 8192 && n < 8192 + 64, () -> "one walk per page expected: " + outcome.statistics());
    }
}
