package dev.pml4.fuzz;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** What a fuzzing run saw: how many cases ended how, and the cases that broke a rule. */
public final class FuzzTally {
    private final String what;
    private final Map<String, Integer> histogram = new TreeMap<>();
    private final List<String> failures = new ArrayList<>();
    private final long startedNanos = System.nanoTime();
    private int runs;

    FuzzTally(String what) {
        this.what = what;
    }

    void count(String outcome) {
        runs++;
        histogram.merge(outcome, 1, Integer::sum);
    }

    void fail(String outcome, String detail) {
        count(outcome);
        failures.add(detail);
    }

    public int runs() {
        return runs;
    }

    public Map<String, Integer> histogram() {
        return histogram;
    }

    /** Cases that ended in status 8, an exception, a hang or an undocumented status. */
    public List<String> failures() {
        return failures;
    }

    public void print(PrintStream out) {
        double seconds = (System.nanoTime() - startedNanos) / 1e9;
        out.printf("pml4 fuzz %s: %,d runs in %.1f s, %d broke a rule%n", what, runs, seconds, failures.size());
        histogram.forEach((k, v) -> out.printf("  %-28s %,7d%n", k, v));
        failures.forEach(f -> out.println("  FAILED " + f));
    }
}
