package dev.pml4.devices;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The PIT and the PIC together, programmed through the port bus as a kernel would, with a stand-in
 * for the CPU that uses them the way pml4's CPU is meant to: it looks at interrupts only at
 * {@code nextEventAt()} (or, in the fast-mode variant, at block boundaries), takes a vector with
 * {@code acknowledge()}, runs a handler of some length and sends the EOI.
 */
class TimerInterruptsTest {
    /** Instructions a timer handler runs before its EOI. */
    static final int HANDLER = 300;

    private final List<String> warnings = new ArrayList<>();
    private final Pic8259Pair pic = new Pic8259Pair(warnings::add);
    private final Pit8254 pit = new Pit8254(pic.line(0), warnings::add);
    private final PortBus ports = new PortBus(warnings::add);

    /** The CPU stand-in's state. */
    private long instructions;
    private boolean interruptsEnabled;
    private boolean sendEoi = true;
    private final List<Long> takenAt = new ArrayList<>();
    private final List<Integer> vectors = new ArrayList<>();

    {
        ports.attach(0x20, 0x21, pic);
        ports.attach(0xa0, 0xa1, pic);
        ports.attach(0x40, 0x43, pit);
        ports.attach(0x61, 0x61, pit);
    }

    /** One OUT instruction: it retires, and the devices see it at that moment. */
    private void out(int port, int value) {
        instructions++;
        pit.advanceTo(instructions);
        ports.out(port, 1, value);
    }

    /** The OSDev remap to 0x20/0x28, everything masked but IRQ 0, then the PIT at {@code divisor}. */
    private void boot(int pitCommand, int divisor) {
        out(0x20, 0x11);
        out(0xa0, 0x11);
        out(0x21, 0x20);
        out(0xa1, 0x28);
        out(0x21, 0x04);
        out(0xa1, 0x02);
        out(0x21, 0x01);
        out(0xa1, 0x01);
        out(0x21, 0xfe);
        out(0xa1, 0xff);
        out(0x43, pitCommand);
        out(0x40, divisor & 0xff);
        out(0x40, divisor >> 8 & 0xff);
        instructions++; // STI
        interruptsEnabled = true;
        assertTrue(warnings.isEmpty(), warnings.toString());
    }

    /** Takes every interrupt the PIC offers now, running each handler to its EOI and IRETQ. */
    private void interrupts() {
        pit.advanceTo(instructions);
        while (interruptsEnabled && pic.intr()) {
            int vector = pic.acknowledge();
            takenAt.add(instructions);
            vectors.add(vector);
            instructions += HANDLER;
            if (sendEoi) {
                out(0x20, 0x20);
            }
            instructions++; // IRETQ
            pit.advanceTo(instructions);
        }
    }

    /** Precise mode: runs to {@code end}, stopping only where the PIT says something happens. */
    private void run(long end) {
        while (true) {
            long next = Math.max(pit.nextEventAt(), instructions);
            if (next > end) {
                instructions = Math.max(instructions, end);
                interrupts();
                return;
            }
            instructions = next;
            interrupts();
        }
    }

    /** Fast mode: looks at interrupts only every {@code block} instructions. */
    private void runInBlocks(long end, int block) {
        while (instructions < end) {
            instructions = Math.min(end, instructions + block);
            interrupts();
        }
    }

