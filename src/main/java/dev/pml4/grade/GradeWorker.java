package dev.pml4.grade;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * A worker of {@code pml4 grade}: a JVM the grader starts once and feeds tests, so that tests pay
 * no JVM start-up, while a guest that takes the engine down in native code takes down only this
 * process and the test it was running. It reads one request per line on standard input,
 * {@code {"spec": PATH, "test": N, "kernel": PATH or null}} (after it has said {@link #READY}), runs test N (1-based) of the spec on
 * a fresh machine, and answers with one line on standard output: {@link #PREFIX} and the
 * {@link TestResult} as JSON. Anything else on standard output is not an answer (native code may
 * print); standard error is the grader's to show when the worker dies.
 */
public final class GradeWorker {
    static final String PREFIX = "pml4-grade-result ";
    /** The first line a worker writes: it has started and reads requests. */
    static final String READY = "pml4-grade-ready";
    /**
     * Fault injection for the grader's own tests: a worker given {@code -Dpml4.grade.abortOn=NAME}
     * calls the C library's abort() instead of running the test of that name, and so dies by
     * SIGABRT in native code exactly as it did when a guest made Unicorn's translator abort. pml4
     * keeps every instruction form known to do that away from the engine now (issue 13), so no
     * guest is left that can show the pool surviving a worker's death.
     */
    static final String ABORT_ON = "pml4.grade.abortOn";

    private GradeWorker() {
    }

    public static void main(String[] args) throws Exception {
        ObjectMapper json = new ObjectMapper();
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
        // Nothing but answers on the protocol's stream: stray prints go to standard error.
        System.setOut(System.err);
        out.println(READY);
        out.flush();
        Map<Path, LabSpec> specs = new HashMap<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode request = json.readTree(line);
            Path specFile = Path.of(request.get("spec").asText());
            int number = request.get("test").asInt();
            Path kernel = request.hasNonNull("kernel") ? Path.of(request.get("kernel").asText()) : null;
            TestResult result;
            LabSpec spec = specs.get(specFile);
            try {
                if (spec == null) {
                    spec = LabSpec.parse(specFile);
                    specs.put(specFile, spec);
                }
                if (spec.tests().get(number - 1).name().equals(System.getProperty(ABORT_ON))) {
                    dev.pml4.ffi.libc.Abort.now();
                }
                result = TestRunner.run(spec.tests().get(number - 1), kernel);
            } catch (SpecException e) {
                result = TestResult.error(number, "test " + number, 0, e.getMessage(), 0);
            } catch (RuntimeException | Error e) {
                result = TestResult.error(number, spec != null ? spec.tests().get(number - 1).name() : "test " + number,
                        spec != null ? spec.tests().get(number - 1).points() : 0, "internal error of pml4: " + e, 0);
            }
            out.println(PREFIX + json.writeValueAsString(result));
            out.flush();
        }
    }
}
