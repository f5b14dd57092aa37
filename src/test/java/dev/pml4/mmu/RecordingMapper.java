package dev.pml4.mmu;

import dev.pml4.machine.PhysicalMemory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Test-only {@link PageMapper} that stands in for Unicorn: it records every call and keeps the
 * current mappings, and it is as strict as {@code uc_mem_map_ptr}/{@code uc_mem_unmap}/
 * {@code uc_mem_protect} are: mapping over a mapped byte, or unmapping/protecting a range that is
 * not exactly one mapping, fails the test. It can also play the engine's part in an access
 * ({@link #read}), so tests see which frame an access really reaches.
 */
final class RecordingMapper implements PageMapper {
    /** One call, with the physical address a RAM or hole mapping starts at (-1 for protect/unmap). */
    record Call(String op, long linear, long size, int perms, long physical) {
        @Override
        public String toString() {
            return String.format("%s 0x%x+0x%x %s%s", op, linear, size, rwx(perms),
                    physical < 0 ? "" : String.format(" @0x%x", physical));
        }
    }

    /** A live mapping: RAM when {@code frames} is set, a hole otherwise. */
    record Mapping(long linear, long size, int perms, MemorySegment frames, long physical) {
        long end() {
            return linear + size;
        }

        boolean ram() {
            return frames != null;
        }
    }

    static String rwx(int perms) {
        return ((perms & ResidentMappings.READ) != 0 ? "r" : "-")
                + ((perms & ResidentMappings.WRITE) != 0 ? "w" : "-")
                + ((perms & ResidentMappings.EXEC) != 0 ? "x" : "-");
    }

    private final long ramBase;
    final List<Call> calls = new ArrayList<>();
    private final TreeMap<Long, Mapping> mapped = new TreeMap<>();

    RecordingMapper(PhysicalMemory memory) {
        this.ramBase = memory.ramSlice(0, PhysicalMemory.PAGE_SIZE).address();
    }

    @Override
    public void mapOwn(long linear, MemorySegment page, int perms) {
        throw new AssertionError("the MMU never maps pml4's own pages");
    }

    @Override
    public void unmapOwn(long linear) {
        throw new AssertionError("the MMU never maps pml4's own pages");
    }

    @Override
    public void mapRam(long linear, long size, int perms, MemorySegment frames) {
        requireAligned(linear, size);
        if (frames.byteSize() != size) {
            throw new AssertionError("mapRam of 0x" + Long.toHexString(size) + " bytes onto a segment of " + frames.byteSize());
        }
        requireFree(linear, size);
        long physical = frames.address() - ramBase;
        mapped.put(linear, new Mapping(linear, size, perms, frames, physical));
        calls.add(new Call("map", linear, size, perms, physical));
    }

    @Override
    public void mapHole(long linear, long size, long physical) {
        requireAligned(linear, size);
        requireFree(linear, size);
        mapped.put(linear, new Mapping(linear, size, ResidentMappings.READ | ResidentMappings.WRITE, null, physical));
        calls.add(new Call("hole", linear, size, ResidentMappings.READ | ResidentMappings.WRITE, physical));
    }

    @Override
    public void protect(long linear, long size, int perms) {
        Mapping m = exactly(linear, size, "protect");
        mapped.put(linear, new Mapping(linear, size, perms, m.frames(), m.physical()));
        calls.add(new Call("protect", linear, size, perms, -1));
    }

    @Override
    public void unmap(long linear, long size) {
        exactly(linear, size, "unmap");
        mapped.remove(linear);
        calls.add(new Call("unmap", linear, size, 0, -1));
    }

    private static void requireAligned(long linear, long size) {
        if ((linear & 0xfff) != 0 || (size & 0xfff) != 0 || size <= 0) {
            throw new AssertionError(String.format("unaligned mapping 0x%x+0x%x", linear, size));
        }
    }

    private void requireFree(long linear, long size) {
        Map.Entry<Long, Mapping> below = mapped.lowerEntry(linear + size);
        if (below != null && below.getValue().end() > linear) {
            throw new AssertionError(String.format("mapping 0x%x+0x%x overlaps %s", linear, size, below.getValue()));
        }
    }

    private Mapping exactly(long linear, long size, String what) {
        Mapping m = mapped.get(linear);
        if (m == null || m.size() != size) {
            throw new AssertionError(String.format("%s 0x%x+0x%x: not one mapping (%s)", what, linear, size, m));
        }
        return m;
    }

    /** The mapping holding {@code linear}, or null. */
    Mapping at(long linear) {
        Map.Entry<Long, Mapping> e = mapped.floorEntry(linear);
        return e != null && e.getValue().end() > linear ? e.getValue() : null;
    }

    List<Mapping> mappings() {
        return List.copyOf(mapped.values());
    }

    /** Whether the engine could make the access without a hook. */
    boolean allows(long linear, int perm) {
        Mapping m = at(linear);
        return m != null && (m.perms() & perm) == perm;
    }

    /** The byte the engine reads at {@code linear} through its mapping (0xff in a hole). */
    int read(long linear) {
        Mapping m = at(linear);
        if (m == null) {
            throw new AssertionError(String.format("0x%x is not mapped", linear));
        }
        return m.ram() ? m.frames().get(ValueLayout.JAVA_BYTE, linear - m.linear()) & 0xff : 0xff;
    }

    /** The physical address the engine's mapping gives {@code linear}. */
    long physical(long linear) {
        Mapping m = at(linear);
        if (m == null) {
            throw new AssertionError(String.format("0x%x is not mapped", linear));
        }
        return m.physical() + (linear - m.linear());
    }

    /** Calls since the last {@link #clear()}. */
    List<String> log() {
        return calls.stream().map(Call::toString).toList();
    }

    void clear() {
        calls.clear();
    }
}
