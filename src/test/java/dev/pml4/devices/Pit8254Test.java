package dev.pml4.devices;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The 8254 on virtual time; section names are those of the Intel 8254 data sheet. */
class Pit8254Test {
    /** OUT0 as the PIC sees it: the level, and the instruction count of every rising edge. */
    static final class Line implements IrqLine {
        boolean level;
        final List<Long> rises = new ArrayList<>();
        Pit8254 pit;

        @Override
        public void set(boolean high) {
            if (high && !level) {
                rises.add(pit == null ? -1 : pit.instructions());
            }
            level = high;
        }
    }

    private final List<String> warnings = new ArrayList<>();
    private final Line line = new Line();
    private final Pit8254 pit = new Pit8254(line, warnings::add);

    {
        line.pit = pit;
        line.rises.clear(); // the power-on raise
    }

    private void ctl(int v) {
        pit.out(0x43, 1, v);
    }

    private void write(int counter, int v) {
        pit.out(0x40 + counter, 1, v);
    }

    private int read(int counter) {
        return pit.in(0x40 + counter, 1);
    }

    /** Control word "LSB then MSB" for {@code mode}, then the count, at the current time. */
    private void program(int counter, int mode, int count) {
        ctl(counter << 6 | 0x30 | mode << 1);
        write(counter, count & 0xff);
        write(counter, count >> 8 & 0xff);
    }

    private int latched(int counter) {
        ctl(counter << 6);
        int lo = read(counter);
        return read(counter) << 8 | lo;
    }

    private static final BigInteger F = BigInteger.valueOf(1_193_182);
    private static final BigInteger G = BigInteger.valueOf(1_000_000_000);

    @ParameterizedTest(name = "n = {0}")
    @ValueSource(longs = {0, 1, 837, 838, 839, 999_999_999, 1_000_000_000, 1_000_000_001, 10_000_989, 123_456_789_012L,
            (1L << 40) + 7, (1L << 62) - 1, 1L << 62, (1L << 62) + 999_999_999, Long.MAX_VALUE / 2})
    void ticksAreExactWithoutOverflow(long n) {
        long expected = BigInteger.valueOf(n).multiply(F).divide(G).longValueExact();
        assertEquals(expected, Pit8254.ticksAt(n));
        // instructionsAt is its least inverse.
        long back = Pit8254.instructionsAt(expected);
        assertTrue(back <= n);
        assertEquals(expected, Pit8254.ticksAt(back));
        if (back > 0) {
            assertTrue(Pit8254.ticksAt(back - 1) < expected);
        }
    }

    @ParameterizedTest(name = "tick {0}")
    @ValueSource(longs = {1, 2, 1_193_181, 1_193_182, 1_193_183, 11_933, 5_500_000_000_000_000L})
    void instructionsAtIsTheFirstInstructionCountReachingATick(long tick) {
        long n = Pit8254.instructionsAt(tick);
        BigInteger ceil = BigInteger.valueOf(tick).multiply(G).add(F).subtract(BigInteger.ONE).divide(F);
        assertEquals(ceil.longValueExact(), n);
        assertTrue(Pit8254.ticksAt(n) >= tick);
        assertTrue(Pit8254.ticksAt(n - 1) < tick);
    }

    @Test
    void powerOnCountersWaitWithOutHigh() {
        assertTrue(line.level, "OUT0 is high at power-on and the constructor said so");
        assertEquals(Long.MAX_VALUE, pit.nextEventAt());
        ctl(0xe2); // read-back: status of counter 0
        assertEquals(0x80 | 0x40 | 0x36, read(0), "OUT high, null count, LSB/MSB mode 3 binary");
        pit.advanceTo(50_000_000);
        assertTrue(line.rises.isEmpty());
        assertEquals(0, pit.in(0x61, 1) & 0x0f, "counter 2's gate is low");
        assertEquals(0xff, pit.in(0x43, 1), "the control register is write-only");
    }

