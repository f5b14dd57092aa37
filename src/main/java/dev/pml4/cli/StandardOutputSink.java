package dev.pml4.cli;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;

/**
 * The process's standard output as the serial port's sink. It is flushed but never closed, and
 * once nobody reads it any more ({@code pml4 run k.elf | head -3}: the write fails with a broken
 * pipe) the bytes the guest transmits after that are dropped and the run goes on, as QEMU's
 * {@code -serial stdio} does. The guest then ends the way it always does, so its exit status stays
 * the guest's own and does not depend on when the reader left. Any other write error (a full disk
 * behind a redirection) is told once on standard error, then treated the same way.
 */
final class StandardOutputSink extends OutputStream {
    private final OutputStream out;
    private final PrintWriter err;
    private boolean readerGone;

    StandardOutputSink(PrintWriter err) {
        this(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out)), err);
    }

    StandardOutputSink(OutputStream out, PrintWriter err) {
        this.out = out;
        this.err = err;
    }

    /** Whether a write failed, so that the guest's later output went nowhere. */
    boolean readerGone() {
        return readerGone;
    }

    @Override
    public void write(int b) {
        if (!readerGone) {
            try {
                out.write(b);
            } catch (IOException e) {
                gone(e);
            }
        }
    }

    @Override
    public void write(byte[] b, int off, int len) {
        if (!readerGone) {
            try {
                out.write(b, off, len);
            } catch (IOException e) {
                gone(e);
            }
        }
    }

    @Override
    public void flush() {
        if (!readerGone) {
            try {
                out.flush();
            } catch (IOException e) {
                gone(e);
            }
        }
    }

    /** Flushes only: the process's standard output outlives the run. */
    @Override
    public void close() {
        flush();
    }

    private void gone(IOException e) {
        readerGone = true;
        if (!isBrokenPipe(e)) {
            err.println("pml4: warning: standard output: " + e.getMessage() + "; the guest's later serial output is dropped");
            err.flush();
        }
    }

    /** EPIPE: the reader closed its end. The JDK reports it only as this message. */
    private static boolean isBrokenPipe(IOException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().contains("Broken pipe")) {
                return true;
            }
        }
        return false;
    }
}
