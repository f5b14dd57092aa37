package dev.pml4.machine;

/** Number formatting shared by the loader's messages, so they all read the same way. */
final class Messages {
    private Messages() {
    }

    /** Unsigned lower-case hex with a 0x prefix, as the tracer and readelf print addresses. */
    static String hex(long value) {
        return "0x" + Long.toHexString(value);
    }

    /** A half-open range [start, start + length) as "0x100000..0x102000". */
    static String range(long start, long length) {
        return hex(start) + ".." + hex(start + length);
    }

    /** A byte count for people: "64 MiB", "1.5 KiB", "12 bytes". */
    static String size(long bytes) {
        if (bytes < 0) {
            return Long.toUnsignedString(bytes) + " bytes";
        }
        String[] units = {"bytes", "KiB", "MiB", "GiB", "TiB"};
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        if (unit == 0) {
            return bytes + (bytes == 1 ? " byte" : " bytes");
        }
        return (value == Math.rint(value) ? String.valueOf((long) value) : String.format(java.util.Locale.ROOT, "%.1f", value))
                + " " + units[unit];
    }
}
