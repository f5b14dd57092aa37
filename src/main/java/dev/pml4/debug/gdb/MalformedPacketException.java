package dev.pml4.debug.gdb;

/** A packet the stub cannot parse: bad hex, a missing field, a length out of range. Answered with E01. */
final class MalformedPacketException extends Exception {
    MalformedPacketException(String message) {
        super(message, null, false, false);
    }
}
