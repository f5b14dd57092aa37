package dev.pml4.cli;

import dev.pml4.cpu.CpuModel;
import picocli.CommandLine;

/** Converters for sizes ("64M", "1G", "65536") and addresses ("0x100000"). */
final class Sizes {
    private Sizes() {
    }

    static final class Size implements CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            String v = withoutByteSuffix(value.trim().toUpperCase());
            long unit = 1;
            if (!v.isEmpty()) {
                switch (v.charAt(v.length() - 1)) {
                    case 'K' -> unit = 1L << 10;
                    case 'M' -> unit = 1L << 20;
                    case 'G' -> unit = 1L << 30;
                    default -> unit = 1;
                }
            }
            String digits = unit == 1 ? v : v.substring(0, v.length() - 1);
            try {
                long n = Long.decode(digits);
                if (n <= 0) {
                    throw new CommandLine.TypeConversionException("'" + value + "' is not a positive size");
                }
                return Math.multiplyExact(n, unit);
            } catch (ArithmeticException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is too large: more than 2^63 bytes");
            } catch (NumberFormatException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a size (examples: 64M, 1G, 16777216)");
            }
        }

        /**
         * "64MiB", "64MB" -> "64M"; "4096B" -> "4096". Only a suffix is dropped, and a B only where it
         * cannot be a hex digit: removing every B would turn 0x1B00000 into 0x100000.
         */
        private static String withoutByteSuffix(String v) {
            if (v.length() >= 3 && v.endsWith("IB") && "KMG".indexOf(v.charAt(v.length() - 3)) >= 0) {
                return v.substring(0, v.length() - 2);
            }
            if (v.endsWith("B") && (v.length() >= 2 && "KMG".indexOf(v.charAt(v.length() - 2)) >= 0
                    || !v.startsWith("0X") && !v.startsWith("#"))) {
                return v.substring(0, v.length() - 1);
            }
            return v;
        }
    }

    /**
     * A RAM size: a {@link Size} that is a whole number of 4 KiB pages (the granule RAM is mapped
     * in) and fits the modelled CPU's physical address space.
     */
    static final class Ram implements CommandLine.ITypeConverter<Long> {
        static final long MAX = 1L << CpuModel.MAX_PHYS_ADDR;

        @Override
        public Long convert(String value) {
            long bytes = new Size().convert(value);
            if (bytes % 4096 != 0) {
                String inBytes = value.trim().equals(String.valueOf(bytes)) ? "" : " (" + bytes + " bytes)";
                throw new CommandLine.TypeConversionException("'" + value + "'" + inBytes
                        + " is not a multiple of 4 KiB (4096 bytes)");
            }
            if (bytes > MAX) {
                throw new CommandLine.TypeConversionException("'" + value + "' is more than the "
                        + CpuModel.MAX_PHYS_ADDR + "-bit physical address space of the modelled CPU (at most 1024G)");
            }
            return bytes;
        }
    }

    static final class Address implements CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            try {
                return Long.decode(value.trim().replace("_", ""));
            } catch (NumberFormatException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not an address (examples: 0x100000, 1048576)");
            }
        }
    }

    static final class Count implements CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            try {
                long n = Long.decode(value.trim().replace("_", ""));
                if (n < 0) {
                    throw new CommandLine.TypeConversionException("'" + value + "' is negative");
                }
                return n;
            } catch (NumberFormatException e) {
                // Long.decode says the same for "12x" and for twenty digits; only one is not a number.
                boolean digits = value.trim().replace("_", "").matches("\\+?[0-9]+|\\+?0[xX][0-9a-fA-F]+");
                throw new CommandLine.TypeConversionException("'" + value + "' "
                        + (digits ? "is too large (at most " + Long.MAX_VALUE + ")" : "is not a whole number"));
            }
        }
    }
}
