package dev.pml4.fuzz;

import java.io.PrintStream;

/**
 * Ends the process when one fuzzing case runs longer than it may: a hang is a failure that no
 * exception reports, and a case stuck in native code cannot be interrupted, only named.
 */
public final class Watchdog implements AutoCloseable {
    private final long limitNanos;
    private final PrintStream err;
    private final Thread thread;
    private volatile String current;
    private volatile long startedAt;

    public Watchdog(long limitSeconds, PrintStream err) {
        this.limitNanos = limitSeconds * 1_000_000_000L;
        this.err = err;
        this.thread = Thread.ofPlatform().daemon().name("pml4-fuzz-watchdog").start(this::watch);
    }

    void start(String name) {
        startedAt = System.nanoTime();
        current = name;
    }

    void stop() {
        current = null;
    }

    private void watch() {
        while (true) {
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                return;
            }
            String c = current;
            if (c != null && System.nanoTime() - startedAt > limitNanos) {
                err.printf("pml4 fuzz: HANG: %s ran longer than %d s%n", c, limitNanos / 1_000_000_000L);
                err.flush();
                Runtime.getRuntime().halt(1);
            }
        }
    }

    @Override
    public void close() {
        thread.interrupt();
    }
}