    /**
     * Modes 2 and 3 with the count written at instruction 0: loaded at pulse 1, OUT rises at pulses
     * 1 + kN, so the k-th timer edge comes at instructionsAt(1 + kN), and periods in instructions are
     * N × 10⁹ / 1,193,182 rounded one way or the other.
     */
    @ParameterizedTest(name = "mode {0} count {1}")
    @CsvSource({
            "2, 1, 1, 838, 839",
            "2, 2, 2, 1676, 1677",
            "3, 2, 2, 1676, 1677",
            "2, 11932, 11932, 10000150, 10000151",
            "3, 11932, 11932, 10000150, 10000151",
            "3, 11931, 11931, 9999312, 9999313",
            "2, 0, 65536, 54925401, 54925402",
            "3, 0, 65536, 54925401, 54925402",
    })
    void periodicModesRiseOncePerPeriod(int mode, int count, long n, long shortest, long longest) {
        program(0, mode, count);
        assertTrue(line.rises.isEmpty(), "OUT stays high through the control word of mode 2 or 3");
        long previous = -1;
        for (int k = 1; k <= 60; k++) {
            long at = pit.nextEventAt();
            assertEquals(Pit8254.instructionsAt(1 + k * n), at, "edge " + k);
            pit.advanceTo(at - 1);
            assertEquals(k - 1, line.rises.size(), "not one instruction early");
            pit.advanceTo(at);
            assertEquals(k, line.rises.size());
            assertEquals(at, line.rises.get(k - 1));
            assertTrue(line.level);
            if (previous >= 0) {
                long gap = at - previous;
                assertTrue(gap == shortest || gap == longest, "gap " + gap);
            }
            previous = at;
        }
        assertEquals(count == 1 ? 1 : 0, warnings.size(), warnings.toString());
    }

    @Test
    void aHundredHertzTimerInInstructions() {
        program(0, 2, 11932);
        assertEquals(10_000_989, pit.nextEventAt());
        pit.advanceTo(10_000_989);
        assertEquals(20_001_140, pit.nextEventAt());
    }

    @ParameterizedTest(name = "count {0}")
    @CsvSource({"1, 1", "2, 2", "100, 100", "11932, 11932", "0, 65536"})
    void modeZeroRisesOnceNPlusOnePulsesAfterTheCount(int count, long n) {
        pit.advanceTo(5_000); // pulse 5
        ctl(0x30);
        assertFalse(line.level, "mode 0: OUT low after the control word");
        write(0, count & 0xff);
        write(0, count >> 8);
        long at = Pit8254.instructionsAt(5 + 1 + n);
        assertEquals(at, pit.nextEventAt());
        pit.advanceTo(at - 1);
        assertFalse(line.level);
        pit.advanceTo(at);
        assertTrue(line.level);
        assertEquals(List.of(at), line.rises);
        assertEquals(Long.MAX_VALUE, pit.nextEventAt(), "a one-shot");
        pit.advanceTo(Pit8254.instructionsAt(5 + 1 + n + 10));
        assertEquals(65_536 - 10, latched(0), "the counter wraps and counts on after terminal count");
        assertTrue(line.level, "OUT stays high");
    }

    @Test
    void modeZeroRewrittenRestartsAndDropsOut() {
        pit.advanceTo(0);
        ctl(0x30);
        write(0, 100);
        write(0, 0);
        pit.advanceTo(Pit8254.instructionsAt(50));
        write(0, 200); // "Mode 0": the first byte stops counting and drops OUT...
        assertFalse(line.level);
        long held = latched(0);
        pit.advanceTo(Pit8254.instructionsAt(60));
        assertEquals(held, latched(0), "...and counting waits for the second byte");
        write(0, 0); // ...the second loads the new count on the next pulse
        assertEquals(Pit8254.instructionsAt(60 + 1 + 200), pit.nextEventAt());
    }

    /** Latched counts at several moments, counter 0 programmed at instruction 0 with 11932. */
    @ParameterizedTest(name = "after {0} instructions")
    @CsvSource({
            "0, 0, 0", // pulse 0: the count is not loaded yet; the counter holds its power-on 0
            "838, 0, 0",
            "839, 11932, 11932", // pulse 1 loads the count
            "1677, 11931, 11930", // mode 2 counts by one, mode 3 by two
            "5000000, 5968, 4",
            "10000150, 2, 4",
            "10000989, 11932, 11932", // reloaded
            "123456789, 7811, 3690",
    })
    void latchedCountsCountDown(long n, int mode2, int mode3) {
        program(0, 2, 11932);
        program(2, 3, 11932);
        pit.out(0x61, 1, 1); // counter 2's gate high ... after it was programmed: the rising gate restarts mode 3
        pit.advanceTo(n);
        assertEquals(mode2, latched(0));
        assertEquals(mode3, latched(2));
    }

