package dev.pml4.devices;

import com.google.common.collect.Range;
import com.google.common.collect.RangeMap;
import com.google.common.collect.TreeRangeMap;

import java.util.BitSet;
import java.util.function.Consumer;

/**
 * The 64 KiB I/O port space (SDM Vol. 1 18.3). A port with no device reads all-ones and ignores
 * writes, as on a PC; the first access to each such port is reported once.
 */
public final class PortBus {
    private final RangeMap<Integer, PortDevice> devices = TreeRangeMap.create();
    private final BitSet reported = new BitSet(65536);
    private final Consumer<String> warnings;

    public PortBus(Consumer<String> warnings) {
        this.warnings = warnings;
    }

    /** Attaches {@code device} to ports {@code first} through {@code last} inclusive. */
    public void attach(int first, int last, PortDevice device) {
        devices.put(Range.closed(first, last), device);
    }

    public int in(int port, int size) {
        PortDevice d = devices.get(port);
        if (d == null) {
            unknown(port, "IN");
            return size == 4 ? -1 : (1 << (8 * size)) - 1;
        }
        return d.in(port, size);
    }

    public void out(int port, int size, int value) {
        PortDevice d = devices.get(port);
        if (d == null) {
            unknown(port, String.format("OUT 0x%x", value));
            return;
        }
        d.out(port, size, value);
    }

    private void unknown(int port, String what) {
        if (!reported.get(port)) {
            reported.set(port);
            warnings.accept(String.format("%s to I/O port 0x%x: no device there (reads all-ones, writes are ignored; reported once per port)", what, port));
        }
    }
}
