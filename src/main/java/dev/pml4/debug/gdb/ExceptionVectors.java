package dev.pml4.debug.gdb;

import java.util.Locale;

/**
 * Exception vectors as people name them (SDM Vol. 3A 6.3.1), and the signal gdb is told about
 * when one is caught:
 * <table>
 *   <tr><th>vector</th><th>signal</th></tr>
 *   <tr><td>#DE (0)</td><td>SIGFPE (8)</td></tr>
 *   <tr><td>#UD (6)</td><td>SIGILL (4)</td></tr>
 *   <tr><td>#GP (13), #PF (14)</td><td>SIGSEGV (11)</td></tr>
 *   <tr><td>every other vector</td><td>SIGTRAP (5)</td></tr>
 * </table>
 * Signal numbers are gdb's remote protocol numbers, which equal Linux's for these signals.
 */
final class ExceptionVectors {
    static final int SIGINT = 2;
    static final int SIGILL = 4;
    static final int SIGTRAP = 5;
    static final int SIGFPE = 8;
    static final int SIGSEGV = 11;

    /** Indexed by vector; null where the SDM reserves the vector. */
    private static final String[] NAMES = {
            "DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "CSO", "TS", "NP", "SS", "GP", "PF", null,
            "MF", "AC", "MC", "XM", "VE", "CP", null, null, null, null, null, null, "HV", "VC", "SX", null};

    private ExceptionVectors() {
    }

    static int signal(int vector) {
        return switch (vector) {
            case 0 -> SIGFPE;
            case 6 -> SIGILL;
            case 13, 14 -> SIGSEGV;
            default -> SIGTRAP;
        };
    }

    /** {@code #PF (14)}, or {@code vector 22} for one without a name. */
    static String describe(int vector) {
        if (vector >= 0 && vector < NAMES.length && NAMES[vector] != null) {
            String name = NAMES[vector];
            return (name.equals("NMI") ? "NMI" : "#" + name) + " (" + vector + ")";
        }
        return "vector " + vector;
    }

    /**
     * A vector 0..31 from {@code 14}, {@code 0xe}, {@code pf} or {@code #PF}.
     *
     * @return -1 if the text names none
     */
    static int parse(String text) {
        String t = text.trim().toUpperCase(Locale.ROOT);
        if (t.startsWith("#")) {
            t = t.substring(1);
        }
        for (int v = 0; v < NAMES.length; v++) {
            if (t.equals(NAMES[v])) {
                return v;
            }
        }
        try {
            int v = t.startsWith("0X") ? Integer.parseInt(t.substring(2), 16) : Integer.parseInt(t);
            return v >= 0 && v < 32 ? v : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
