package dev.pml4.cpu;

/**
 * What the processor sees of its interrupt controller: the INTR pin and the INTA cycle (SDM Vol.
 * 3A 6.3.1, "maskable hardware interrupts"). The 8259A pair provides it.
 */
public interface InterruptLine {
    /** INTR is asserted: an unmasked request of higher priority than anything in service. */
    boolean intr();

    /** The interrupt-acknowledge cycle: the vector to deliver (perhaps a spurious one). */
    int acknowledge();

    /** A machine with no interrupt controller. */
    InterruptLine NONE = new InterruptLine() {
        public boolean intr() {
            return false;
        }

        public int acknowledge() {
            throw new IllegalStateException("no interrupt controller");
        }
    };
}
