package dev.pml4.grade;

/**
 * How many times something must happen: exactly {@code n}, or at least {@code n} ("≥N", also
 * written ">=N").
 */
record Count(long n, boolean atLeast) {
    static final Count AT_LEAST_ONE = new Count(1, true);

    static Count parse(String text) {
        String t = text.strip();
        boolean atLeast = false;
        if (t.startsWith("≥")) {
            atLeast = true;
            t = t.substring(1);
        } else if (t.startsWith(">=")) {
            atLeast = true;
            t = t.substring(2);
        } else if (t.startsWith("==")) {
            t = t.substring(2);
        } else if (t.startsWith("=")) {
            t = t.substring(1);
        }
        try {
            long n = Long.parseLong(t.strip());
            if (n < 0) {
                throw new NumberFormatException();
            }
            return new Count(n, atLeast);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a count: write N (exactly), \"≥N\" or \">=N\" (at least)");
        }
    }

    boolean accepts(long seen) {
        return atLeast ? seen >= n : seen == n;
    }

    @Override
    public String toString() {
        return (atLeast ? "≥" : "") + n;
    }
}
