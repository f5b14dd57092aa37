package dev.pml4.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.util.List;

/**
 * Where the engine page table cannot be had (another libunicorn build, no native helper), pml4
 * keeps the TLB's translations in Unicorn regions (cpu.EnginePageMapper): every guest still gives
 * its transcript and status that way, forced here with -Dpml4.engineRegions.
 */
class RegionFallbackTest {
    /**
     * All but store_across, whose page-crossing store writes its first page's bytes before the #PF
     * with regions (README, "Choices where the spec is silent").
     */
    static List<String> guests() {
        return GuestKernelsTest.guests().stream().filter(n -> !n.equals("store_across")).toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("guests")
    void givesItsTranscriptAndExitStatusWithRegions(String name) throws IOException {
        System.setProperty("pml4.engineRegions", "true");
        Guests.Outcome outcome;
        try {
            outcome = Guests.run(name);
        } finally {
            System.clearProperty("pml4.engineRegions");
        }
        assertEquals(Guests.expectedTranscript(name), outcome.transcript(), () -> name + ": serial transcript");
        assertEquals(Guests.expectedStatus(name), outcome.status(), () -> name + ": " + outcome.result().reason().describe());
    }
}
