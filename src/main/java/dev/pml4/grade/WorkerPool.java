package dev.pml4.grade;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Runs tests on long-lived worker JVMs ({@link GradeWorker}), one test at a time each. A worker
 * that dies (a guest crashed the engine in native code) or gives no answer within the time-out
 * (the engine hung) fails the test it was running, with the reason and the last lines of its
 * standard error; a fresh worker takes its place and the other tests go on.
 */
final class WorkerPool {
    /** One test of one kernel. */
    record Job(int id, Path spec, LabSpec.TestCase test, Path kernel) {
    }

    /**
     * How long a worker may take to start (a JVM on a loaded machine): the per-test time-out counts
     * from a worker that is ready, so that start-up never eats a test's time.
     */
    private static final Duration START_UP = Duration.ofMinutes(2);
    /** Lines of a worker's standard error kept to explain its death. */
    private static final int STDERR_LINES = 12;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final int workers;
    private final Duration timeout;

    WorkerPool(int workers, Duration timeout) {
        this.workers = workers;
        this.timeout = timeout;
    }

    /** Runs every job; {@code done} hears each result as it comes, from the pool's threads. */
    void run(List<Job> jobs, java.util.function.BiConsumer<Job, TestResult> done) throws InterruptedException {
        ConcurrentLinkedQueue<Job> queue = new ConcurrentLinkedQueue<>(jobs);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < Math.min(workers, jobs.size()); i++) {
            threads.add(Thread.ofPlatform().name("pml4-grade-" + i).start(() -> {
                Worker worker = null;
                try {
                    for (Job job; (job = queue.poll()) != null; ) {
                        if (worker == null) {
                            try {
                                worker = Worker.start();
                            } catch (UncheckedIOException e) {
                                done.accept(job, TestResult.error(job.test().number(), job.test().name(), job.test().points(),
                                        "internal error of pml4: " + e.getMessage() + ": " + e.getCause(), 0));
                                continue;
                            }
                        }
                        TestResult result = worker.run(job, timeout);
                        if (!worker.alive()) {
                            worker.close();
                            worker = null;
                        }
                        done.accept(job, result);
                    }
                } finally {
                    if (worker != null) {
                        worker.close();
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
    }

    /** One worker process with the threads that read its output. */
    private static final class Worker implements AutoCloseable {
        private final Process process;
        private final Writer requests;
        private final BlockingQueue<Optional<String>> answers = new LinkedBlockingQueue<>();
        private final Deque<String> stderr = new ArrayDeque<>();
        private final Thread stderrReader;
        private boolean alive = true;

        private Worker(Process process) {
            this.process = process;
            this.requests = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            Thread.ofPlatform().daemon().name("pml4-grade-out-" + process.pid()).start(() -> {
                try (BufferedReader r = process.inputReader(StandardCharsets.UTF_8)) {
                    for (String line; (line = r.readLine()) != null; ) {
                        if (line.startsWith(GradeWorker.PREFIX)) {
                            answers.add(Optional.of(line.substring(GradeWorker.PREFIX.length())));
                        } else if (line.equals(GradeWorker.READY)) {
                            answers.add(Optional.of(line));
                        }
                    }
                } catch (IOException e) {
                    // the process is gone: the empty answer below says so
                }
                answers.add(Optional.empty());
            });
            stderrReader = Thread.ofPlatform().daemon().name("pml4-grade-err-" + process.pid()).start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        synchronized (stderr) {
                            stderr.addLast(line);
                            if (stderr.size() > STDERR_LINES) {
                                stderr.removeFirst();
                            }
                        }
                    }
                } catch (IOException e) {
                    // the process is gone
                }
            });
        }

        /** A worker JVM with the flags FFM needs and this JVM's class path (the same jar, or the test class path). */
        static Worker start() {
            String java = ProcessHandle.current().info().command()
                    .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            List<String> command = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-Xss8m",
                    // A JVM crash report goes to the temporary directory, not into the student's folder.
                    "-XX:ErrorFile=" + Path.of(System.getProperty("java.io.tmpdir"), "pml4-grade-worker-%p.log"),
                    "-cp", System.getProperty("java.class.path")));
            String abortOn = System.getProperty(GradeWorker.ABORT_ON);
            if (abortOn != null) {
                command.add("-D" + GradeWorker.ABORT_ON + "=" + abortOn);
            }
            command.add(GradeWorker.class.getName());
            try {
                return new Worker(new ProcessBuilder(command).start());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot start a grade worker (" + String.join(" ", command) + ")", e);
            }
        }

