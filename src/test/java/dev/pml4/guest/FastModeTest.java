package dev.pml4.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pml4.cpu.ExecutionMode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Fast mode gives precise mode's architectural results on every guest in guest/ (issue 12): the
 * serial transcript, the exit status, the instruction count (virtual time, so timer interrupts
 * land on the same instruction), the same end of the run, and the same page walks and TLB statistics.
 */
class FastModeTest {
    static java.util.List<String> guests() {
        return GuestKernelsTest.guests();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("guests")
    void runsLikePreciseMode(String name) throws java.io.IOException {
        Guests.Outcome precise = Guests.run(name, ExecutionMode.PRECISE);
        Guests.Outcome fast = Guests.run(name, ExecutionMode.FAST);
        assertTrue(precise.fastMode().isEmpty(), () -> name + ": the precise run used fast mode");
        // Multiboot kernels enter in 32-bit protected mode, where fast mode does not start (it scans 64-bit code).
        boolean entersIn32BitCode = java.nio.file.Files.readString(Guests.sourceDir().resolve(name + ".asm"))
                .toLowerCase(java.util.Locale.ROOT).contains("multiboot");
        assertEquals(!entersIn32BitCode, fast.fastMode().isPresent(),
                () -> name + ": fast mode used: " + fast.fastMode() + " (is target/libpml4fast.so built? run make)");
        assertEquals(precise.transcript(), fast.transcript(), () -> name + ": serial transcript");
        assertEquals(precise.status(), fast.status(), () -> name + ": exit status; fast: " + fast.result().reason().describe());
        assertEquals(precise.result().instructions(), fast.result().instructions(), () -> name + ": instruction count");
        assertEquals(precise.result().reason().describe(), fast.result().reason().describe(), () -> name + ": how the run ended");
        // The TLB model sees the same misses, walks, fills and flushes: fast mode changes who runs
        // the instructions, not what the MMU does.
        assertEquals(precise.statistics(), fast.statistics(), () -> name + ": page walks, faults and TLB statistics");
    }

    /**
     * pml4 run's default: the first 50,000 instructions run precisely (start-up), then fast mode
     * takes over between two engine runs, its hooks replacing precise mode's and every translated
     * block dropped. The compute kernel's first 2 M instructions end alike in both modes.
     */
    @org.junit.jupiter.api.Test
    void fastModeTakesOverAfterThePreciseStart() {
        java.util.function.UnaryOperator<dev.pml4.machine.Machine.Config> limit = c -> c.withInstructionLimit(2_000_000);
        Guests.Outcome precise = Guests.run("compute", limit, ExecutionMode.PRECISE, 0);
        Guests.Outcome fast = Guests.run("compute", limit, ExecutionMode.FAST, 50_000);
        assertTrue(fast.fastMode().isPresent(), "fast mode took over");
        assertEquals(precise.transcript(), fast.transcript());
        assertEquals(precise.status(), fast.status());
        assertEquals(precise.result().instructions(), fast.result().instructions());
        assertEquals(precise.result().reason().describe(), fast.result().reason().describe());
        assertEquals(precise.statistics(), fast.statistics());
    }

    /**
     * On a libunicorn whose internal layout is not the one the native helper reads (fault
     * injection: -Dpml4.fast.failLayoutCheck makes the check fail), the run goes on in precise
     * mode with a warning, and the same results.
     */
    @org.junit.jupiter.api.Test
    void anotherLibraryLayoutRunsPrecisely() {
        Guests.Outcome fast;
        System.setProperty("pml4.fast.failLayoutCheck", "true");
        try {
            fast = Guests.run("hello", ExecutionMode.FAST);
        } finally {
            System.clearProperty("pml4.fast.failLayoutCheck");
        }
        assertTrue(fast.fastMode().isEmpty(), "fast mode did not start");
        assertTrue(fast.warnings().stream().anyMatch(w -> w.startsWith("fast mode is off, running precisely: this libunicorn's internal layout")),
                () -> fast.warnings().toString());
        Guests.Outcome precise = Guests.run("hello", ExecutionMode.PRECISE);
        assertEquals(precise.transcript(), fast.transcript());
        assertEquals(precise.result().instructions(), fast.result().instructions());
    }
}
