package dev.pml4.guest;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pml4.machine.ImageRejectedException;
import dev.pml4.machine.KernelImages;
import dev.pml4.machine.Machine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * The guest kernels of {@code guest/}, as {@code make guests} built them into {@code guest/build},
 * with the transcripts and exit statuses they are expected to give.
 */
public final class Guests {
    private Guests() {
    }

    public static Path sourceDir() {
        return Path.of(System.getProperty("pml4.guestDir", "guest"));
    }

    public static Path buildDir() {
        return sourceDir().resolve("build");
    }

    /** Every guest kernel with an expected transcript. */
    public static List<String> withTranscripts() {
        try (Stream<Path> files = Files.list(sourceDir())) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".expected"))
                    .map(n -> n.substring(0, n.length() - ".expected".length()))
                    .sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The built image of {@code name}: NAME.elf, or NAME.bin for a flat one. */
    public static Path image(String name) {
        Path elf = buildDir().resolve(name + ".elf");
        Path bin = buildDir().resolve(name + ".bin");
        Path found = Files.exists(elf) ? elf : bin;
        assertTrue(Files.exists(found), () -> "guest kernel " + name + " is not built (" + elf + " or " + bin
                + "): 'make test' builds the guests first; or run toolchain/build-guests.sh");
        return found;
    }

    public static String expectedTranscript(String name) throws IOException {
        return Files.readString(sourceDir().resolve(name + ".expected"), StandardCharsets.ISO_8859_1);
    }

    public static int expectedStatus(String name) throws IOException {
        return Integer.parseInt(Files.readString(sourceDir().resolve(name + ".expected-status")).strip());
    }

    /** The screen NAME.expected-vga says the guest leaves (as {@code --vga} writes it), if there is one. */
    public static java.util.Optional<String> expectedScreen(String name) throws IOException {
        Path file = sourceDir().resolve(name + ".expected-vga");
        return Files.exists(file) ? java.util.Optional.of(Files.readString(file, StandardCharsets.UTF_8))
                : java.util.Optional.empty();
    }

    /**
     * What one run of a guest gave; {@code screen} is the VGA text screen at the end; {@code fastMode}
     * fast mode's counters when the run used it (even if it gave up later), else empty.
     */
    public record Outcome(String transcript, Machine.RunResult result, List<String> warnings, String statistics,
                          String screen, java.util.Optional<String> fastMode) {
        public int status() {
            return result.exitStatus();
        }
    }

    public static Outcome run(String name) {
        return run(name, UnaryOperator.identity());
    }

    /**
     * The report pml4 prints with {@code --check-tlb} (findings, then the summary), as the guest
     * expects it: NAME.expected-report, or, for a guest without one, the summary of a run in which
     * nothing was found.
     */
    public static String expectedReport(String name) throws IOException {
        Path file = sourceDir().resolve(name + ".expected-report");
        return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8)
                : new dev.pml4.mmu.TlbCheckFinding.Summary(0, 0, 0).describe();
    }

    /** A run with the TLB-coherence checker on: the run, the checker's findings, and its report as pml4 prints it. */
    public record Checked(Outcome outcome, dev.pml4.mmu.TlbCheckFinding.Report findings, String report) {
    }

    /** Boots {@code name} with {@code --check-tlb=MODE} and runs it to the end. */
    public static Checked runCheckingTlb(String name, dev.pml4.mmu.TlbCoherenceChecker.Mode mode) {
        return runCheckingTlb(name, mode, UnaryOperator.identity());
    }

    /** The same on the default machine changed by {@code configure}. */
    public static Checked runCheckingTlb(String name, dev.pml4.mmu.TlbCoherenceChecker.Mode mode, UnaryOperator<Machine.Config> configure) {
        ByteArrayOutputStream serial = new ByteArrayOutputStream();
        List<String> warnings = new java.util.ArrayList<>();
        StringBuilder report = new StringBuilder();
        try (Machine machine = new Machine(configure.apply(Machine.Config.defaults(serial).withWarnings(warnings::add)))) {
            var image = KernelImages.read(image(name), OptionalLong.empty(), OptionalLong.empty());
            machine.checkTlb(mode).addListener(f -> report.append(f.describe(image.symbols())));
            machine.boot(image, null);
            Machine.RunResult result = machine.run();
            report.append(machine.tlbCheck().summary().describe());
            Outcome outcome = new Outcome(serial.toString(StandardCharsets.ISO_8859_1), result, List.copyOf(warnings), "",
                    machine.vga().screen().text(), machine.cpu().fastModeStatistics());
            return new Checked(outcome, machine.tlbCheck(), report.toString());
        } catch (ImageRejectedException e) {
            throw new AssertionError("guest " + name + " was refused: " + e.getMessage(), e);
        }
    }

    /** Boots {@code name} with the default machine, changed by {@code configure}, and runs it to the end. */
    public static Outcome run(String name, UnaryOperator<Machine.Config> configure) {
        return run(name, configure, dev.pml4.cpu.ExecutionMode.FAST); // pml4 run's default; FastModeTest runs both
    }

    /** Boots {@code name} in {@code mode} and runs it to the end. */
    public static Outcome run(String name, dev.pml4.cpu.ExecutionMode mode) {
        return run(name, UnaryOperator.identity(), mode);
    }

    private static Outcome run(String name, UnaryOperator<Machine.Config> configure, dev.pml4.cpu.ExecutionMode mode) {
        return run(name, configure, mode, 0); // fast mode from the first instruction: every guest exercises it
    }

    /** Boots {@code name} in {@code mode}, fast mode starting at instruction {@code fastFrom}, and runs it to the end. */
    public static Outcome run(String name, UnaryOperator<Machine.Config> configure, dev.pml4.cpu.ExecutionMode mode, long fastFrom) {
        ByteArrayOutputStream serial = new ByteArrayOutputStream();
        List<String> warnings = new java.util.ArrayList<>();
        Machine.Config config = configure.apply(Machine.Config.defaults(serial).withWarnings(warnings::add));
        try (Machine machine = new Machine(config)) {
            machine.cpu().setExecutionMode(mode);
            machine.cpu().setFastModeFrom(fastFrom);
            machine.boot(KernelImages.read(image(name), OptionalLong.empty(), OptionalLong.empty()), null);
            Machine.RunResult result = machine.run();
            String statistics = "walks=" + machine.mmu().walks() + " faults=" + machine.mmu().pageFaults()
                    + " ITLB " + machine.mmu().tlb().statistics(dev.pml4.mmu.Tlb.Kind.INSTRUCTION)
                    + " DTLB " + machine.mmu().tlb().statistics(dev.pml4.mmu.Tlb.Kind.DATA);
            return new Outcome(serial.toString(StandardCharsets.ISO_8859_1), result, List.copyOf(warnings), statistics,
                    machine.vga().screen().text(), machine.cpu().fastModeStatistics());
        } catch (ImageRejectedException e) {
            throw new AssertionError("guest " + name + " was refused: " + e.getMessage(), e);
        }
    }
}
