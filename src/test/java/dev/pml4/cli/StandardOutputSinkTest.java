package dev.pml4.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.pml4.guest.Guests;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The guest's serial output on standard output when the reader goes away ({@code | head}). */
class StandardOutputSinkTest {
    /** A stream that accepts {@code accepted} bytes, then fails every write as {@code failure} says. */
    private static final class FailingStream extends OutputStream {
        final ByteArrayOutputStream written = new ByteArrayOutputStream();
        final int accepted;
        final String failure;
        int attemptsAfterFailure;

        FailingStream(int accepted, String failure) {
            this.accepted = accepted;
            this.failure = failure;
        }

        @Override
        public void write(int b) throws IOException {
            if (written.size() >= accepted) {
                attemptsAfterFailure++;
                throw new IOException(failure);
            }
            written.write(b);
        }
    }

    @Test
    void aBrokenPipeDropsLaterOutputSilently() {
        FailingStream out = new FailingStream(3, "Broken pipe");
        StringWriter err = new StringWriter();
        StandardOutputSink sink = new StandardOutputSink(out, new PrintWriter(err));
        sink.write("hello".getBytes(StandardCharsets.US_ASCII), 0, 5);
        sink.write('!');
        sink.flush();
        sink.close();
        assertEquals("hel", out.written.toString(StandardCharsets.US_ASCII));
        assertTrue(sink.readerGone());
        assertEquals(1, out.attemptsAfterFailure, "after the first failure nothing more is written");
        assertEquals("", err.toString(), "a reader that left is not an error");
    }

    @Test
    void anotherWriteErrorIsToldOnce() {
        FailingStream out = new FailingStream(0, "No space left on device");
        StringWriter err = new StringWriter();
        StandardOutputSink sink = new StandardOutputSink(out, new PrintWriter(err));
        sink.write('a');
        sink.write('b');
        assertEquals("pml4: warning: standard output: No space left on device; the guest's later serial output is dropped"
                + System.lineSeparator(), err.toString());
    }

    /**
     * End to end, in a JVM of its own: the pipe's reader closes before the guest prints. The run
     * still ends with the guest's own exit status (hello writes 0 to the debug-exit port: status 1),
     * as with QEMU's {@code -serial stdio}, and standard error stays empty.
     */
    @Test
    void pml4RunIntoAClosedPipeEndsWithTheGuestsStatus() throws Exception {
        Path elf = Guests.buildDir().resolve("hello.elf");
        int expected = Integer.parseInt(Files.readString(elf.resolveSibling("../hello.expected-status").normalize()).strip());
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "run", elf.toString()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        p.getInputStream().close(); // the reader leaves at once, like head -0
        String stderr = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "pml4 run did not end");
        assertEquals(expected, p.exitValue(), stderr);
        assertEquals("", stderr);
    }
}
