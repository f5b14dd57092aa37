package dev.pml4.grade;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code pml4 grade}: grades kernels against a lab spec. Exit status 0 all passed, 1 some failed, 2 a bad spec or command line. */
@Command(name = "grade", sortOptions = false,
        description = {"Grade kernels against a lab spec (TOML, one [[test]] table per test).",
                "Every test boots a fresh machine, runs it and checks its expectations:",
                "exit status, serial transcript, faults with their error codes and CR2,",
                "walks, page-table entries and the TLB at the end, TLB coherence. Tests",
                "run on --jobs worker JVMs started once; a guest that crashes the engine",
                "fails its own test only.", ""},
        footer = {"", "Exit status: 0 every test passed, 1 some test failed, 2 the spec or the", "command line is bad.", "",
                "Examples:",
                "  pml4 grade guest/labs/demand-paging/lab.toml",
                "  pml4 grade lab.toml student.elf --gradescope /autograder/results/results.json",
                "  pml4 grade lab.toml a.elf b.elf --junit report.xml --jobs 4"})
public final class GradeCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "LAB.toml", description = "The lab spec.")
    Path spec;

    @Parameters(index = "1..*", paramLabel = "KERNEL", description = {"Kernels to grade, each against every test",
            "(replacing the tests' image); without one, each", "test boots its own image."})
    List<Path> kernels = new ArrayList<>();

    @Option(names = "--junit", paramLabel = "FILE", description = {"Write JUnit XML (one testsuite per kernel)", "for CI servers."})
    Path junit;

    @Option(names = "--gradescope", paramLabel = "FILE", description = {"Write Gradescope's results.json (one KERNEL", "at most)."})
    Path gradescope;

    @Option(names = "--json", paramLabel = "FILE", description = "Write pml4's own summary as JSON.")
    Path json;

    @Option(names = "--jobs", paramLabel = "N", description = {"Worker JVMs running tests side by side", "(default: the number of cores)."})
    Integer jobs;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "600", description = {
            "Kill a worker that gives no verdict on one test for",
            "this long (default: ${DEFAULT-VALUE}; 0: never): a guard against a",
            "hung engine; the instruction limit bounds a guest."})
    long timeoutSeconds;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec commandSpec;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = commandSpec.commandLine().getOut();
        PrintWriter err = commandSpec.commandLine().getErr();
        LabSpec lab;
        try {
            lab = checkedSpec();
        } catch (SpecException e) {
            err.println("pml4: " + e.getMessage());
            err.flush();
            return 2;
        }
        List<Path> targets = kernels.isEmpty() ? java.util.Collections.singletonList(null)
                : kernels.stream().map(k -> k.toAbsolutePath().normalize()).toList();
        List<WorkerPool.Job> jobs = new ArrayList<>();
        for (Path kernel : targets) {
            for (LabSpec.TestCase t : lab.tests()) {
                jobs.add(new WorkerPool.Job(jobs.size(), lab.file(), t, kernel));
            }
        }
        TestResult[] results = new TestResult[jobs.size()];
        int[] printed = {0};
        int perKernel = lab.tests().size();
        // Lines come out in spec order as soon as the tests before them are done: the same text on every run.
        int workers = this.jobs != null ? this.jobs : Runtime.getRuntime().availableProcessors();
        new WorkerPool(workers, Duration.ofSeconds(timeoutSeconds)).run(jobs, (job, result) -> {
            synchronized (results) {
                results[job.id()] = result;
                while (printed[0] < results.length && results[printed[0]] != null) {
                    int i = printed[0]++;
                    if (i % perKernel == 0 && targets.size() > 1) {
                        out.println("kernel " + targets.get(i / perKernel));
                    }
                    out.println(Reports.line(results[i]));
                    if (i % perKernel == perKernel - 1) {
                        out.println(Reports.scoreLine(new Reports.Graded(null, java.util.Arrays.asList(results).subList(i + 1 - perKernel, i + 1))));
                    }
                    out.flush();
                }
            }
        });
        List<Reports.Graded> graded = new ArrayList<>();
        for (int k = 0; k < targets.size(); k++) {
            Path kernel = targets.get(k);
            graded.add(new Reports.Graded(kernel != null ? kernel.toString() : null,
                    List.of(results).subList(k * perKernel, (k + 1) * perKernel)));
        }
        try {
            if (gradescope != null) {
                Reports.gradescope(gradescope, graded.getFirst());
            }
            if (junit != null) {
                Reports.junit(junit, lab, graded);
            }
            if (json != null) {
                Reports.json(json, lab, graded);
            }
        } catch (IOException e) {
            err.println("pml4: " + e.getMessage());
            err.flush();
            return 2;
        }
        return graded.stream().allMatch(g -> g.passed() == g.results().size()) ? 0 : 1;
    }

    /** The spec, and the command line checked against it: everything that would make a grade meaningless is refused first. */
    private LabSpec checkedSpec() throws SpecException {
        if (!Files.isRegularFile(spec)) {
            throw new SpecException(spec + ": no such lab spec");
        }
        if (jobs != null && jobs < 1) {
            throw new SpecException("--jobs " + jobs + ": at least 1");
        }
        if (timeoutSeconds < 0) {
            throw new SpecException("--timeout " + timeoutSeconds + ": 0 (never) or more seconds");
        }
        if (gradescope != null && kernels.size() > 1) {
            throw new SpecException("--gradescope: results.json grades one submission; give one KERNEL, not " + kernels.size());
        }
        for (Path k : kernels) {
            if (!Files.isRegularFile(k)) {
                throw new SpecException(k + ": no such kernel");
            }
        }
        LabSpec lab = LabSpec.parse(spec.toAbsolutePath().normalize());
        if (kernels.isEmpty()) {
            for (LabSpec.TestCase t : lab.tests()) {
                if (t.image() == null) {
                    throw new SpecException(lab.file() + ": test[" + t.number() + "] (\"" + t.name() + "\").image: missing, and no KERNEL was given");
                }
                if (!Files.isRegularFile(t.image())) {
                    throw new SpecException(lab.file() + ": test[" + t.number() + "] (\"" + t.name() + "\").image: " + t.image() + " does not exist");
                }
            }
        }
        return lab;
    }
}
