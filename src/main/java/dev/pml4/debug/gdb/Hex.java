package dev.pml4.debug.gdb;

import java.nio.charset.StandardCharsets;

/** The hex encodings of the remote serial protocol, strict on input: anything odd is malformed. */
final class Hex {
    private static final char[] DIGITS = "0123456789abcdef".toCharArray();

    private Hex() {
    }

    /** 0..15 for a hex digit of either case, -1 for anything else. */
    static int digit(int c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    static String encode(byte[] bytes, int offset, int length) {
        StringBuilder sb = new StringBuilder(length * 2);
        for (int i = offset; i < offset + length; i++) {
            sb.append(DIGITS[(bytes[i] >> 4) & 0xf]).append(DIGITS[bytes[i] & 0xf]);
        }
        return sb.toString();
    }

    static String encode(byte[] bytes) {
        return encode(bytes, 0, bytes.length);
    }

    static String encodeText(String text) {
        return encode(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Pairs of hex digits to bytes. */
    static byte[] decode(CharSequence hex) throws MalformedPacketException {
        if (hex.length() % 2 != 0) {
            throw new MalformedPacketException("odd number of hex digits");
        }
        byte[] out = new byte[hex.length() / 2];
        for (int i = 0; i < out.length; i++) {
            int hi = digit(hex.charAt(2 * i));
            int lo = digit(hex.charAt(2 * i + 1));
            if (hi < 0 || lo < 0) {
                throw new MalformedPacketException("not a hex digit");
            }
            out[i] = (byte) (hi << 4 | lo);
        }
        return out;
    }

    /** An unsigned number of 1 to 16 hex digits, no prefix, no sign: an address, a register number. */
    static long parseUnsigned(CharSequence hex) throws MalformedPacketException {
        if (hex.isEmpty() || hex.length() > 16) {
            throw new MalformedPacketException("expected 1 to 16 hex digits, got " + hex.length());
        }
        long value = 0;
        for (int i = 0; i < hex.length(); i++) {
            int d = digit(hex.charAt(i));
            if (d < 0) {
                throw new MalformedPacketException("not a hex digit");
            }
            value = value << 4 | d;
        }
        return value;
    }

    /** A hex number that must lie in {@code [0, max]}. */
    static int parseBounded(CharSequence hex, int max) throws MalformedPacketException {
        long v = parseUnsigned(hex);
        if (v < 0 || v > max) {
            throw new MalformedPacketException("0x" + Long.toHexString(v) + " is larger than 0x" + Integer.toHexString(max));
        }
        return (int) v;
    }

    /** {@code bytes} bytes of {@code value}, least significant first: gdb's register encoding on x86. */
    static String littleEndian(long value, int bytes) {
        StringBuilder sb = new StringBuilder(bytes * 2);
        for (int i = 0; i < bytes; i++) {
            int b = i < 8 ? (int) (value >>> (8 * i)) & 0xff : 0;
            sb.append(DIGITS[b >> 4]).append(DIGITS[b & 0xf]);
        }
        return sb.toString();
    }

    /** The inverse of {@link #littleEndian}: {@code hex} holds exactly {@code bytes} bytes. */
    static long parseLittleEndian(CharSequence hex, int bytes) throws MalformedPacketException {
        if (hex.length() != bytes * 2) {
            throw new MalformedPacketException("a " + bytes + "-byte register needs " + bytes * 2 + " hex digits, got " + hex.length());
        }
        byte[] raw = decode(hex);
        long value = 0;
        for (int i = Math.min(bytes, 8) - 1; i >= 0; i--) {
            value = value << 8 | (raw[i] & 0xff);
        }
        return value;
    }
}
