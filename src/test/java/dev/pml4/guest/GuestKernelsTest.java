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

    @ParameterizedTest(name = "{0}")
    @MethodSource("guests")
    void givesItsTranscriptAndExitStatus(String name) throws IOException {
        Guests.Outcome outcome = Guests.run(name);
        assertEquals(Guests.expectedTranscript(name), outcome.transcript(), () -> name + ": serial transcript");
        assertEquals(Guests.expectedStatus(name), outcome.status(),
                () -> name + ": exit status; the run ended with: " + outcome.result().reason().describe());
    }
}