    @Test
    void aLatchHoldsUntilReadAndASecondLatchIsIgnored() {
        program(0, 2, 1000);
        pit.advanceTo(Pit8254.instructionsAt(11)); // e = 10
        ctl(0x00);
        pit.advanceTo(Pit8254.instructionsAt(101));
        ctl(0x00); // ignored: the first latch is unread
        assertEquals(990 & 0xff, read(0));
        assertEquals(990 >> 8, read(0));
        assertEquals(900, latched(0), "after reading, a new latch takes the count now");
    }

    @Test
    void liveReadsToggleBetweenLowAndHighByte() {
        program(0, 2, 0x1234);
        pit.advanceTo(Pit8254.instructionsAt(1));
        assertEquals(0x34, read(0));
        assertEquals(0x12, read(0));
        assertEquals(0x34, read(0));
    }

    @ParameterizedTest(name = "access {0}")
    @CsvSource({"1, 0x34, 0x34", "2, 0x12, 0x12"})
    void singleByteAccessModes(int access, String firstHex, String secondHex) {
        ctl(access << 4 | 2 << 1);
        write(0, access == 1 ? 0x34 : 0x12); // the other byte is zero
        pit.advanceTo(Pit8254.instructionsAt(1));
        ctl(0x00);
        assertEquals(Integer.decode(firstHex), read(0), "latched: one read releases it");
        assertEquals(Integer.decode(secondHex), read(0), "live");
        assertEquals(Pit8254.instructionsAt(1 + (access == 1 ? 0x34 : 0x1200)), pit.nextEventAt());
    }

    @Test
    void readBackLatchesStatusThenCount() {
        ctl(0x34);
        ctl(0xe2); // status only
        assertEquals(0x80 | 0x40 | 0x34, read(0), "OUT high, null count until the count is loaded");
        write(0, 0x10);
        write(0, 0x00);
        ctl(0xe2);
        assertEquals(0x80 | 0x40 | 0x34, read(0), "written, but loaded only on the next pulse");
        pit.advanceTo(Pit8254.instructionsAt(3)); // e = 2
        ctl(0xc2); // count and status
        assertEquals(0x80 | 0x34, read(0), "status first");
        assertEquals(14, read(0));
        assertEquals(0, read(0));
        ctl(0xd2); // count only
        assertEquals(14, read(0));
        assertEquals(0, read(0));
    }

    @Test
    void readBackSelectsSeveralCounters() {
        program(0, 2, 500);
        program(1, 2, 600);
        program(2, 0, 700);
        pit.out(0x61, 1, 1);
        pit.advanceTo(Pit8254.instructionsAt(11));
        ctl(0xd0 | 0x0e); // count of counters 0, 1, 2
        assertEquals(490, read(0) | read(0) << 8);
        assertEquals(590, read(1) | read(1) << 8);
        assertEquals(690, read(2) | read(2) << 8, "loaded at pulse 1 while the gate was low, counting since the gate rose");
    }

    /** Mode 3 with N = 5 ("Mode 3", odd counts): N-1 loaded, counts by two, high for 3 pulses, low for 2. */
    @ParameterizedTest(name = "pulse {0} after loading")
    @CsvSource({"0, 4, true", "1, 2, true", "2, 0, true", "3, 4, false", "4, 2, false", "5, 4, true", "6, 2, true", "7, 0, true",
            "8, 4, false", "9, 2, false", "10, 4, true"})
    void modeThreeOddCount(long e, int value, boolean out) {
        program(0, 3, 5);
        pit.advanceTo(Pit8254.instructionsAt(1 + e));
        assertEquals(value, latched(0));
        assertEquals(out, pit.out(0));
        assertEquals(out, line.level);
    }

    @ParameterizedTest(name = "pulse {0} after loading")
    @CsvSource({"0, 6, true", "1, 4, true", "2, 2, true", "3, 6, false", "4, 4, false", "5, 2, false", "6, 6, true"})
    void modeThreeEvenCount(long e, int value, boolean out) {
        program(0, 3, 6);
        pit.advanceTo(Pit8254.instructionsAt(1 + e));
        assertEquals(value, latched(0));
        assertEquals(out, pit.out(0));
    }

    /** Mode 2 with N = 4: OUT low while the count is 1 ("Mode 2"). */
    @ParameterizedTest(name = "pulse {0} after loading")
    @CsvSource({"0, 4, true", "1, 3, true", "2, 2, true", "3, 1, false", "4, 4, true", "7, 1, false", "8, 4, true"})
    void modeTwoPulsesLowAtOne(long e, int value, boolean out) {
        program(0, 2, 4);
        pit.advanceTo(Pit8254.instructionsAt(1 + e));
        assertEquals(value, latched(0));
        assertEquals(out, pit.out(0));
    }

