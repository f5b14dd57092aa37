package dev.pml4.debug.gdb;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Splits the byte stream from gdb into {@link Frame}s. Bytes outside a packet other than
 * {@code + - 0x03} are noise and skipped; a {@code $} inside a packet starts it over (gdb does the
 * same); a payload longer than the limit is read to its end and reported as {@link Frame.Oversized}
 * without being kept, so no input can make the reader hold more than the limit.
 * Escapes are left in the payload: only the commands that carry binary data undo them.
 */
final class PacketReader {

    sealed interface Frame {
        /** A packet whose checksum matched; the payload is as sent, escapes included. */
        record Packet(byte[] payload) implements Frame {
            String text() {
                return new String(payload, java.nio.charset.StandardCharsets.ISO_8859_1);
            }

            @Override
            public boolean equals(Object o) {
                return o instanceof Packet p && Arrays.equals(payload, p.payload);
            }

            @Override
            public int hashCode() {
                return Arrays.hashCode(payload);
            }

            @Override
            public String toString() {
                return "Packet[" + text() + "]";
            }
        }

        /** A packet whose checksum did not match (or was not two hex digits). */
        record BadChecksum() implements Frame {}

        /** A packet with a good checksum but a payload longer than the limit; its bytes are gone. */
        record Oversized(long length) implements Frame {}

        record Ack() implements Frame {}

        record Nack() implements Frame {}

        /** A 0x03 byte outside a packet: gdb's Ctrl-C. */
        record Interrupt() implements Frame {}

        /** The stream ended (a partial packet is dropped). */
        record End() implements Frame {}
    }

    private final InputStream in;
    private final int maxPayload;
    private final byte[] buffer;
    private long noise;

    /** @param in a buffered stream: the reader takes one byte at a time */
    PacketReader(InputStream in, int maxPayload) {
        this.in = in;
        this.maxPayload = maxPayload;
        this.buffer = new byte[maxPayload];
    }

    /** Bytes skipped outside packets so far. */
    long noise() {
        return noise;
    }

    Frame next() throws IOException {
        int b;
        while ((b = in.read()) >= 0) {
            switch (b) {
                case Framing.START:
                    return packet();
                case Framing.ACK:
                    return new Frame.Ack();
                case Framing.NACK:
                    return new Frame.Nack();
                case Framing.INTERRUPT:
                    return new Frame.Interrupt();
                default:
                    noise++;
            }
        }
        return new Frame.End();
    }

    /** After a '$': the payload up to '#', then two checksum digits. */
    private Frame packet() throws IOException {
        long length = 0;
        int sum = 0;
        int b;
        while ((b = in.read()) >= 0) {
            if (b == Framing.START) {
                noise += length + 1;
                length = 0;
                sum = 0;
                continue;
            }
            if (b == Framing.END) {
                return trailer(length, sum);
            }
            if (length < maxPayload) {
                buffer[(int) length] = (byte) b;
            }
            length++;
            sum += b;
        }
        return new Frame.End();
    }

    private Frame trailer(long length, int sum) throws IOException {
        int hi = in.read();
        if (hi < 0) {
            return new Frame.End();
        }
        int lo = in.read();
        if (lo < 0) {
            return new Frame.End();
        }
        int h = Hex.digit(hi);
        int l = Hex.digit(lo);
        if (h < 0 || l < 0 || (h << 4 | l) != (sum & 0xff)) {
            return new Frame.BadChecksum();
        }
        if (length > maxPayload) {
            return new Frame.Oversized(length);
        }
        return new Frame.Packet(Arrays.copyOf(buffer, (int) length));
    }
}
