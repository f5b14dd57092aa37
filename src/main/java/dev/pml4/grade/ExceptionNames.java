package dev.pml4.grade;

import java.util.Locale;

/** Exception vectors by mnemonic (SDM Vol. 3A 6.3.1, Table 6-1), so a spec may say vector = "#PF". */
final class ExceptionNames {
    private static final String[] NAMES = {"DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "", "TS", "NP",
            "SS", "GP", "PF", "", "MF", "AC", "MC", "XM", "VE", "CP"};

    private ExceptionNames() {
    }

    static String name(int vector) {
        return vector < NAMES.length && !NAMES[vector].isEmpty()
                ? (vector == 2 ? "NMI" : "#" + NAMES[vector]) : "vector " + vector;
    }

    /** The vector of "#PF", "PF", "pf"; -1 when there is no such name. */
    static int vector(String name) {
        String n = name.strip().toUpperCase(Locale.ROOT);
        if (n.startsWith("#")) {
            n = n.substring(1);
        }
        for (int v = 0; v < NAMES.length; v++) {
            if (!NAMES[v].isEmpty() && NAMES[v].equals(n)) {
                return v;
            }
        }
        return -1;
    }
}
