package dev.pml4.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pml4.cpu.StopReason;
import dev.pml4.mmu.AccessType;
import dev.pml4.mmu.PageFault;
import dev.pml4.mmu.PagingLevel;
import dev.pml4.mmu.TlbCheckFinding;
import dev.pml4.mmu.TlbCoherenceChecker.Mode;
import dev.pml4.mmu.Translation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.util.List;

/**
 * The TLB-coherence checker (--check-tlb) on every guest kernel: the run is the one the guest
 * expects without the check (transcript and status), and the report is NAME.expected-report (or,
 * for a kernel without one, "nothing found"). The tlbbug_* kernels each make one TLB-coherence
 * bug; tlb_coherent does everything right, and takes the spurious fault the SDM allows.
 */
class TlbCheckGuestsTest {
    static List<String> guests() {
        return GuestKernelsTest.guests();
    }

    /** The kernels that use a stale translation on purpose. */
    static List<String> staleUsers() {
        return List.of("tlbbug_remap", "tlbbug_unmap", "tlbbug_global", "tlbbug_pcid", "tlbbug_widths", "tlbbug_code", "tlb_stale", "tlb_pcid", "tlb_code_invlpg",
                "paging32", "paging_pae", "paging_la57");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("guests")
    void reportsWhatTheGuestExpectsAndChangesNothing(String name) throws IOException {
        Guests.Checked checked = Guests.runCheckingTlb(name, Mode.REPORT);
        assertEquals(Guests.expectedTranscript(name), checked.outcome().transcript(), () -> name + ": serial transcript");
        assertEquals(Guests.expectedStatus(name), checked.outcome().status(),
                () -> name + ": exit status; the run ended with: " + checked.outcome().result().reason().describe());
        assertEquals(Guests.expectedReport(name), checked.report(), () -> name + ": the --check-tlb report");
    }

    /** A TLB of a few entries: entries come and go all the time, and so do the frames watched for them. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.pml4.guest.GuestKernelsTest#geometryIndependent")
    void aTinyTlbChangesNothingEither(String name) throws IOException {
        Guests.Checked checked = Guests.runCheckingTlb(name, Mode.REPORT, c -> c.withTlb(dev.pml4.mmu.TlbConfig.tiny()));
        assertEquals(Guests.expectedTranscript(name), checked.outcome().transcript(), () -> name + ": serial transcript");
        assertEquals(Guests.expectedStatus(name), checked.outcome().status(), () -> checked.outcome().result().reason().describe());
        assertEquals(Guests.expectedReport(name), checked.report(), () -> name + ": the --check-tlb report");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("staleUsers")
    void stopModeEndsWithStatus10BeforeTheStaleAccess(String name) throws IOException {
        Guests.Checked checked = Guests.runCheckingTlb(name, Mode.STOP);
        StopReason reason = checked.outcome().result().reason();
        assertEquals(10, checked.outcome().status(), reason::describe);
        TlbCheckFinding.StaleUse use = checked.findings().staleUses().getFirst();
        StopReason.StaleTranslation stop = assertInstanceOf(StopReason.StaleTranslation.class, reason);
        assertEquals(use.rip(), stop.rip());
        assertEquals(use.linear(), stop.linear());
        assertEquals(1, checked.findings().findings().size(), "the run ends at the first stale use");
        String transcript = checked.outcome().transcript();
        assertTrue(Guests.expectedTranscript(name).startsWith(transcript), "the transcript up to the stop");
        assertFalse(transcript.isEmpty());
        // The access did not happen: the stale use is the instruction after the last one that ran.
        assertEquals(use.instruction() - 1, checked.outcome().result().instructions());
        assertTrue(Guests.expectedReport(name).startsWith(checked.report().lines().findFirst().orElseThrow()),
                "the same first stale use as in report mode");
    }

    @Test
    void theReportNamesTheWriteTheAccessAndTheFreshWalk() {
        Guests.Checked checked = Guests.runCheckingTlb("tlbbug_unmap", Mode.REPORT);
        TlbCheckFinding.StaleUse use = checked.findings().staleUses().getFirst();
        assertEquals(0x8000000000L, use.linear());
        assertEquals(AccessType.READ, use.access());
        assertEquals(PagingLevel.PT, use.write().level());
        assertEquals(0, use.write().newValue());
        assertEquals(1, use.write().oldValue() & 1);
        assertTrue(use.write().instruction() < use.instruction());
        PageFault fresh = assertInstanceOf(PageFault.class, use.fresh());
        assertEquals("PTE not present", fresh.reason());
        assertEquals(use.entry().frameBase(), use.write().oldValue() & ~0xfffL, "the TLB gave the frame of the entry before the write");
    }

    @Test
    void aWrongInvlpgEarnsAHint() {
        TlbCheckFinding.StaleUse use = Guests.runCheckingTlb("tlbbug_remap", Mode.REPORT).findings().staleUses().getFirst();
        assertEquals(AccessType.WRITE, use.access());
        assertInstanceOf(Translation.class, use.fresh());
        assertTrue(use.hints().stream().anyMatch(h -> h.startsWith("INVLPG 0x8000001000 ")), use.hints()::toString);
    }

    @Test
    void theCoherentKernelTakesOnlyTheSpuriousFault() {
        var findings = Guests.runCheckingTlb("tlb_coherent", Mode.STOP).findings();
        assertTrue(findings.staleUses().isEmpty());
        assertTrue(findings.dirtyBitWarnings().isEmpty());
        assertEquals(new TlbCheckFinding.Summary(0, 0, 1), findings.summary());
        TlbCheckFinding.SpuriousFault f = findings.spuriousFaults().getFirst();
        assertEquals(AccessType.WRITE, f.access());
        assertEquals(0x8000002000L, f.linear());
        assertFalse(f.entry().rights().writable());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tlbbug_dirty", "tlb_ad"})
    void aDirtyFlagClearedUnderADirtyEntryIsAWarningNotAStaleUse(String name) {
        var checked = Guests.runCheckingTlb(name, Mode.STOP);
        assertEquals(1, checked.outcome().status(), "a warning does not stop the run");
        assertEquals(new TlbCheckFinding.Summary(0, 1, 0), checked.findings().summary());
        assertTrue(checked.findings().dirtyBitWarnings().getFirst().entry().dirty());
    }

    @Test
    void offMeansNoReport() {
        try (var machine = new dev.pml4.machine.Machine(dev.pml4.machine.Machine.Config.defaults(java.io.OutputStream.nullOutputStream()))) {
            assertFalse(machine.tlbCheck().enabled());
            assertTrue(machine.tlbCheck().findings().isEmpty());
        }
    }
}
