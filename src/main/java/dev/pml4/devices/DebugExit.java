package dev.pml4.devices;

import java.util.function.IntConsumer;

/**
 * QEMU's isa-debug-exit at port 0xF4 (BOOT.md "Devices"): writing v ends the run with exit status
 * (v &lt;&lt; 1) | 1. Reads return all-ones.
 */
public final class DebugExit implements PortDevice {
    public static final int PORT = 0xf4;

    private final IntConsumer exit;

    /** @param exit receives the value written, masked to the access width */
    public DebugExit(IntConsumer exit) {
        this.exit = exit;
    }

    @Override
    public int in(int port, int size) {
        return -1;
    }

    @Override
    public void out(int port, int size, int value) {
        exit.accept(size == 4 ? value : value & ((1 << (8 * size)) - 1));
    }
}
