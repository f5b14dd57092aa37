package dev.pml4.debug.gdb;

import java.io.ByteArrayOutputStream;

/**
 * The byte-level framing of the remote serial protocol: {@code $payload#cs}, where {@code cs} is
 * the sum of the payload bytes modulo 256 in two hex digits, and the escape of binary data:
 * {@code '}'} followed by the byte XOR 0x20, for {@code '#' '$' '}' '*'}.
 */
final class Framing {
    static final byte START = '$';
    static final byte END = '#';
    static final byte ESCAPE = '}';
    static final byte RUN_LENGTH = '*';
    static final byte ACK = '+';
    static final byte NACK = '-';
    /** gdb's Ctrl-C, sent outside any packet while the target runs. */
    static final byte INTERRUPT = 0x03;

    private Framing() {
    }

    static int checksum(byte[] payload, int offset, int length) {
        int sum = 0;
        for (int i = offset; i < offset + length; i++) {
            sum += payload[i] & 0xff;
        }
        return sum & 0xff;
    }

    /** {@code $payload#cs}; the payload must already be escaped where it holds binary data. */
    static byte[] frame(byte[] payload) {
        byte[] out = new byte[payload.length + 4];
        out[0] = START;
        System.arraycopy(payload, 0, out, 1, payload.length);
        int cs = checksum(payload, 0, payload.length);
        out[payload.length + 1] = END;
        out[payload.length + 2] = (byte) Character.forDigit(cs >> 4, 16);
        out[payload.length + 3] = (byte) Character.forDigit(cs & 0xf, 16);
        return out;
    }

    static boolean needsEscape(byte b) {
        return b == START || b == END || b == ESCAPE || b == RUN_LENGTH;
    }

    /** Binary data as it may appear inside a packet. */
    static byte[] escape(byte[] data, int offset, int length) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(length + length / 8 + 1);
        for (int i = offset; i < offset + length; i++) {
            byte b = data[i];
            if (needsEscape(b)) {
                out.write(ESCAPE);
                out.write(b ^ 0x20);
            } else {
                out.write(b);
            }
        }
        return out.toByteArray();
    }

    /** The binary data that {@code payload[offset..]} encodes; a dangling escape is malformed. */
    static byte[] unescape(byte[] payload, int offset) throws MalformedPacketException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(payload.length - offset);
        for (int i = offset; i < payload.length; i++) {
            byte b = payload[i];
            if (b == ESCAPE) {
                if (++i == payload.length) {
                    throw new MalformedPacketException("the binary data ends in an escape character");
                }
                out.write(payload[i] ^ 0x20);
            } else {
                out.write(b);
            }
        }
        return out.toByteArray();
    }
}
