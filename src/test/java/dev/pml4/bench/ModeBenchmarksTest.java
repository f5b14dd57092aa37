package dev.pml4.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The 32-bit and mode-switch benchmarks run what they say (their speed is printed by pml4 bench, never asserted). */
class ModeBenchmarksTest {
    @Test
    void compute32RunsTenInstructionsAnIteration() {
        var run = Benchmarks.compute32(1000);
        assertEquals(0, run.exitStatus());
        assertEquals(5 + 10 * 1000 + 1, run.instructions(), "set-up, the loop, HLT");
    }

    @Test
    void modeSwitchesRunFourInstructionsARoundTrip() {
        var run = Benchmarks.modeSwitches(100);
        assertEquals(0, run.exitStatus());
        assertEquals(1 + 4 * 100 + 1, run.instructions(), "MOV, then CALL far, RETF, DEC, JNZ, then HLT");
    }
}