    @Test
    void modeTwoLoadsANewCountAtTheEndOfThePeriod() {
        program(0, 2, 100); // rises at pulses 101, 201, ...
        pit.advanceTo(Pit8254.instructionsAt(150));
        write(0, 40);
        write(0, 0);
        assertEquals(Pit8254.instructionsAt(201), pit.nextEventAt(), "the current period is not disturbed");
        pit.advanceTo(Pit8254.instructionsAt(201));
        assertEquals(Pit8254.instructionsAt(241), pit.nextEventAt());
        pit.advanceTo(Pit8254.instructionsAt(241));
        assertEquals(Pit8254.instructionsAt(281), pit.nextEventAt());
        assertEquals(3, line.rises.size());
    }

    @Test
    void modeThreeLoadsANewCountAtTheEndOfTheHalfCycle() {
        program(0, 3, 100); // high for pulses 1-50, low 51-100, rises at 101
        pit.advanceTo(Pit8254.instructionsAt(20));
        write(0, 40);
        write(0, 0);
        // The high half ends at pulse 51; the low half is then the new count's: 20 pulses.
        assertEquals(Pit8254.instructionsAt(71), pit.nextEventAt());
        pit.advanceTo(Pit8254.instructionsAt(60));
        assertFalse(line.level);
        assertEquals(40 - 2 * 9, latched(0), "the low half of 40: 40 at pulse 51, down by two");
        pit.advanceTo(Pit8254.instructionsAt(71));
        assertTrue(line.level);
        assertEquals(Pit8254.instructionsAt(111), pit.nextEventAt());
        while (pit.nextEventAt() <= Pit8254.instructionsAt(1000)) {
            pit.advanceTo(pit.nextEventAt());
        }
        assertEquals(1 + (1000 - 71) / 40, line.rises.size());
        pit.advanceTo(Pit8254.instructionsAt(2000));
        assertEquals(1 + (1000 - 71) / 40 + 1, line.rises.size(), "a jump over many periods is one edge to the PIC");
    }

    @Test
    void modeFourStrobesOnce() {
        ctl(0x38); // mode 4
        assertTrue(line.level, "mode 4: OUT high after the control word");
        write(0, 10);
        write(0, 0);
        // Loaded at pulse 1, terminal count at pulse 11: OUT low for that pulse, up again at 12.
        assertEquals(Pit8254.instructionsAt(12), pit.nextEventAt());
        pit.advanceTo(Pit8254.instructionsAt(11));
        assertFalse(line.level);
        pit.advanceTo(Pit8254.instructionsAt(12));
        assertTrue(line.level);
        assertEquals(1, line.rises.size());
        assertEquals(Long.MAX_VALUE, pit.nextEventAt());
    }

    @Test
    void modesOneAndFiveNeverTriggerOnCounterZero() {
        ctl(0x32);
        write(0, 10);
        write(0, 0);
        assertEquals(Long.MAX_VALUE, pit.nextEventAt());
        pit.advanceTo(1_000_000);
        assertTrue(line.level);
        assertEquals(0, line.rises.size());
        assertTrue(warnings.get(0).contains("GATE is tied high"), warnings.toString());
    }

    @Test
    void countOneInModeThreeNeverRises() {
        program(0, 3, 1);
        assertEquals(Long.MAX_VALUE, pit.nextEventAt());
        assertTrue(warnings.get(0).contains("illegal in mode 3"), warnings.toString());
    }

    @Test
    void bcdCounting() {
        ctl(0x35); // mode 2, BCD
        write(0, 0x00);
        write(0, 0x10); // 1000 decimal
        assertEquals(Pit8254.instructionsAt(1001), pit.nextEventAt());
        pit.advanceTo(Pit8254.instructionsAt(2));
        assertEquals(0x0999, latched(0));
        ctl(0x35);
        write(0, 0);
        write(0, 0); // 0 is 10000 in BCD
        pit.advanceTo(Pit8254.instructionsAt(3));
        assertEquals(Pit8254.instructionsAt(2 + 1 + 10_000), pit.nextEventAt());
        assertEquals(0x0000, latched(0), "10000 shows as 0000 when loaded");
        pit.advanceTo(Pit8254.instructionsAt(4));
        assertEquals(0x9999, latched(0));
    }

