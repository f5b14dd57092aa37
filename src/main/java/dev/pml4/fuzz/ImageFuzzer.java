package dev.pml4.fuzz;

import dev.pml4.machine.ImageRejectedException;
import dev.pml4.machine.KernelImage;
import dev.pml4.machine.KernelImages;
import dev.pml4.machine.Machine;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.Random;

/**
 * Boots many generated kernel images, each in a fresh machine in this JVM, exactly as {@code pml4
 * run} would (status 2 for a refused image), and tallies how each run ended. A run breaks the rules
 * when it ends in status 8 (pml4's own bug), throws, or ends in a status the README does not list;
 * a JVM crash or a hang ends the whole command (a watchdog halts it and names the case).
 */
public final class ImageFuzzer {
    /** What the images are. */
    public enum Kind { IMAGES, ELF }

    private final Kind kind;
    private final long seed;
    private final long instructionLimit;
    private final ImageMutator mutator;
    private final Path failures;
    private final Watchdog watchdog;

    /**
     * @param elf64    a good ELF64 kernel that the ELF kind mutates
     * @param failures where to keep the images of failed cases
     */
    public ImageFuzzer(Kind kind, long seed, long instructionLimit, byte[] elf64, Path failures, Watchdog watchdog) {
        this.kind = kind;
        this.seed = seed;
        this.instructionLimit = instructionLimit;
        this.mutator = new ImageMutator(elf64);
        this.failures = failures;
        this.watchdog = watchdog;
    }

    /** The image of case {@code i}: the same for the same seed on every run. */
    byte[] image(long i) {
        Random r = new Random(seed * 0x9E3779B97F4A7C15L + i);
        if (kind == Kind.IMAGES) {
            return ImageMutator.random(r);
        }
        ImageMutator.Shape[] shapes = ImageMutator.Shape.values();
        return mutator.mutated(shapes[(int) (i % shapes.length)], r);
    }

    /** Runs cases {@code from} to {@code from + count - 1}. */
    public FuzzTally run(long from, long count) throws IOException {
        FuzzTally tally = new FuzzTally(kind.name().toLowerCase() + " (seed " + seed + ")");
        Files.createDirectories(failures);
        // The case running now: what is left behind if the JVM itself dies.
        Path file = failures.resolve(kind.name().toLowerCase() + "-" + seed + "-running.img");
        try {
            for (long i = from; i < from + count; i++) {
                byte[] image = image(i);
                Files.write(file, image);
                String name = "case " + i + " (seed " + seed + ")";
                watchdog.start(name);
                String outcome;
                String problem = null;
                try {
                    int status = boot(file);
                    outcome = "status " + status;
                    if (!documented(status)) {
                        problem = name + ": status " + status;
                    }
                } catch (Throwable t) {
                    outcome = "exception";
                    StringWriter trace = new StringWriter();
                    t.printStackTrace(new PrintWriter(trace));
                    problem = name + ": " + trace;
                } finally {
                    watchdog.stop();
                }
                if (problem == null) {
                    tally.count(outcome);
                } else {
                    Files.createDirectories(failures);
                    Path kept = failures.resolve(kind.name().toLowerCase() + "-" + seed + "-" + i + ".img");
                    Files.write(kept, image);
                    tally.fail(outcome, problem + " (image kept in " + kept + ")");
                }
            }
        } finally {
            Files.deleteIfExists(file);
        }
        return tally;
    }

    /** pml4 run's exit status for the image, without its messages. */
    private int boot(Path file) {
        KernelImage kernel;
        try {
            kernel = KernelImages.read(file, OptionalLong.empty(), OptionalLong.empty());
        } catch (ImageRejectedException e) {
            return 2;
        }
        Machine.Config config = Machine.Config.defaults(OutputStream.nullOutputStream())
                .withInstructionLimit(instructionLimit).withWarnings(w -> { });
        try (Machine machine = new Machine(config)) {
            try {
                machine.boot(kernel, null);
            } catch (ImageRejectedException e) {
                return 2;
            }
            return machine.run().exitStatus();
        }
    }

    /**
     * The README's exit statuses of pml4 run: 0, 2, 4, 6, 12 (what pml4 does not model yet, named)
     * and the odd debug-exit ones; 8 is a bug, and 10 needs --check-tlb=stop, which no case uses.
     */
    static boolean documented(int status) {
        return status == 0 || status == 2 || status == 4 || status == 6 || status == 12 || (status & 1) == 1 && status < 256;
    }
}
