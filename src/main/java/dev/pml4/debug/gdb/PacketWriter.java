package dev.pml4.debug.gdb;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Sends packets and acknowledgements to gdb. Two threads write (the command loop sends replies,
 * the reader thread sends acks and retransmits on a '-'), so every write holds the lock.
 * In acknowledgement mode the last packet is kept for a retransmission; the stub does not wait
 * for gdb's '+' before going on (gdb never sends a new request before it has the reply).
 */
final class PacketWriter {
    private final OutputStream out;
    private byte[] last;
    private volatile boolean noAck;
    private int retransmissions;

    PacketWriter(OutputStream out) {
        this.out = out;
    }

    void noAckMode() {
        noAck = true;
        synchronized (this) {
            last = null;
        }
    }

    boolean isNoAckMode() {
        return noAck;
    }

    void send(String payload) throws IOException {
        sendRaw(payload.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** {@code prefix} (plain text) followed by escaped binary data. */
    void sendBinary(String prefix, byte[] data, int offset, int length) throws IOException {
        byte[] p = prefix.getBytes(StandardCharsets.ISO_8859_1);
        byte[] escaped = Framing.escape(data, offset, length);
        byte[] payload = new byte[p.length + escaped.length];
        System.arraycopy(p, 0, payload, 0, p.length);
        System.arraycopy(escaped, 0, payload, p.length, escaped.length);
        sendRaw(payload);
    }

    private synchronized void sendRaw(byte[] payload) throws IOException {
        byte[] framed = Framing.frame(payload);
        last = noAck ? null : framed;
        retransmissions = 0;
        out.write(framed);
        out.flush();
    }

    synchronized void ack() throws IOException {
        if (!noAck) {
            out.write(Framing.ACK);
            out.flush();
        }
    }

    synchronized void nack() throws IOException {
        if (!noAck) {
            out.write(Framing.NACK);
            out.flush();
        }
    }

    /**
     * gdb said '-': sends the last packet again, at most {@code limit} times in a row, so that a
     * client that answers every packet with '-' cannot keep the stub busy forever.
     *
     * @return false when there was nothing to resend or the limit was reached
     */
    synchronized boolean resend(int limit) throws IOException {
        if (last == null || retransmissions >= limit) {
            return false;
        }
        retransmissions++;
        out.write(last);
        out.flush();
        return true;
    }
}
