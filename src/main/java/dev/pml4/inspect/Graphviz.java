package dev.pml4.inspect;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Renders a DOT graph with Graphviz's {@code dot} program, when it is installed (make installs it). */
public final class Graphviz {
    private Graphviz() {
    }

    /**
     * Writes {@code dot} rendered as {@code format} ("svg", "png") to {@code out}.
     *
     * @throws IOException naming what went wrong: dot missing, dot failing, the file not written
     */
    public static void render(String dot, String format, Path out) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder("dot", "-T" + format, "-o", out.toString())
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("cannot run Graphviz's 'dot' (install graphviz; make does): " + e.getMessage(), e);
        }
        try (var in = p.getOutputStream()) {
            in.write(dot.getBytes(StandardCharsets.UTF_8));
        }
        String messages = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("Graphviz's 'dot' did not finish within 60 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while 'dot' ran", e);
        }
        if (p.exitValue() != 0) {
            throw new IOException("Graphviz's 'dot' failed (status " + p.exitValue() + ")" + (messages.isEmpty() ? "" : ": " + messages));
        }
    }
}
