package dev.pml4.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The wall time of a whole {@code pml4 run} in a new process, from fork to exit, as a user's shell
 * sees it: JVM start-up, the command line, the machine and the guest (README, "Start-up").
 *
 * <p>It runs {@code bin/pml4} beside the jar when there is one, so that the figure includes the
 * launcher and the JVM flags and AOT cache a user gets; from classes (tests, an IDE) it runs the
 * same class path with {@code java}, and says so.
 */
public final class StartupTime {
    private StartupTime() {
    }

    /** Best and median of {@code runs} runs, and what was run. */
    public record Result(long bestNanos, long medianNanos, int runs, String launcher) {
    }

    /**
     * Runs {@code pml4 run --mode MODE IMAGE} {@code runs} times, output discarded.
     *
     * @throws IOException when a run cannot be started, or does not end within 60 s
     */
    public static Result measure(Path image, String mode, int runs) throws IOException, InterruptedException {
        return measure(image, mode, runs, java.util.Map.of());
    }

    /** As {@link #measure(Path, String, int)}, with {@code environment} added to each run's (JAVA_TOOL_OPTIONS, say). */
    public static Result measure(Path image, String mode, int runs, java.util.Map<String, String> environment)
            throws IOException, InterruptedException {
        Launcher launcher = launcher();
        long[] nanos = new long[runs];
        for (int i = 0; i < runs; i++) {
            List<String> command = new ArrayList<>(launcher.command());
            command.addAll(List.of("run", "--mode", mode, image.toString()));
            long start = System.nanoTime();
            ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD);
            builder.environment().putAll(environment);
            Process p = builder.start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("'pml4 run " + image + "' did not finish in 60 s");
            }
            nanos[i] = System.nanoTime() - start;
        }
        Arrays.sort(nanos);
        long median = runs % 2 == 1 ? nanos[runs / 2] : (nanos[runs / 2 - 1] + nanos[runs / 2]) / 2;
        return new Result(nanos[0], median, runs, launcher.description());
    }

    private record Launcher(List<String> command, String description) {
    }

    private static Launcher launcher() throws IOException {
        Path codeSource;
        try {
            codeSource = Path.of(StartupTime.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (java.net.URISyntaxException e) {
            throw new IOException(e);
        }
        Path target = codeSource.toAbsolutePath().getParent();
        Path script = target.resolveSibling("bin").resolve("pml4");
        if (Files.isRegularFile(codeSource) && Files.isExecutable(script)) {
            // bin/pml4's own rule for the cache: there, not empty, newer than the jar.
            Path aot = target.resolve("pml4.aot");
            boolean cached = Files.isRegularFile(aot) && Files.size(aot) > 0
                    && Files.getLastModifiedTime(aot).compareTo(Files.getLastModifiedTime(codeSource)) > 0;
            return new Launcher(List.of(script.toString()),
                    cached ? "bin/pml4, AOT cache target/pml4.aot" : "bin/pml4, no AOT cache: run 'make aot'");
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        return new Launcher(List.of(java, "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-cp",
                System.getProperty("java.class.path"), "dev.pml4.cli.Main"), "java -cp, no bin/pml4 and no AOT cache");
    }
}