    /**
     * N instructions of a kernel whose timer is programmed at pulse 0: loaded at pulse 1, the k-th
     * interrupt comes at pulse 1 + k × divisor, so there are floor((ticksAt(N) − 1) / divisor) of
     * them, each at exactly instructionsAt(1 + k × divisor).
     */
    @ParameterizedTest(name = "PIT command {0}, divisor {1}, {2} instructions")
    @CsvSource({
            "0x34, 11932, 1000000000, 99", // ≈100 Hz for one virtual second: the first comes after one period
            "0x36, 11932, 1000000000, 99",
            "0x34, 0, 1000000000, 18", // 65536: 18.2 Hz
            "0x36, 0, 1000000000, 18",
            "0x36, 1193, 1000000000, 1000", // ≈1000 Hz
            "0x34, 2, 10000000, 5965", // a period of 1676.2 instructions, a 301-instruction handler
            "0x34, 11932, 10000988, 0", // one instruction before the first
            "0x34, 11932, 10000989, 1",
    })
    void countsExactlyTheTimerInterruptsOfARun(String command, int divisor, long n, int expected) {
        boot(Integer.decode(command), divisor);
        run(n);
        int period = divisor == 0 ? 65536 : divisor;
        assertEquals(expected, (Pit8254.ticksAt(n) - 1) / period, "the table agrees with the formula");
        assertEquals(expected, takenAt.size());
        for (int k = 1; k <= takenAt.size(); k++) {
            assertEquals(Pit8254.instructionsAt(1 + (long) k * period), takenAt.get(k - 1), "interrupt " + k);
        }
        assertTrue(vectors.stream().allMatch(v -> v == 0x20), vectors.toString());
        assertEquals(0, pic.isr(), "every handler sent its EOI");
        assertTrue(warnings.isEmpty(), warnings.toString());
    }

    @ParameterizedTest(name = "PIT command {0}, blocks of {1}")
    @CsvSource({"0x34, 1000", "0x34, 10000", "0x34, 1000000", "0x36, 10000", "0x36, 1000000"})
    void fastModeCountsTheSameInterruptsAtBlockBoundaries(String command, int block) {
        boot(Integer.decode(command), 11932);
        runInBlocks(1_000_000_000, block);
        assertEquals(99, takenAt.size());
        for (int k = 1; k <= takenAt.size(); k++) {
            long edge = Pit8254.instructionsAt(1 + k * 11932L);
            long late = takenAt.get(k - 1) - edge;
            assertTrue(late >= 0 && late < block, "interrupt " + k + " taken " + late + " instructions after its edge");
        }
    }

    @Test
    void withInterruptsOffTheTicksCoalesceIntoOne() {
        boot(0x34, 11932);
        run(200_000_000);
        int before = takenAt.size();
        interruptsEnabled = false;
        run(500_000_000); // CLI for 0.3 virtual seconds: about 30 edges, one IRR bit
        assertEquals(before, takenAt.size());
        interruptsEnabled = true;
        interrupts();
        assertEquals(before + 1, takenAt.size(), "one interrupt at STI for all the edges missed");
        assertEquals(500_000_000L, takenAt.get(before));
        run(1_000_000_000);
        long afterSti = (Pit8254.ticksAt(1_000_000_000) - 1) / 11932 - (Pit8254.ticksAt(500_000_000) - 1) / 11932;
        assertEquals(before + 1 + afterSti, takenAt.size());
        assertEquals((Pit8254.ticksAt(200_000_000) - 1) / 11932, before);
    }

    @Test
    void aKernelThatForgetsTheEoiGetsOneTimerInterrupt() {
        sendEoi = false;
        boot(0x36, 11932);
        run(1_000_000_000);
        assertEquals(1, takenAt.size());
        assertEquals(1, pic.isr());
        assertTrue(pic.irr() != 0 || !pit.out(0), "the next tick waits in IRR, behind IRQ 0 in service");
    }

    @Test
    void aSlaveDeviceWaitsBehindTheTimerAndFollowsItsEoi() {
        boot(0x34, 11932);
        out(0x21, 0xfa); // IRQ 0 and the cascade
        out(0xa1, 0xef); // IRQ 12
        run(Pit8254.instructionsAt(1 + 11932) - 1);
        instructions = pit.nextEventAt();
        pit.advanceTo(instructions);
        assertTrue(pic.intr());
        assertEquals(0x20, pic.acknowledge());
        pic.raise(12); // the mouse, while the timer handler runs
        assertFalse(pic.intr(), "IRQ 12 arrives at IR2, below IRQ 0 in service");
        out(0x20, 0x20);
        assertTrue(pic.intr());
        assertEquals(0x2c, pic.acknowledge());
        assertEquals(1 << 12 | 1 << 2, pic.isr());
        out(0xa0, 0x20);
        out(0x20, 0x20);
        assertEquals(0, pic.isr());
    }

