package dev.pml4.cli;

import dev.pml4.devices.VgaText;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * {@code --display}: draws the VGA text screen in the terminal while the kernel runs, in colour,
 * as QEMU's curses display does. A thread of its own redraws it every {@link #PERIOD_MS} of wall
 * time from what the adapter shows; it only reads guest memory, so the run (serial output,
 * instruction count, trace) is the same with it or without it. The last picture is drawn when the
 * run ends, so the terminal keeps the final screen.
 */
final class TerminalDisplay implements AutoCloseable {
    static final long PERIOD_MS = 50;

    private final VgaText vga;
    private final PrintStream out;
    private final Thread thread;
    private volatile boolean running = true;
    private String last = "";

    TerminalDisplay(VgaText vga, PrintStream out) {
        this.vga = vga;
        this.out = out;
        out.print("\033[2J"); // clear once; every frame then starts at the top-left corner
        this.thread = Thread.ofPlatform().daemon().name("pml4-display").start(this::loop);
    }

    /** A display on the process's standard error (standard output carries COM1 unless --serial moves it). */
    static TerminalDisplay onStandardError(VgaText vga) {
        return new TerminalDisplay(vga, new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.err),
                false, StandardCharsets.UTF_8));
    }

    private void loop() {
        while (running) {
            draw();
            try {
                Thread.sleep(PERIOD_MS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private synchronized void draw() {
        String frame = vga.screen().ansi();
        if (!frame.equals(last)) {
            out.print(frame);
            out.flush();
            last = frame;
        }
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        draw();
    }
}
