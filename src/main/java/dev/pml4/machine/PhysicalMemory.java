package dev.pml4.machine;

import com.google.common.collect.Range;
import com.google.common.collect.RangeMap;
import com.google.common.collect.TreeRangeMap;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The machine's physical address space: off-heap RAM from physical 0, and holes everywhere else.
 *
 * <p>RAM is one page-aligned native segment owned by an {@link Arena} that this object owns. Unicorn
 * maps virtual pages straight onto slices of it ({@code uc_mem_map_ptr}), so the arena must outlive
 * every Unicorn mapping: the machine closes its engine first and this memory last.
 *
 * <p>A hole reads as all-ones and ignores writes, as a bus with nothing behind an address does on a
 * PC (a master abort). All multi-byte values are little-endian.
 */
public final class PhysicalMemory implements AutoCloseable {
    public static final long PAGE_SIZE = 4096;

    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** What lies at a physical address. Devices with MMIO join this map later. */
    public enum RegionKind { RAM }

    private final Arena arena;
    private final MemorySegment ram;
    private final RangeMap<Long, RegionKind> map = TreeRangeMap.create();

    /** @param ramSize bytes of RAM starting at physical 0; a positive multiple of 4 KiB. */
    public PhysicalMemory(long ramSize) {
        if (ramSize <= 0 || ramSize % PAGE_SIZE != 0) {
            throw new IllegalArgumentException("RAM size must be a positive multiple of 4 KiB, not " + ramSize);
        }
        this.arena = Arena.ofShared();
        this.ram = dev.pml4.ffi.libc.AnonymousMemory.map(ramSize, arena);
        map.put(Range.closedOpen(0L, ramSize), RegionKind.RAM);
    }

    public long ramSize() {
        return ram.byteSize();
    }

    /** True when every byte of [address, address + length) is RAM. */
    public boolean isRam(long address, long length) {
        if (length <= 0 || address < 0 || address + length < address) {
            return false;
        }
        if (address + length <= ram.byteSize()) {
            return true; // RAM is one run from 0: the page walker's hot path needs no map lookup
        }
        var entry = map.getEntry(address);
        return entry != null && entry.getValue() == RegionKind.RAM
                && entry.getKey().contains(address + length - 1);
    }

    /**
     * The native RAM behind [address, address + length), for mapping into Unicorn or bulk copies.
     * @throws IllegalArgumentException when the range is not entirely RAM
     */
    public MemorySegment ramSlice(long address, long length) {
        if (!isRam(address, length)) {
            throw new IllegalArgumentException(String.format(
                    "physical range 0x%x..0x%x is not RAM", address, address + length));
        }
        return ram.asSlice(address, length);
    }

    public long read64(long address) {
        return isRam(address, 8) ? ram.get(U64, address) : -1L;
    }

    public int read32(long address) {
        return isRam(address, 4) ? ram.get(U32, address) : -1;
    }

    public int read16(long address) {
        return isRam(address, 2) ? ram.get(U16, address) & 0xffff : 0xffff;
    }

    public int read8(long address) {
        return isRam(address, 1) ? ram.get(ValueLayout.JAVA_BYTE, address) & 0xff : 0xff;
    }

    public void write64(long address, long value) {
        if (isRam(address, 8)) {
            ram.set(U64, address, value);
        }
    }

    public void write32(long address, int value) {
        if (isRam(address, 4)) {
            ram.set(U32, address, value);
        }
    }

    public void write16(long address, int value) {
        if (isRam(address, 2)) {
            ram.set(U16, address, (short) value);
        }
    }

    public void write8(long address, int value) {
        if (isRam(address, 1)) {
            ram.set(ValueLayout.JAVA_BYTE, address, (byte) value);
        }
    }

    /** Reads bytes; those that fall in a hole read as 0xFF. */
    public byte[] readBytes(long address, int length) {
        byte[] out = new byte[length];
        if (isRam(address, length)) {
            MemorySegment.copy(ram, ValueLayout.JAVA_BYTE, address, out, 0, length);
        } else {
            for (int i = 0; i < length; i++) {
                out[i] = (byte) read8(address + i);
            }
        }
        return out;
    }

    /** Writes bytes; those that fall in a hole are dropped. */
    public void writeBytes(long address, byte[] data) {
        if (isRam(address, data.length)) {
            MemorySegment.copy(data, 0, ram, ValueLayout.JAVA_BYTE, address, data.length);
        } else {
            for (int i = 0; i < data.length; i++) {
                write8(address + i, data[i]);
            }
        }
    }

    /** Zeroes [address, address + length) where it is RAM. */
    public void zero(long address, long length) {
        if (isRam(address, length)) {
            ram.asSlice(address, length).fill((byte) 0);
        } else {
            for (long i = 0; i < length; i++) {
                write8(address + i, 0);
            }
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
