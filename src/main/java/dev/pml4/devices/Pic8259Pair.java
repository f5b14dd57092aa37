package dev.pml4.devices;

import dev.pml4.cpu.InterruptLine;

import java.util.HashSet;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The PC's pair of 8259A programmable interrupt controllers: the master at ports 0x20/0x21 takes
 * IRQ 0–7, the slave at 0xA0/0xA1 takes IRQ 8–15, and the slave's INT output is wired to the
 * master's IR2. Section names in the comments are those of the Intel 8259A data sheet (order
 * number 231468).
 *
 * <h2>For the CPU</h2>
 * Devices drive {@link #raise}/{@link #lower} (or an {@link IrqLine} from {@link #line}). The CPU
 * samples {@link #intr()} (a field read) at an instruction boundary; when it is true and RFLAGS.IF
 * allows, it runs the INTA cycle with {@link #acknowledge()} and delivers the vector returned.
 * Nothing in here runs on its own: INTR changes only inside a call to this object, so a CPU that
 * re-samples after port I/O to the PIC, after a device call (the PIT's {@code advanceTo}) and after
 * RFLAGS.IF is set never misses an interrupt and never checks on every instruction.
 *
 * <h2>Power-on state</h2>
 * The 8259A has no reset pin, and the data sheet defines its state only after ICW1 ("Initialization
 * Command Words"). A PC's BIOS programs it (vectors 0x08 and 0x70); pml4 has no BIOS, so a kernel
 * finds both chips as nobody left them: <em>not initialised</em>. Until the chip has seen ICW1 to
 * its last ICW it never raises INTR, whatever its mask says, because it has no vector base to give.
 * The mask reads 0xFF (all masked), so that a kernel which only masks the PIC to use the APIC is
 * right as it is, and one that unmasks without initialising gets a warning, not vectors 0x08–0x0F
 * colliding with the CPU's exceptions. IRR and ISR are clear, IRR is selected for reading, the
 * priority is fixed with IR7 lowest and the vector base reads as 0.
 *
 * <h2>Modelled</h2>
 * ICW1–ICW4 (edge or level triggered, single or cascade, ICW4 optional, auto-EOI, special fully
 * nested mode), OCW1 (mask), OCW2 (every EOI and rotation command, set priority), OCW3 (IRR/ISR
 * read, poll, special mask mode), fixed and rotating priority, the cascade (a slave request takes
 * the master's IR2 priority) and spurious interrupts. The CPU side is x86 only: 8080/8085 mode
 * (ICW4.µPM = 0, or no ICW4) is answered as 8086 mode, with a warning. Buffered mode has no
 * visible effect on a PC and is accepted silently.
 */
public final class Pic8259Pair implements PortDevice, InterruptLine {
    public static final int MASTER_PORT = 0x20;
    public static final int SLAVE_PORT = 0xa0;
    /** The master input that the slave's INT drives on a PC. */
    public static final int CASCADE_IRQ = 2;

    private final Consumer<String> warnings;
    private final Set<String> warned = new HashSet<>();
    private final Chip master = new Chip("master", true);
    private final Chip slave = new Chip("slave", false);
    /** The slave's INT output as last propagated to the master's IR2. */
    private boolean slaveInt;
    /** The master's INT output: the CPU's INTR pin. */
    private boolean intr;

    public Pic8259Pair(Consumer<String> warnings) {
        this.warnings = warnings;
    }

    /** The request wire of {@code irq} (0–15, not 2) for a device to drive. */
    public IrqLine line(int irq) {
        checkIrq(irq);
        return high -> {
            if (high) {
                raise(irq);
            } else {
                lower(irq);
            }
        };
    }

    /** Drives IRQ {@code irq} (0–15, not 2) high. An edge-triggered input latches a request on the rising edge. */
    public void raise(int irq) {
        checkIrq(irq);
        chipOf(irq).setInput(irq & 7, true);
        update();
    }

    /**
     * Drives IRQ {@code irq} low. An edge-triggered request that has not been acknowledged yet goes
     * away with it ("Edge and Level Triggered Modes": the IR input must stay high until the first
     * INTA), which is how a spurious interrupt arises.
     */
    public void lower(int irq) {
        checkIrq(irq);
        chipOf(irq).setInput(irq & 7, false);
        update();
    }

    /** The INTR line: the master has an unmasked request of higher priority than anything it has in service. */
    @Override
    public boolean intr() {
        return intr;
    }

    /**
     * The INTA cycle ("Interrupt Sequence", 8086 mode): the master resolves its highest-priority
     * request, sets its ISR bit (not in auto-EOI mode) and clears its IRR bit; if that input has a
     * slave, the slave does the same and supplies the vector. When the request has gone away since
     * INTR was raised the chip answers with its IR7 vector and sets no ISR bit: a spurious IRQ 7
     * (base + 7) from the master, or a spurious IRQ 15 (slave base + 7) from the slave, in which case
     * the master has already put IR2 in service and needs its EOI. A cascade address that no slave
     * answers leaves the data bus floating: 0xFF.
     */
    @Override
    public int acknowledge() {
        int vector;
        int level = master.acknowledgeLevel();
        if (level < 0) {
            vector = master.vectorBase | 7;
        } else if (master.cascadesOn(level)) {
            if (slave.slaveId() != level) {
                warnOnce("cascade " + level, String.format(
                        "PIC: the master sent cascade address %d in an INTA cycle but the slave answers to %d; the vector read is 0xFF",
                        level, slave.slaveId()));
                vector = 0xff;
            } else {
                int s = slave.acknowledgeLevel();
                vector = slave.vectorBase | (s < 0 ? 7 : s);
            }
        } else {
            vector = master.vectorBase | level;
        }
        update();
        return vector;
    }

    /** IRR of both chips: slave in bits 15:8, master in bits 7:0. */
    public int irr() {
        return slave.irr << 8 | master.irr;
    }

    /** ISR of both chips: slave in bits 15:8, master in bits 7:0. */
    public int isr() {
        return slave.isr << 8 | master.isr;
    }

    /** IMR of both chips: slave in bits 15:8, master in bits 7:0. */
    public int imr() {
        return slave.imr << 8 | master.imr;
    }

    /** The vector base (ICW2 & 0xF8) of the master or the slave. */
    public int vectorBase(boolean ofSlave) {
        return (ofSlave ? slave : master).vectorBase;
    }

    /** True once both chips have been through a whole ICW sequence. */
    public boolean initialised() {
        return master.operational && slave.operational;
    }

    @Override
    public int in(int port, int size) {
        Chip c = chipAt(port);
        int v = (port & 1) == 0 ? c.readEven() : c.imr;
        update();
        return v;
    }

    @Override
    public void out(int port, int size, int value) {
        Chip c = chipAt(port);
        int v = value & 0xff;
        if ((port & 1) == 0) {
            c.writeEven(v);
        } else {
            c.writeOdd(v);
        }
        update();
    }

    @Override
    public String toString() {
        return String.format("PIC master %s; slave %s; INTR %d", master, slave, intr ? 1 : 0);
    }

    private Chip chipAt(int port) {
        return switch (port) {
            case MASTER_PORT, MASTER_PORT + 1 -> master;
            case SLAVE_PORT, SLAVE_PORT + 1 -> slave;
            default -> throw new IllegalArgumentException(String.format("port 0x%x is not a PIC port", port));
        };
    }

    private Chip chipOf(int irq) {
        return irq < 8 ? master : slave;
    }

    private static void checkIrq(int irq) {
        if (irq < 0 || irq > 15) {
            throw new IllegalArgumentException("IRQ " + irq + " out of 0-15");
        }
        if (irq == CASCADE_IRQ) {
            throw new IllegalArgumentException("IRQ 2 is the master's cascade input on a PC (the slave's INT drives it); ISA IRQ 2 arrives as IRQ 9");
        }
    }

    /** Propagates the slave's INT to the master's IR2, then recomputes INTR. */
    private void update() {
        boolean s = slave.pendingLevel() >= 0;
        if (s != slaveInt) {
            slaveInt = s;
            master.setCascadeInput(s);
        }
        intr = master.pendingLevel() >= 0;
    }

    private void warnOnce(String key, String message) {
        if (warned.add(key)) {
            warnings.accept(message);
        }
    }

    /** Position of {@code level} in the priority order when {@code lowest} has the lowest priority: 0 is highest. */
    static int priority(int level, int lowest) {
        return (level - lowest - 1) & 7;
    }

    /** The highest-priority level set in {@code bits}, or -1. */
    static int highest(int bits, int lowest) {
        for (int i = 1; i <= 8; i++) {
            int level = (lowest + i) & 7;
            if ((bits & (1 << level)) != 0) {
                return level;
            }
        }
        return -1;
    }

    private final class Chip {
        private static final int OPERATIONAL = 0;
        private static final int EXPECT_ICW2 = 2;
        private static final int EXPECT_ICW3 = 3;
        private static final int EXPECT_ICW4 = 4;

        final String name;
        final boolean isMaster;
        int irr;
        int isr;
        int imr = 0xff;
        /** The levels on the IR pins. */
        int inputs;
        int vectorBase;
        /** The level with the lowest priority ("Automatic Rotation", "Specific Rotation"): 7 is fixed priority. */
        int lowest = 7;
        int icw3 = 7;
        int step = OPERATIONAL;
        boolean operational;
        boolean everInitialised;
        boolean levelTriggered;
        boolean single;
        boolean expectIcw4;
        boolean autoEoi;
        boolean rotateInAutoEoi;
        boolean specialFullyNested;
        boolean specialMask;
        boolean readIsr;
        boolean poll;

        Chip(String name, boolean isMaster) {
            this.name = name;
            this.isMaster = isMaster;
        }

        int slaveId() {
            return icw3 & 7;
        }

        boolean cascadesOn(int level) {
            return isMaster && !single && (icw3 & (1 << level)) != 0;
        }

        void setInput(int level, boolean high) {
            int bit = 1 << level;
            boolean was = (inputs & bit) != 0;
            if (high == was) {
                return;
            }
            if (high) {
                inputs |= bit;
                irr |= bit; // edge: the rising edge latches; level: IRR follows the pin
                if (!everInitialised && (imr & bit) == 0) {
                    warnOnce("uninitialised " + name, String.format(
                            "PIC %s: IRQ %d requested while unmasked, but the PIC was never initialised (ICW1-ICW4): pml4 has no BIOS, "
                                    + "so the kernel must program the PIC's vector base before any IRQ is delivered; the request waits",
                            name, level + (isMaster ? 0 : 8)));
                }
            } else {
                inputs &= ~bit;
                irr &= ~bit; // both modes: a request withdrawn before INTA is gone ("Edge and Level Triggered Modes")
            }
        }

        /**
         * The master's IR2, driven by the slave's INT. A withdrawn slave request leaves the master's
         * IRR2 latched in edge mode: the slave's INT falls only as the master is already answering
         * (on real boards this race gives the spurious IRQ 15 that kernels must EOI on the master),
         * and pml4 resolves the race that way every time so that IRQ 15 spurious interrupts happen,
         * deterministically. In level mode IRR2 follows the pin like any other.
         */
        void setCascadeInput(boolean high) {
            int bit = 1 << CASCADE_IRQ;
            if (high) {
                inputs |= bit;
                irr |= bit;
            } else {
                inputs &= ~bit;
                if (levelTriggered) {
                    irr &= ~bit;
                }
            }
        }

        /**
         * The level this chip would interrupt for, or -1 ("Interrupt (Service) Priority Resolver",
         * "Fully Nested Mode"): the highest-priority unmasked request, if its priority is higher than
         * the highest level in service. Special fully nested mode (ICW4.SFNM, master only) also lets
         * a request on a cascaded input through while that input is in service, so a higher-priority
         * slave IRQ can nest. Special mask mode (OCW3.SMM) enables every unmasked level that is not
         * itself in service, higher or lower ("Special Mask Mode").
         */
        int pendingLevel() {
            if (!operational) {
                return -1;
            }
            int requests = irr & ~imr;
            if (specialMask) {
                return highest(requests & ~isr, lowest);
            }
            int level = highest(requests, lowest);
            if (level < 0) {
                return -1;
            }
            int current = highest(isr, lowest);
            if (current < 0 || priority(level, lowest) < priority(current, lowest)) {
                return level;
            }
            if (specialFullyNested && level == current && cascadesOn(level)) {
                return level;
            }
            return -1;
        }

        /** One chip's part of INTA (or of a poll read): the level granted, or -1 when there is none. */
        int acknowledgeLevel() {
            int level = pendingLevel();
            if (level < 0) {
                return -1;
            }
            int bit = 1 << level;
            if (!levelTriggered) {
                irr &= ~bit;
            }
            if (autoEoi) {
                // "Automatic End of Interrupt (AEOI) Mode": the ISR bit is reset at the end of INTA, so it is never seen set.
                if (rotateInAutoEoi) {
                    lowest = level;
                }
            } else {
                isr |= bit;
            }
            return level;
        }

        int readEven() {
            if (poll) {
                // "The Poll Command": the read acts as INTA and returns I (bit 7) and the level W2-W0.
                poll = false;
                int level = acknowledgeLevel();
                return level < 0 ? 0 : 0x80 | level;
            }
            return readIsr ? isr : irr;
        }

        void writeEven(int v) {
            if ((v & 0x10) != 0) {
                icw1(v);
            } else if ((v & 0x08) != 0) {
                ocw3(v);
            } else {
                ocw2(v);
            }
        }

        void writeOdd(int v) {
            switch (step) {
                case EXPECT_ICW2 -> {
                    vectorBase = v & 0xf8; // 8086 mode: T7-T3; the chip supplies the level in bits 2:0
                    step = single ? (expectIcw4 ? EXPECT_ICW4 : OPERATIONAL) : EXPECT_ICW3;
                }
                case EXPECT_ICW3 -> {
                    icw3 = v;
                    step = expectIcw4 ? EXPECT_ICW4 : OPERATIONAL;
                }
                case EXPECT_ICW4 -> {
                    icw4(v);
                    step = OPERATIONAL;
                }
                default -> {
                    // OCW1: the mask.
                    if (!everInitialised && v != 0xff) {
                        warnOnce("mask " + name, String.format(
                                "PIC %s: mask 0x%02x written before the PIC was initialised (ICW1-ICW4); pml4 has no BIOS, "
                                        + "so nothing is delivered until the kernel initialises it", name, v));
                    }
                    imr = v;
                    return;
                }
            }
            if (step == OPERATIONAL) {
                finishInitialisation();
            }
        }

        /**
         * ICW1 ("Initialization Command Words"): a) the edge sense circuit is reset, so an input must
         * rise again to request (pml4 clears IRR; in level mode IRR follows the pins); b) the IMR is
         * cleared; c) IR7 gets the lowest priority; d) the slave address is set to 7; e) special mask
         * mode is cleared and the status read is IRR; f) without IC4, ICW4's functions are zero. The
         * data sheet does not say what happens to the ISR; pml4 clears it, as QEMU and Bochs do, so a
         * re-initialised chip starts with nothing in service.
         */
        private void icw1(int v) {
            levelTriggered = (v & 0x08) != 0;
            single = (v & 0x02) != 0;
            expectIcw4 = (v & 0x01) != 0;
            irr = levelTriggered ? inputs : 0;
            isr = 0;
            imr = 0;
            lowest = 7;
            icw3 = 7;
            specialMask = false;
            readIsr = false;
            poll = false;
            autoEoi = false;
            rotateInAutoEoi = false;
            specialFullyNested = false;
            operational = false;
            step = EXPECT_ICW2;
            if (!expectIcw4) {
                warnOnce("no icw4 " + name, String.format(
                        "PIC %s: ICW1 0x%02x asks for no ICW4, which leaves the 8259A in 8080/8085 mode; pml4 answers INTA as in 8086 mode", name, v));
            }
        }

        private void icw4(int v) {
            if ((v & 0x01) == 0) {
                warnOnce("upm " + name, String.format(
                        "PIC %s: ICW4 0x%02x selects 8080/8085 mode (bit 0 clear); pml4 answers INTA as in 8086 mode", name, v));
            }
            autoEoi = (v & 0x02) != 0;
            specialFullyNested = (v & 0x10) != 0;
            if (specialFullyNested && !isMaster) {
                warnOnce("sfnm slave", "PIC slave: special fully nested mode (ICW4 bit 4) means something only on the master; ignored");
                specialFullyNested = false;
            }
        }

        private void finishInitialisation() {
            operational = true;
            everInitialised = true;
            if (isMaster && (single || (icw3 & (1 << CASCADE_IRQ)) == 0)) {
                warnOnce("master wiring", String.format(
                        "PIC master: initialised %s, but a PC's slave is wired to IR2; IRQ 8-15 will arrive as vector 0x%02x (base + 2)",
                        single ? "in single mode" : String.format("with ICW3 0x%02x (no slave on IR2)", icw3), vectorBase | 2));
            } else if (!isMaster && (single || slaveId() != CASCADE_IRQ)) {
                warnOnce("slave wiring", String.format(
                        "PIC slave: initialised %s, but a PC's slave hangs on the master's IR2 (ICW3 = 2); IRQ 8-15 vectors will read 0xFF",
                        single ? "in single mode" : "with slave ID " + slaveId()));
            }
        }

        /** OCW2 ("Operation Command Words", "End of Interrupt", "Automatic Rotation", "Specific Rotation"). */
        private void ocw2(int v) {
            int level = v & 7;
            switch (v >> 5) {
                case 0b001 -> eoi(highest(isr, lowest), false); // non-specific EOI
                case 0b011 -> eoi(level, false); // specific EOI
                case 0b101 -> eoi(highest(isr, lowest), true); // rotate on non-specific EOI
                case 0b111 -> eoi(level, true); // rotate on specific EOI
                case 0b100 -> rotateInAutoEoi = true;
                case 0b000 -> rotateInAutoEoi = false;
                case 0b110 -> lowest = level; // set priority: L becomes the lowest
                default -> {
                    // 0b010: no operation.
                }
            }
        }

        private void eoi(int level, boolean rotate) {
            if (level < 0) {
                return; // nothing in service: an EOI has nothing to reset
            }
            isr &= ~(1 << level);
            if (rotate) {
                lowest = level;
            }
        }

        /** OCW3 ("Reading the 8259A Status", "The Poll Command", "Special Mask Mode"). */
        private void ocw3(int v) {
            if ((v & 0x40) != 0) {
                specialMask = (v & 0x20) != 0;
            }
            if ((v & 0x04) != 0) {
                poll = true;
            }
            if ((v & 0x02) != 0) {
                readIsr = (v & 0x01) != 0;
            }
        }

        @Override
        public String toString() {
            return String.format("%s base 0x%02x IRR %02x ISR %02x IMR %02x%s", operational ? "ready" : "uninitialised",
                    vectorBase, irr, isr, imr, lowest != 7 ? " lowest " + lowest : "");
        }
    }
}
