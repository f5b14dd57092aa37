package dev.pml4.cli;

import dev.pml4.fuzz.FuzzTally;
import dev.pml4.fuzz.GdbFuzzer;
import dev.pml4.fuzz.ImageFuzzer;
import dev.pml4.fuzz.Watchdog;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "fuzz", sortOptions = false,
        description = {"Feed pml4 what a careless or hostile user would, and check that every run ends well.",
                "  images  random bytes as kernel images (one in four with the ELF magic)",
                "  elf     ELF64, ELF32, Multiboot 1 and Multiboot 2 images mutated mostly in their headers",
                "  gdb     random and mutated gdb remote packets against the stub of a running machine",
                "Every run must end with a status the README lists (never 8), without an exception; a",
                "case that runs longer than --timeout halts the command. Exits 0 when all did, else 1.", ""},
        footer = {"", "Examples:", "  pml4 fuzz images --count 10000 --seed 1", "  pml4 fuzz gdb --count 10000 --seed 3"})
final class FuzzCommand implements Callable<Integer> {
    @Parameters(paramLabel = "WHAT", description = "images, elf or gdb")
    String what;

    @Option(names = "--count", paramLabel = "N", defaultValue = "1000",
            description = "Images to boot, or packets to send (default: ${DEFAULT-VALUE}).")
    long count;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1",
            description = "The same seed makes the same cases (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--from", paramLabel = "I", defaultValue = "0",
            description = "The first case (images and elf; default: ${DEFAULT-VALUE}), to replay one: --from I --count 1.")
    long from;

    @Option(names = "--max-insns", paramLabel = "N", defaultValue = "100000",
            description = "Instruction limit of each image's run (default: ${DEFAULT-VALUE}).")
    long maxInstructions;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "60",
            description = "Wall time one case may take before it counts as a hang (default: ${DEFAULT-VALUE}).")
    long timeout;

    @Option(names = "--guests", paramLabel = "DIR", defaultValue = "guest/build",
            description = "Where the built guest kernels are: hello.elf is the image mutated and debugged (default: ${DEFAULT-VALUE}).")
    Path guests;

    @Option(names = "--keep", paramLabel = "DIR", defaultValue = "fuzz-failures",
            description = "Where the images of failed cases are kept, and the one running (KIND-SEED-running.img, "
                    + "left behind if the JVM dies) (default: ${DEFAULT-VALUE}).")
    Path keep;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        var err = spec.commandLine().getErr();
        if (count < 1 || timeout < 1 || maxInstructions < 1) {
            err.println("pml4: --count, --timeout and --max-insns must be at least 1");
            return Main.EXIT_USAGE;
        }
        Path hello = guests.resolve("hello.elf");
        if (!Files.isRegularFile(hello)) {
            err.println("pml4: " + hello + ": not found; build the guest kernels first (make guests)");
            return Main.EXIT_USAGE;
        }
        PrintStream out = System.out;
        FuzzTally tally;
        try (Watchdog watchdog = new Watchdog(timeout, System.err)) {
            tally = switch (what) {
                case "images" -> new ImageFuzzer(ImageFuzzer.Kind.IMAGES, seed, maxInstructions, Files.readAllBytes(hello), keep, watchdog).run(from, count);
                case "elf" -> new ImageFuzzer(ImageFuzzer.Kind.ELF, seed, maxInstructions, Files.readAllBytes(hello), keep, watchdog).run(from, count);
                case "gdb" -> new GdbFuzzer(seed, hello, watchdog).run(count);
                default -> null;
            };
        }
        if (tally == null) {
            err.println("pml4: fuzz " + what + ": WHAT is images, elf or gdb");
            return Main.EXIT_USAGE;
        }
        tally.print(out);
        return tally.failures().isEmpty() ? 0 : 1;
    }
}
