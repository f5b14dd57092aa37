package dev.pml4.machine;

import static dev.pml4.machine.Messages.range;

/** One { base, length, type } entry of the boot info's memory map (BOOT.md, "Boot info"). */
public record MemoryMapEntry(long base, long length, BootProtocol.MemoryType type) {
    public long end() {
        return base + length;
    }

    @Override
    public String toString() {
        return range(base, length) + " " + type;
    }
}
