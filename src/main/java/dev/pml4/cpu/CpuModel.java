package dev.pml4.cpu;

/** Fixed properties of the processor pml4 models. */
public final class CpuModel {
    /**
     * MAXPHYADDR (SDM Vol. 3A 4.1.4): physical-address width. 40 bits, as QEMU's default x86-64
     * CPU reports, so page-table entries behave the same as a student's kernel sees them on QEMU.
     */
    public static final int MAX_PHYS_ADDR = 40;

    private CpuModel() {
    }
}
