package dev.pml4.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.util.List;

/** Every guest kernel in guest/ boots and gives the transcript and exit status beside it. */
class GuestKernelsTest {
    static List<String> guests() {
        List<String> names = Guests.withTranscripts();
        assertFalse(names.isEmpty(), "no guest/*.expected found in " + Guests.sourceDir());
        return names;
    }

    /** The kernels whose transcripts do not depend on what the TLB keeps (the tlb_* and tlbbug_* ones do, by design). */
    static List<String> geometryIndependent() {
        // paging*: each shows a stale entry until INVLPG, which a TLB that evicts it would not keep.
        return guests().stream().filter(n -> !n.startsWith("tlb") && !n.startsWith("paging") && !n.equals("compute")
                && !n.endsWith("_loop")).toList();
    }

    /** A TLB of a few entries evicts all the time: mappings come and go under running code. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("geometryIndependent")
    void givesTheSameRunWithATinyTlb(String name) throws IOException {
        Guests.Outcome outcome = Guests.run(name, c -> c.withTlb(dev.pml4.mmu.TlbConfig.tiny()));
        assertEquals(Guests.expectedTranscript(name), outcome.transcript(), () -> name + ": serial transcript");
        assertEquals(Guests.expectedStatus(name), outcome.status(), () -> name + ": " + outcome.result().reason().describe());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("guests")
    void givesItsTranscriptAndExitStatus(String name) throws IOException {
        Guests.Outcome outcome = Guests.run(name);
        assertEquals(Guests.expectedTranscript(name), outcome.transcript(), () -> name + ": serial transcript");
        assertEquals(Guests.expectedStatus(name), outcome.status(),
                () -> name + ": exit status; the run ended with: " + outcome.result().reason().describe());
        var screen = Guests.expectedScreen(name);
        if (screen.isPresent()) {
            assertEquals(screen.get(), outcome.screen(), () -> name + ": VGA screen (NAME.expected-vga)");
        }
    }

    /** The Multiboot guests and the VGA guest touch only the VGA ports pml4 answers: no warnings. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("screens")
    void touchesNoUnansweredPort(String name) {
        Guests.Outcome outcome = Guests.run(name);
        assertEquals(List.of(), outcome.warnings(), name);
    }

    static List<String> screens() {
        return guests().stream().filter(n -> {
            try {
                return Guests.expectedScreen(n).isPresent();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }).toList();
    }
}
