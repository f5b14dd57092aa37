package dev.pml4.grade;

import dev.pml4.api.Guest;
import dev.pml4.api.Outcome;
import dev.pml4.api.SetupException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Runs one test on a fresh machine, in this process, and checks every expectation. */
final class TestRunner {
    private TestRunner() {
    }

    /** @param kernel the student's kernel, replacing the spec's image; null to use the image */
    static TestResult run(LabSpec.TestCase test, Path kernel) {
        long start = System.nanoTime();
        Path image = kernel != null ? kernel : test.image();
        Observed.FaultLog faults = new Observed.FaultLog();
        Guest.Builder builder = Guest.builder(image).options(test.args()).directory(test.directory()).listener(faults);
        if (test.maxInsns() != null) {
            builder.maxInstructions(test.maxInsns());
        }
        if (test.serialIn() != null) {
            builder.serialInput(test.serialIn().getBytes(StandardCharsets.UTF_8));
        }
        if (test.checkTlb() && test.args().stream().noneMatch(a -> a.startsWith("--check-tlb"))) {
            builder.options("--check-tlb");
        }
        try (Guest guest = builder.build()) {
            Outcome outcome = guest.run();
            Optional<List<String>> stale = test.checkTlb() ? Optional.of(TlbCheck.staleUses(guest)) : Optional.empty();
            Observed observed = new Observed(outcome, guest.serial(), faults, guest.state(), stale);
            List<String> failures = new ArrayList<>();
            for (Expectation e : test.expectations()) {
                e.check(observed).ifPresent(failures::add);
            }
            StringBuilder output = new StringBuilder();
            for (String f : failures) {
                output.append(f).append("\n\n");
            }
            output.append(String.format("run: exit status %d after %,d instructions: %s%n", outcome.status(), outcome.instructions(),
                    outcome.reason()));
            output.append("faults: ").append(faults.summary(12)).append('\n');
            if (!failures.isEmpty()) {
                output.append(Expectation.tail(guest.serial(), 12)).append('\n');
            }
            output.append(guest.report());
            return new TestResult(test.number(), test.name(), test.points(), failures.isEmpty(), false, failures,
                    output.toString().stripTrailing(), seconds(start));
        } catch (SetupException e) {
            return TestResult.error(test.number(), test.name(), test.points(), "the kernel was refused: " + e.getMessage(), seconds(start));
        }
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }
}