        boolean alive() {
            return alive;
        }

        /** Waits for the worker's first line; empty when it died or did not start in time. */
        private Optional<String> ready() {
            try {
                Optional<String> first = answers.poll(START_UP.toMillis(), TimeUnit.MILLISECONDS);
                return first != null && first.isPresent() && first.get().equals(GradeWorker.READY) ? first : Optional.empty();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.empty();
            }
        }

        private boolean started;

        TestResult run(Job job, Duration timeout) {
            if (!started) {
                if (ready().isEmpty()) {
                    alive = false;
                    process.destroyForcibly();
                    return TestResult.error(job.test().number(), job.test().name(), job.test().points(),
                            "internal error of pml4: a grade worker did not start: " + death() + lastWords(), 0);
                }
                started = true;
            }
            long start = System.nanoTime();
            ObjectNode request = JSON.createObjectNode();
            request.put("spec", job.spec().toString());
            request.put("test", job.test().number());
            request.put("kernel", job.kernel() != null ? job.kernel().toString() : null);
            try {
                requests.write(request.toString() + "\n");
                requests.flush();
            } catch (IOException e) {
                // it died before the request: the answer queue says how
            }
            Optional<String> answer;
            try {
                answer = timeout.isZero() ? answers.take() : answers.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                answer = null;
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            if (answer == null) {
                alive = false;
                process.destroyForcibly();
                return TestResult.error(job.test().number(), job.test().name(), job.test().points(), String.format(
                        "no verdict after %d s: the engine hung, or the guest needs a larger --timeout; the worker was killed%s",
                        timeout.toSeconds(), lastWords()), seconds);
            }
            if (answer.isEmpty()) {
                alive = false;
                return TestResult.error(job.test().number(), job.test().name(), job.test().points(),
                        "the emulator crashed while running this test: " + death() + lastWords(), seconds);
            }
            try {
                return JSON.readValue(answer.get(), TestResult.class);
            } catch (IOException e) {
                return TestResult.error(job.test().number(), job.test().name(), job.test().points(),
                        "internal error of pml4: the worker's answer is not a result (" + e.getMessage() + ")", seconds);
            }
        }

        /** How the process ended: its exit status, or the signal that killed it (a JVM reports 128 + signal). */
        private String death() {
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    return "the worker closed its output and was killed";
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            int status = process.exitValue();
            if (status > 128 && status < 128 + 65) {
                int signal = status - 128;
                return String.format("the worker process was killed by signal %d (%s)", signal, signalName(signal));
            }
            return "the worker process exited with status " + status;
        }

        private static String signalName(int signal) {
            return switch (signal) {
                case 4 -> "SIGILL";
                case 6 -> "SIGABRT: the engine aborted";
                case 7 -> "SIGBUS";
                case 8 -> "SIGFPE";
                case 9 -> "SIGKILL";
                case 11 -> "SIGSEGV";
                case 15 -> "SIGTERM";
                default -> "signal " + signal;
            };
        }

        private String lastWords() {
            try {
                stderrReader.join(2000); // the process is gone: its standard error ends
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            synchronized (stderr) {
                if (stderr.isEmpty()) {
                    return "";
                }
                return "; its last words on standard error:\n  | " + String.join("\n  | ", stderr);
            }
        }

        @Override
        public void close() {
            try {
                requests.close(); // end of input: the worker's loop ends and it exits
            } catch (IOException e) {
                // already gone
            }
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
