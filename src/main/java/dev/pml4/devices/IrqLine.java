package dev.pml4.devices;

/**
 * One interrupt request wire from a device to an interrupt controller. The device drives the level;
 * the controller decides what an edge or a level means (8259A ICW1.LTIM). A device calls
 * {@link #set} only when its output changes, but repeating a level is harmless.
 */
@FunctionalInterface
public interface IrqLine {
    void set(boolean high);
}