    @Test
    void initialisingThePicAfterThePitStartsAtTheNextEdge() {
        out(0x43, 0x34);
        out(0x40, 11932 & 0xff);
        out(0x40, 11932 >> 8);
        instructions = 15_000_000; // between the first and the second edge; the first found the PIC uninitialised
        pit.advanceTo(instructions);
        out(0x20, 0x11);
        out(0x21, 0x20);
        out(0x21, 0x04);
        out(0x21, 0x01);
        out(0x21, 0xfe);
        interruptsEnabled = true;
        interrupts();
        assertTrue(takenAt.isEmpty(), "ICW1 reset the edge sense: IRQ 0 is high but has not risen since");
        run(Pit8254.instructionsAt(1 + 2 * 11932L));
        assertEquals(List.of(Pit8254.instructionsAt(1 + 2 * 11932L)), takenAt);
    }

    @Test
    void twoRunsTakeTheSameInterruptsAtTheSameInstructions() {
        boot(0x36, 5000);
        run(300_000_000);
        TimerInterruptsTest again = new TimerInterruptsTest();
        again.boot(0x36, 5000);
        again.run(300_000_000);
        assertEquals(takenAt, again.takenAt);
        assertEquals(Pit8254.ticksAt(300_000_000) / 5000, takenAt.size() + 0L, "≈238.6 Hz for 0.3 s");
    }
    /**
     * A CPU stand-in that looks at the PIC only every millisecond for 100 ms (interrupts off in
     * between), with a ≈1 kHz timer (mode 2, 1193), acknowledging and EOI-ing at once. Edge k is at
     * pulse 1 + 1193k, 100 of them by 100 ms, in 99 distinct milliseconds (edges 5 and 6 coalesce).
     * But 1 ms is 1193.18 pulses, so the polls at 1–5 ms land on pulses 1193k, the one pulse of
     * each period when OUT0 is low (count 1): the edge-triggered request, not yet acknowledged, has
     * gone away with the IR input (8259A data sheet, "Edge and Level Triggered Modes"), and those
     * milliseconds take nothing. Expected: polls with a rise since the last poll and OUT0 high now.
     */
    @Test
    void aMillisecondPollForAHundredMillisecondsTakesExactlyTheExpectedTimerInterrupts() {
        boot(0x34, 1193);
        assertEquals(0, Pit8254.ticksAt(instructions), "programmed within pulse 0: loaded at pulse 1");
        int expected = 0;
        int edges = 0;
        long before = 0;
        for (long t = 1_000_000; t <= 100_000_000; t += 1_000_000) {
            long ticks = Pit8254.ticksAt(t);
            long rises = (ticks - 1) / 1193 - (before - 1 < 0 ? 0 : (before - 1) / 1193);
            edges += rises;
            if (rises > 0 && ticks % 1193 != 0) {
                expected++;
            }
            before = ticks;
        }
        for (long t = 1_000_000; t <= 100_000_000; t += 1_000_000) {
            pit.advanceTo(t);
            while (pic.intr()) {
                vectors.add(pic.acknowledge());
                takenAt.add(t);
                pic.out(0x20, 1, 0x20);
            }
        }
        assertEquals(100, edges, "edges by 100 ms");
        assertEquals(95, expected);
        assertEquals(expected, vectors.size(), takenAt.toString());
        assertEquals(6_000_000, takenAt.get(0), "nothing at 1–5 ms");
        assertTrue(vectors.stream().allMatch(v -> v == 0x20), vectors.toString());
        assertEquals(0, pic.isr());
        assertTrue(warnings.isEmpty(), warnings.toString());
    }
}
