package dev.pml4.devices;

import dev.pml4.cpu.VirtualClockDevice;

import java.util.HashSet;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The PC's 8254 programmable interval timer at ports 0x40–0x43, with port 0x61 (system control
 * port B) for counter 2's gate and output. Counter 0's OUT drives IRQ 0. Section names in the
 * comments are those of the Intel 8254 data sheet (order number 231164).
 *
 * <h2>Time</h2>
 * The PIT's clock is virtual time: its input runs at {@value #CLOCK_HZ} Hz against a nominal 1 GHz
 * CPU, so after {@code n} retired instructions it has seen exactly {@link #ticksAt ticksAt(n)} =
 * floor(n × 1,193,182 / 10⁹) CLK pulses. The device never looks at a clock of its own: the CPU
 * tells it the time with {@link #advanceTo}, and every port access happens at the time of the last
 * {@code advanceTo}. Nothing is simulated pulse by pulse; each counter is a closed-form function of
 * the pulse count since it was last loaded, so a jump of any length costs the same.
 * "Instructions" here means the CPU's virtual nanoseconds ({@link VirtualClockDevice}): retired
 * instructions plus the time skipped while halted, one per nanosecond.
 *
 * <h2>For the CPU</h2>
 * <ul>
 * <li>Before an IN or OUT to ports 0x40–0x43 or 0x61, call {@code advanceTo(instructions)}, so that a
 *     count read or a count written belongs to that instruction.
 * <li>When the instruction count reaches {@link #nextEventAt()} (the next rising edge of OUT0, an
 *     exact instruction count), call {@code advanceTo} with it: IRQ 0 rises on the PIC at that
 *     moment, and the PIC's INTR says whether to take an interrupt. Between events there is nothing
 *     to check. A CPU in HLT jumps straight to {@code nextEventAt()}.
 * <li>Falling edges of OUT0 are applied lazily, at the next {@code advanceTo}; they only matter to a
 *     request that is still unacknowledged, so call {@code advanceTo} also before sampling the PIC's
 *     INTR at other moments (STI, POPF, IRETQ, an unmask) to see the PIC exactly as hardware would.
 * </ul>
 *
 * <h2>Power-on state</h2>
 * The data sheet leaves the counters undefined until programmed, and pml4 has no BIOS to program
 * them. Each counter starts as if control word "LSB then MSB, mode 3, binary" had been written and
 * no count yet: not counting, OUT high, count register empty (null count). So the first control
 * word for mode 2 or 3 does not move OUT0, and a kernel's first timer interrupt comes one period
 * after its count is written. Port 0x61 reads its low bits as 0: counter 2's gate is low.
 *
 * <h2>Modelled</h2>
 * All three counters, modes 0–5, binary and BCD counting, LSB/MSB/LSB-then-MSB access, the counter
 * latch command and the read-back command (count and status), null count, separate read and write
 * byte toggles, a reload of 0 meaning 65536 (10000 in BCD), mode 2 and 3 reloads deferred to the end
 * of the period or half-period, and the GATE input of counter 2 (port 0x61 bit 0; counters 0 and 1
 * have GATE tied high, so modes 1 and 5 never trigger there). Counter 1's output goes nowhere (it
 * drove DRAM refresh); port 0x61 bit 4, the refresh toggle, flips every 18 CLK pulses (≈15 µs).
 */
public final class Pit8254 implements PortDevice, VirtualClockDevice {
    public static final int PORT = 0x40;
    public static final int CONTROL_PORT = 0x43;
    public static final int PORT_B = 0x61;
    /** The PIT's input clock, Hz. */
    public static final long CLOCK_HZ = 1_193_182;
    /** The nominal speed of the virtual CPU: one instruction per nanosecond. */
    public static final long INSTRUCTIONS_PER_SECOND = 1_000_000_000;
    /** CLK pulses per flip of port 0x61 bit 4 (a DRAM refresh every 15.085 µs on a PC). */
    static final int REFRESH_TICKS = 18;

    private static final int HALTED = 0; // no complete count since the control word, or counting disabled by a first byte
    private static final int RUNNING = 1;
    private static final int GATED = 2; // a count is loaded but GATE is low
    private static final int ARMED = 3; // modes 1 and 5: a count waits for a trigger on GATE

    private final IrqLine irq0;
    private final Consumer<String> warnings;
    private final Set<String> warned = new HashSet<>();
    private final Counter[] counters = {new Counter(0, true), new Counter(1, true), new Counter(2, false)};
    private long instructions;
    /** CLK pulses seen up to {@link #instructions}. */
    private long now;
    private boolean irqLevel;
    private long nextEvent;
    private int portB;

    /** @param irq0 the wire from OUT0 to the interrupt controller (the PIC's IRQ 0); OUT0 is high at power-on, so it is raised here */
    public Pit8254(IrqLine irq0, Consumer<String> warnings) {
        this.irq0 = irq0;
        this.warnings = warnings;
        changed(0);
    }

    /** Counter 0's OUT wired to IRQ 0 of {@code pic}, as on a PC. */
    public Pit8254(Pic8259Pair pic, Consumer<String> warnings) {
        this(pic.line(0), warnings);
    }

    /** CLK pulses after {@code instructions} instructions: floor(n × 1,193,182 / 10⁹), exact for every n ≥ 0. */
    public static long ticksAt(long instructions) {
        if (instructions < 0) {
            throw new IllegalArgumentException("negative time " + instructions);
        }
        long seconds = instructions / INSTRUCTIONS_PER_SECOND;
        long rest = instructions % INSTRUCTIONS_PER_SECOND;
        // (s·10⁹ + r)·f / 10⁹ = s·f + r·f / 10⁹ with s·f exact; r·f < 1.2·10¹⁵, so nothing overflows.
        return seconds * CLOCK_HZ + rest * CLOCK_HZ / INSTRUCTIONS_PER_SECOND;
    }

    /** The first instruction count at which CLK pulse {@code tick} has happened: the least n with ticksAt(n) ≥ tick. */
    public static long instructionsAt(long tick) {
        if (tick <= 0) {
            return 0;
        }
        long seconds = tick / CLOCK_HZ;
        long rest = tick % CLOCK_HZ;
        long whole;
        try {
            whole = Math.multiplyExact(seconds, INSTRUCTIONS_PER_SECOND);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
        long part = (rest * INSTRUCTIONS_PER_SECOND + CLOCK_HZ - 1) / CLOCK_HZ; // ceil, rest·10⁹ < 1.2·10¹⁵
        return whole > Long.MAX_VALUE - part ? Long.MAX_VALUE : whole + part;
    }

    /**
     * Brings the PIT to the moment after {@code instructions} retired instructions, and IRQ 0 with it:
     * if OUT0 rose since the last call the PIC sees a rising edge (several rises coalesce into one,
     * as an unacknowledged edge request does on the PIC), and the line ends at OUT0's level now.
     * Time only goes forward; calling again with the same count does nothing.
     */
    @Override
    public void advanceTo(long instructions) {
        if (instructions < this.instructions) {
            throw new IllegalArgumentException("time goes forward: " + instructions + " < " + this.instructions);
        }
        if (instructions == this.instructions) {
            return;
        }
        long to = ticksAt(instructions);
        this.instructions = instructions;
        if (to == now) {
            return;
        }
        long rises = counters[0].advance(now, to);
        counters[1].advance(now, to);
        counters[2].advance(now, to);
        now = to;
        changed(rises);
    }

    /** The instruction count at which OUT0 next rises (an IRQ 0 edge), or Long.MAX_VALUE if it never will as programmed. */
    @Override
    public long nextEventAt() {
        return nextEvent;
    }

    /** The instruction count of the last {@link #advanceTo}. */
    public long instructions() {
        return instructions;
    }

    /** OUT of counter {@code counter} now. */
    public boolean out(int counter) {
        return counters[counter].outAt(now);
    }

    @Override
    public int in(int port, int size) {
        if (port == PORT_B) {
            return (portB & 0x0f) | ((now / REFRESH_TICKS & 1) != 0 ? 0x10 : 0) | (counters[2].outAt(now) ? 0x20 : 0);
        }
        int index = port - PORT;
        if (index < 0 || index > 2) {
            return 0xff; // the control register cannot be read ("Write Operations": A1,A0 = 11 is write only)
        }
        return counters[index].read();
    }

    @Override
    public void out(int port, int size, int value) {
        int v = value & 0xff;
        if (port == PORT_B) {
            portB = v & 0x0f;
            counters[2].setGate((v & 1) != 0);
        } else if (port == CONTROL_PORT) {
            control(v);
        } else if (port >= PORT && port < CONTROL_PORT) {
            counters[port - PORT].write(v);
        } else {
            throw new IllegalArgumentException(String.format("port 0x%x is not a PIT port", port));
        }
        changed(0);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(String.format("PIT at %d instructions (%d CLK)", instructions, now));
        for (Counter c : counters) {
            b.append("; ").append(c);
        }
        return b.toString();
    }

    /** The control word register ("Control Word Format", "Read-Back Command"). */
    private void control(int v) {
        int select = v >> 6;
        if (select == 3) {
            // Read-back: bit 5 clear latches counts, bit 4 clear latches status, bits 3:1 select counters 2, 1, 0.
            for (int i = 0; i < 3; i++) {
                if ((v & (2 << i)) != 0) {
                    if ((v & 0x10) == 0) {
                        counters[i].latchStatus();
                    }
                    if ((v & 0x20) == 0) {
                        counters[i].latchCount();
                    }
                }
            }
            return;
        }
        Counter c = counters[select];
        if ((v & 0x30) == 0) {
            c.latchCount(); // "Counter Latch Command"
        } else {
            c.program(v & 0x3f);
        }
    }

    /** After anything that may move OUT0: drives IRQ 0 and recomputes the next event. */
    private void changed(long rises) {
        boolean level = counters[0].outAt(now);
        if (rises > 0) {
            if (irqLevel) {
                irq0.set(false);
            }
            irq0.set(true);
            irqLevel = true;
        }
        if (level != irqLevel) {
            irq0.set(level);
            irqLevel = level;
        }
        long tick = counters[0].nextRiseAfter(now);
        nextEvent = tick < 0 ? Long.MAX_VALUE : instructionsAt(tick);
    }

    private void warnOnce(String key, String message) {
        if (warned.add(key)) {
            warnings.accept(message);
        }
    }

    static int fromBcd(int v) {
        return (v >> 12 & 0xf) * 1000 + (v >> 8 & 0xf) * 100 + (v >> 4 & 0xf) * 10 + (v & 0xf);
    }

    static int toBcd(int v) {
        return (v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10;
    }

    /**
     * One counter. Times are absolute CLK pulse numbers; {@code e} is the number of pulses since
     * {@link #anchor}, the pulse that loaded the count (it does not decrement: "Counter Operation").
     */
    private final class Counter {
        final int index;
        final boolean gateTiedHigh;
        boolean gate;

        int controlBits = 0x36 & 0x3f; // RW, M, BCD of the last control word
        int rw = 3;
        int mode = 3;
        boolean bcd;

        boolean writeMsbNext;
        int lsbWritten;
        boolean countWritten;
        int cr;
        /** The pulse at which CR is transferred to the counting element; null count before it. */
        long crLoadsAt = Long.MAX_VALUE;

        boolean readMsbNext;
        int latch = -1;
        boolean latchMsbNext;
        int status = -1;

        int state = HALTED;
        /** Value and OUT while not RUNNING. */
        int heldValue;
        boolean heldOut = true;
        /** RUNNING: the loading pulse; value and OUT before it are preValue and preOut. */
        long anchor;
        int preValue;
        boolean preOut;
        /** Modes 0, 1, 4, 5: the value at the anchor, and the pulses from the anchor to terminal count. */
        int startValue;
        long dist;
        /** Modes 0, 1: OUT went high already; 4, 5: the strobe is over. */
        boolean done;
        /** Modes 2, 3: the period N, and (mode 3) where in it the anchor falls. */
        int period;
        int offset;
        /** Modes 2, 3: a count written while counting, loaded at pendingAt. */
        boolean pending;
        long pendingAt;
        int pendingPeriod;
        int pendingOffset;

        Counter(int index, boolean gateTiedHigh) {
            this.index = index;
            this.gateTiedHigh = gateTiedHigh;
            this.gate = gateTiedHigh;
        }

        int modulus() {
            return bcd ? 10_000 : 65_536;
        }

        /** The period a count register value stands for: 0 is the largest, 2¹⁶ (10⁴ in BCD). */
        int countOf(int register) {
            int n = bcd ? fromBcd(register) : register;
            return n == 0 ? modulus() : n;
        }

        static int highLength(int n) {
            return (n + 1) / 2;
        }

        // ---- the closed form ----

        int valueAt(long t) {
            if (state != RUNNING) {
                return heldValue;
            }
            if (t < anchor) {
                return preValue;
            }
            long e = t - anchor;
            int m = modulus();
            return switch (mode) {
                case 2 -> (int) ((period - e % period) % m);
                case 3 -> {
                    int p = (int) ((e + offset) % period);
                    int hi = highLength(period);
                    int even = period & ~1;
                    yield (p < hi ? even - 2 * p : even - 2 * (p - hi)) % m;
                }
                default -> (int) Math.floorMod(startValue - e, (long) m);
            };
        }

        boolean outAt(long t) {
            if (state != RUNNING) {
                return heldOut;
            }
            if (t < anchor) {
                return preOut;
            }
            long e = t - anchor;
            return switch (mode) {
                case 0, 1 -> done || e >= dist; // low until terminal count, then high ("Mode 0", "Mode 1")
                case 4, 5 -> done || e != dist; // low for the one pulse of terminal count ("Mode 4", "Mode 5")
                case 2 -> period == 1 || e % period != period - 1; // low while the count is 1 ("Mode 2")
                default -> (e + offset) % period < highLength(period); // high for ceil(N/2) ("Mode 3")
            };
        }

        /** The first e ≥ 1 at which OUT rises in the current schedule, and the period after it (0: once only); null for never. */
        private long[] rises() {
            if (state != RUNNING) {
                return null;
            }
            return switch (mode) {
                case 0, 1 -> done ? null : new long[] {dist, 0};
                case 4, 5 -> done ? null : new long[] {dist + 1, 0};
                case 2 -> new long[] {period, period};
                default -> period < 2 ? null : new long[] {offset == 0 ? period : period - offset, period};
            };
        }

        /** Rising edges of OUT at pulses in (from, to] in the current schedule. */
        private long risesIn(long from, long to) {
            long[] r = rises();
            if (r == null || to <= from) {
                return 0;
            }
            long e1 = from - anchor;
            long e2 = to - anchor;
            if (r[1] == 0) {
                return e1 < r[0] && r[0] <= e2 ? 1 : 0;
            }
            return upTo(e2, r) - upTo(e1, r);
        }

        private static long upTo(long e, long[] r) {
            return e < r[0] ? 0 : (e - r[0]) / r[1] + 1;
        }

        /** The first pulse after {@code t} at which OUT rises, or -1. */
        long nextRiseAfter(long t) {
            long next = -1;
            long[] r = rises();
            if (r != null) {
                long e = t - anchor;
                if (e < r[0]) {
                    next = anchor + r[0];
                } else if (r[1] != 0) {
                    next = anchor + r[0] + ((e - r[0]) / r[1] + 1) * r[1];
                }
            }
            if (pending && (next < 0 || next > pendingAt)) {
                if (mode == 2) {
                    return pendingAt + pendingPeriod;
                }
                return pendingPeriod < 2 ? -1 : pendingAt + (pendingOffset == 0 ? pendingPeriod : pendingPeriod - pendingOffset);
            }
            return next;
        }

        /** Moves from pulse {@code from} to {@code to}; returns the rising edges of OUT on the way. */
        long advance(long from, long to) {
            long rises = 0;
            if (pending && pendingAt <= to) {
                rises += risesIn(from, pendingAt);
                anchor = pendingAt;
                period = pendingPeriod;
                offset = pendingOffset;
                pending = false;
                from = pendingAt;
            }
            return rises + risesIn(from, to);
        }

        // ---- programming ----

        /** A control word for this counter ("Control Word Format"; "Mode Definitions": OUT's initial state). */
        void program(int bits) {
            heldValue = valueAt(now);
            state = HALTED;
            pending = false;
            controlBits = bits;
            rw = bits >> 4 & 3;
            int m = bits >> 1 & 7;
            mode = m > 5 ? m - 4 : m; // 110 and 111 are modes 2 and 3
            bcd = (bits & 1) != 0;
            heldOut = mode != 0;
            heldValue %= modulus();
            countWritten = false;
            writeMsbNext = false;
            readMsbNext = false;
            latch = -1;
            status = -1;
            crLoadsAt = Long.MAX_VALUE;
            if ((mode == 1 || mode == 5) && gateTiedHigh) {
                warnOnce("trigger " + index, String.format(
                        "PIT counter %d: mode %d waits for a rising edge on GATE, but on a PC counter %d's GATE is tied high: it will never count",
                        index, mode, index));
            }
        }

        /** A byte written to the counter's port ("Write Operations"). */
        void write(int v) {
            switch (rw) {
                case 1 -> loadCount(v);
                case 2 -> loadCount(v << 8);
                default -> {
                    if (!writeMsbNext) {
                        lsbWritten = v;
                        writeMsbNext = true;
                        if (mode == 0) {
                            // "Mode 0": writing the first byte disables counting; OUT is set low immediately.
                            heldValue = valueAt(now);
                            heldOut = false;
                            state = HALTED;
                            pending = false;
                        }
                    } else {
                        writeMsbNext = false;
                        loadCount(lsbWritten | v << 8);
                    }
                }
            }
        }

        private void loadCount(int register) {
            cr = register;
            countWritten = true;
            int n = countOf(register);
            if ((mode == 2 || mode == 3) && n == 1) {
                warnOnce("count1 " + index + " " + mode, String.format(
                        "PIT counter %d: count 1 is illegal in mode %d (8254 data sheet, minimum count 2); pml4 runs it as %s",
                        index, mode, mode == 2 ? "a rising edge on every CLK pulse" : "OUT staying high (the odd-count rule gives no low half)"));
            }
            long t = now;
            switch (mode) {
                case 0 -> {
                    // OUT low now; the count loads on the next CLK pulse; OUT rises N pulses after that.
                    if (gate) {
                        start(t, n, false);
                    } else {
                        hold(n % modulus(), false); // loaded on the next pulse all the same, but not counting
                        crLoadsAt = t + 1;
                    }
                }
                case 4 -> {
                    if (gate) {
                        start(t, n, outAt(t));
                    } else {
                        hold(n % modulus(), outAt(t));
                        crLoadsAt = t + 1;
                    }
                }
                case 2, 3 -> {
                    if (state == RUNNING && t >= anchor) {
                        defer(t, n);
                    } else if (gate) {
                        start(t, n, true);
                    } else {
                        hold(valueAt(t), true);
                    }
                }
                default -> {
                    // Modes 1 and 5: the count waits for a trigger; a running one-shot carries on ("Mode 1").
                    if (state != RUNNING) {
                        heldValue = valueAt(t);
                        state = ARMED;
                    }
                }
            }
        }

        /** Loads count {@code n} on the pulse after {@code t}. */
        private void start(long t, int n, boolean outBefore) {
            preValue = valueAt(t);
            preOut = outBefore;
            anchor = t + 1;
            startValue = n % modulus();
            dist = n;
            done = false;
            period = n;
            offset = 0;
            pending = false;
            state = RUNNING;
            crLoadsAt = anchor;
        }

        private void hold(int value, boolean out) {
            done = false;
            heldValue = value;
            heldOut = out;
            pending = false;
            state = GATED;
        }

        /**
         * Modes 2 and 3: a new count does not disturb the current cycle. Mode 2 loads it when the
         * count reaches 1 and would reload ("Mode 2"); mode 3 at the end of the current half-cycle
         * ("Mode 3"), where the new count starts in the half the old one was entering.
         */
        private void defer(long t, int n) {
            long e = t - anchor;
            if (mode == 2) {
                pendingAt = anchor + (e / period + 1) * period;
                pendingOffset = 0;
            } else {
                int p = (int) ((e + offset) % period);
                int hi = highLength(period);
                if (p < hi) {
                    pendingAt = t + (hi - p);
                    pendingOffset = highLength(n);
                } else {
                    pendingAt = t + (period - p);
                    pendingOffset = 0;
                }
            }
            pendingPeriod = n;
            pending = true;
            crLoadsAt = pendingAt;
        }

        /** Counter 2's GATE from port 0x61 bit 0 ("Gate": the table of GATE pin operations). */
        void setGate(boolean high) {
            if (gateTiedHigh || high == gate) {
                return;
            }
            gate = high;
            long t = now;
            switch (mode) {
                case 0, 4 -> {
                    if (!high && state == RUNNING) {
                        // Counting disabled; OUT unaffected.
                        boolean loaded = t >= anchor;
                        boolean over = loaded && (done || t - anchor >= dist);
                        hold(loaded ? valueAt(t) : startValue, outAt(t));
                        done = over;
                    } else if (high && state == GATED) {
                        // Counting resumes from the held value on the next pulse; a count still waiting for its
                        // loading pulse (which does not decrement) is loaded first.
                        preValue = heldValue;
                        preOut = heldOut;
                        anchor = Math.max(t, crLoadsAt);
                        startValue = heldValue;
                        dist = heldValue == 0 ? modulus() : heldValue;
                        state = RUNNING;
                    }
                }
                case 2, 3 -> {
                    if (!high) {
                        // Counting disabled and OUT set high immediately.
                        if (state == RUNNING) {
                            hold(valueAt(t), true);
                        }
                        heldOut = true;
                    } else if (state == GATED && countWritten) {
                        start(t, countOf(cr), true); // the rising edge reloads on the next pulse
                    }
                }
                default -> {
                    if (high && countWritten && (state == ARMED || state == RUNNING)) {
                        // Modes 1 and 5: a trigger (re)loads the count on the next pulse; mode 1's OUT goes low then.
                        boolean outBefore = outAt(t);
                        start(t, countOf(cr), outBefore);
                    }
                }
            }
        }

        // ---- reading ----

        void latchCount() {
            if (latch < 0) { // a second latch before the first is read is ignored ("Counter Latch Command")
                latch = encode(valueAt(now));
                latchMsbNext = false;
            }
        }

        void latchStatus() {
            if (status < 0) {
                // "Status Byte": OUT, null count, then RW, mode and BCD as programmed.
                status = (outAt(now) ? 0x80 : 0) | (now < crLoadsAt ? 0x40 : 0) | controlBits;
            }
        }

        int read() {
            if (status >= 0) { // a latched status is read before a latched count ("Read-Back Command")
                int s = status;
                status = -1;
                return s;
            }
            if (latch >= 0) {
                int v = latch;
                if (rw == 3 && !latchMsbNext) {
                    latchMsbNext = true;
                    return v & 0xff;
                }
                latch = -1;
                return rw == 2 || rw == 3 ? v >> 8 : v & 0xff;
            }
            int v = encode(valueAt(now));
            return switch (rw) {
                case 1 -> v & 0xff;
                case 2 -> v >> 8;
                default -> {
                    readMsbNext = !readMsbNext;
                    yield readMsbNext ? v & 0xff : v >> 8;
                }
            };
        }

        private int encode(int value) {
            return bcd ? toBcd(value) : value;
        }

        @Override
        public String toString() {
            String s = switch (state) {
                case RUNNING -> "running";
                case GATED -> "gated";
                case ARMED -> "armed";
                default -> "halted";
            };
            return String.format("counter %d mode %d%s %s count 0x%04x value %d OUT %d", index, mode, bcd ? " BCD" : "", s,
                    cr, valueAt(now), outAt(now) ? 1 : 0);
        }
    }
}