    @Test
    void counterTwoCountsWhileItsGateIsHighAndShowsOutOnPortB() {
        // The calibration loop of many kernels: gate low, mode 0, count, gate high, poll port 0x61 bit 5.
        pit.out(0x61, 1, 0x00);
        ctl(0xb0);
        write(2, 1000 & 0xff);
        write(2, 1000 >> 8);
        pit.advanceTo(Pit8254.instructionsAt(500));
        assertEquals(0, pit.in(0x61, 1) & 0x20, "OUT2 low, waiting for the gate");
        assertEquals(1000, latched(2));
        pit.out(0x61, 1, 0x01);
        pit.advanceTo(Pit8254.instructionsAt(500 + 1000) - 1);
        assertEquals(0, pit.in(0x61, 1) & 0x20);
        assertEquals(1, latched(2));
        pit.advanceTo(Pit8254.instructionsAt(500 + 1000));
        assertEquals(0x21, pit.in(0x61, 1) & 0x2f);
        pit.out(0x61, 1, 0x00); // gate low: mode 0 stops counting, OUT unaffected
        long held = latched(2);
        pit.advanceTo(Pit8254.instructionsAt(3000));
        assertEquals(held, latched(2));
        assertEquals(0x20, pit.in(0x61, 1) & 0x20);
        assertTrue(line.rises.isEmpty(), "counter 2 is not IRQ 0");
    }

    @Test
    void aLowGateForcesModeThreeOutHighAndItsRiseRestarts() {
        pit.out(0x61, 1, 0x01);
        program(2, 3, 100);
        pit.advanceTo(Pit8254.instructionsAt(70)); // low half
        assertEquals(0, pit.in(0x61, 1) & 0x20);
        pit.out(0x61, 1, 0x00);
        assertEquals(0x20, pit.in(0x61, 1) & 0x20);
        pit.advanceTo(Pit8254.instructionsAt(80));
        pit.out(0x61, 1, 0x01); // reload on the next pulse: 81
        pit.advanceTo(Pit8254.instructionsAt(81 + 50));
        assertEquals(0, pit.in(0x61, 1) & 0x20, "low half again 50 pulses after the restart");
        assertEquals(100, latched(2));
    }

    @Test
    void modeOneOnCounterTwoIsAOneShotTriggeredByTheGate() {
        ctl(0xb2);
        write(2, 50);
        write(2, 0);
        pit.advanceTo(Pit8254.instructionsAt(10));
        assertEquals(0x20, pit.in(0x61, 1) & 0x20);
        pit.out(0x61, 1, 0x01); // trigger: loaded at pulse 11, OUT low until terminal count at 61
        pit.advanceTo(Pit8254.instructionsAt(11));
        assertEquals(0, pit.in(0x61, 1) & 0x20);
        pit.advanceTo(Pit8254.instructionsAt(60));
        assertEquals(0, pit.in(0x61, 1) & 0x20);
        pit.advanceTo(Pit8254.instructionsAt(61));
        assertEquals(0x20, pit.in(0x61, 1) & 0x20);
        assertTrue(warnings.isEmpty(), warnings.toString());
    }

    @Test
    void theRefreshBitToggles() {
        int first = pit.in(0x61, 1) & 0x10;
        pit.advanceTo(Pit8254.instructionsAt(18));
        assertEquals(first ^ 0x10, pit.in(0x61, 1) & 0x10);
        pit.advanceTo(Pit8254.instructionsAt(36));
        assertEquals(first, pit.in(0x61, 1) & 0x10);
    }

    /**
     * The edge contract the CPU relies on, for counts written at an arbitrary moment (pulse p, in
     * the middle of one): with boundary b = p + 1 + kN (the count is loaded at the next pulse),
     * nextEventAt() is the least t with ticksAt(t) ≥ b, so ticksAt(t − 1) < b ≤ ticksAt(t).
     */
    @ParameterizedTest(name = "mode {0} count {1} written at {2}")
    @CsvSource({
            "2, 2, 0",
            "2, 1193, 0",
            "3, 1193, 0",
            "2, 1193, 123457",
            "2, 11932, 987654321",
            "3, 11932, 5",
            "2, 0, 0",
            "3, 0, 4000000001",
    })
    void nextEventAtIsTheFirstInstant(int mode, int count, long writtenAt) {
        pit.advanceTo(writtenAt);
        program(0, mode, count);
        long n = count == 0 ? 65536 : count;
        long p = Pit8254.ticksAt(writtenAt);
        for (int k = 1; k <= 25; k++) {
            long boundary = p + 1 + k * n;
            long at = pit.nextEventAt();
            assertTrue(Pit8254.ticksAt(at - 1) < boundary, "edge " + k + " not earlier");
            assertTrue(boundary <= Pit8254.ticksAt(at), "edge " + k + " not later");
            assertEquals(at, Pit8254.instructionsAt(boundary));
            pit.advanceTo(at - 1);
            assertEquals(k - 1, line.rises.size());
            pit.advanceTo(at);
            assertEquals(k, line.rises.size());
        }
    }

