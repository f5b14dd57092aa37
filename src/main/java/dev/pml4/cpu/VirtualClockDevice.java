package dev.pml4.cpu;

/**
 * A device driven by virtual time (the 8254 PIT): it is brought up to a moment, measured in the
 * processor's virtual nanoseconds, and says when it next changes an interrupt line, so that the
 * processor looks for interrupts only then and not at every instruction.
 */
public interface VirtualClockDevice {
    void advanceTo(long now);

    /** When the device next raises an interrupt request, or {@link Long#MAX_VALUE}. */
    long nextEventAt();

    VirtualClockDevice NONE = new VirtualClockDevice() {
        public void advanceTo(long now) {
        }

        public long nextEventAt() {
            return Long.MAX_VALUE;
        }
    };
}
