package dev.pml4.grade;

import java.util.List;

/**
 * The verdict on one test of one kernel. A test scores all its points or none.
 *
 * @param error    the test reached no verdict: the kernel was refused, the engine crashed, or the
 *                 worker gave no answer in time (failures[0] says which)
 * @param failures every expectation that failed, first failing first, each naming its key
 * @param output   what a student reads: the failures, how the run ended, the end of the transcript
 */
record TestResult(int number, String name, double maxScore, boolean passed, boolean error, List<String> failures, String output,
                  double seconds) {
    TestResult {
        failures = List.copyOf(failures);
    }

    /** A test that reached no verdict, for {@code why}. */
    static TestResult error(int number, String name, double maxScore, String why, double seconds) {
        return new TestResult(number, name, maxScore, false, true, List.of(why), why, seconds);
    }

    double score() {
        return passed ? maxScore : 0;
    }
}
