package dev.pml4.devices;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * Bytes the UART receives. Determinism (the same guest gives the same run) decides the rule for
 * input given as such ({@code --serial-in}): it is read as a stream, and when the guest asks
 * whether a byte has arrived the answer is found by reading ahead, blocking if need be, so a byte
 * always arrives at the same instruction however slowly the writer writes. Interactive input (the
 * default: standard input) is polled without blocking, since a person typing is not repeatable
 * anyway, and a polling driver must not hang on an idle pipe when it only reads LSR to transmit.
 */
public final class SerialInput {
    private final InputStream in;
    private final boolean interactive;
    private int lookahead = -1;
    private boolean ended;

    public SerialInput(InputStream in, boolean interactive) {
        this.in = in;
        this.interactive = interactive;
    }

    public static SerialInput none() {
        return new SerialInput(InputStream.nullInputStream(), false);
    }

    /** True when a byte is waiting (LSR.DR). */
    public boolean ready() {
        if (lookahead >= 0) {
            return true;
        }
        if (ended) {
            return false;
        }
        try {
            if (interactive && in.available() <= 0) {
                return false;
            }
            int b = in.read();
            if (b < 0) {
                ended = true;
                return false;
            }
            lookahead = b;
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException("reading serial input", e);
        }
    }

    /** Takes the waiting byte, or 0 when there is none (RBR of an empty receiver). */
    public int take() {
        if (!ready()) {
            return 0;
        }
        int b = lookahead;
        lookahead = -1;
        return b;
    }
}