    /**
     * The ≈1 kHz timer: 1193 pulses are 999,847.47 ns, and the first edge, one load pulse later at
     * pulse 1194, is at ceil(1194 × 10⁹ / 1,193,182) = 1,000,686 ns.
     */
    @Test
    void aKilohertzTimerInNanoseconds() {
        program(0, 2, 1193);
        assertEquals(1_000_686, pit.nextEventAt());
        assertEquals(BigInteger.valueOf(1194).multiply(G).add(F).subtract(BigInteger.ONE).divide(F).longValueExact(),
                pit.nextEventAt());
        pit.advanceTo(1_000_685);
        assertTrue(line.rises.isEmpty());
        pit.advanceTo(1_000_686);
        assertEquals(List.of(1_000_686L), line.rises);
        assertEquals(Pit8254.instructionsAt(1 + 2 * 1193), pit.nextEventAt());
        assertEquals(1_000_686 + 999_848, pit.nextEventAt(), "the next period rounds the other way");
    }

    /** A latched count read at moments further into a mode 2 period is smaller each time. */
    @Test
    void latchedReadsDecrease() {
        program(0, 2, 11932);
        int previous = 11933;
        for (long t = 1_000; t < 9_000_000; t += 777_777) {
            pit.advanceTo(t);
            int count = latched(0);
            assertTrue(count < previous, count + " after " + previous + " at " + t);
            assertEquals(11932 - (Pit8254.ticksAt(t) - 1), count);
            previous = count;
        }
    }

    /** Through the CPU's interface, and wired to the PIC pair by the convenience constructor. */
    @Test
    void theCpuSeesAVirtualClockDeviceOnIrq0() {
        Pic8259Pair pic = new Pic8259Pair(warnings::add);
        dev.pml4.cpu.VirtualClockDevice clock = new Pit8254(pic, warnings::add);
        for (int v : new int[] {0x11, 0x20, 0x04, 0x01, 0xfe}) {
            pic.out(v == 0x11 ? 0x20 : 0x21, 1, v);
        }
        for (int v : new int[] {0x11, 0x28, 0x02, 0x01, 0xff}) {
            pic.out(v == 0x11 ? 0xa0 : 0xa1, 1, v);
        }
        assertEquals(Long.MAX_VALUE, clock.nextEventAt(), "not programmed: no event");
        Pit8254 pit = (Pit8254) clock;
        pit.out(0x43, 1, 0x30); // mode 0
        pit.out(0x40, 1, 100);
        pit.out(0x40, 1, 0);
        long at = clock.nextEventAt();
        assertEquals(Pit8254.instructionsAt(101), at);
        clock.advanceTo(at - 1);
        assertFalse(pic.intr());
        clock.advanceTo(at);
        assertTrue(pic.intr());
        assertEquals(0x20, pic.acknowledge());
        assertEquals(Long.MAX_VALUE, clock.nextEventAt(), "mode 0 fired once");
        assertTrue(warnings.isEmpty(), warnings.toString());
    }

    @Test
    void nextEventAtStaysExactFarIntoVirtualTime() {
        program(0, 2, 11932);
        long far = 1L << 62;
        pit.advanceTo(far);
        assertEquals(1, line.rises.size(), "billions of periods passed; the PIC sees one edge for them");
        long rise = Pit8254.ticksAt(far) - 1; // e
        long nextTick = 1 + (rise / 11932 + 1) * 11932;
        assertEquals(Pit8254.instructionsAt(nextTick), pit.nextEventAt());
        assertTrue(pit.nextEventAt() > far);
        assertTrue(pit.nextEventAt() - far <= 10_000_151);
    }

    @Test
    void timeOnlyGoesForward() {
        pit.advanceTo(100);
        assertThrows(IllegalArgumentException.class, () -> pit.advanceTo(99));
        pit.advanceTo(100);
    }

    @Test
    void reprogrammingFromModeZeroToModeTwoIsARisingEdge() {
        program(0, 0, 1000);
        assertFalse(line.level);
        ctl(0x34);
        assertTrue(line.level, "'Mode Definitions': OUT goes high after a mode 2 control word");
        assertEquals(1, line.rises.size());
    }
}
