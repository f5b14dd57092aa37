package dev.pml4.mmu;

import dev.pml4.machine.PhysicalMemory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The engine-side image of the TLB: every mapped range ("chunk") is backed by resident TLB entries,
 * and its permissions are what those entries allow right now (DESIGN.md, "The TLB model"):
 * read if a DTLB entry allows a read, write only if that entry allows a write <em>and</em> its
 * dirty flag is already set (so the first write comes back to Java to set D), execute if an ITLB
 * entry allows a fetch. A chunk is as large as the smaller of the two entries covering it, and no
 * larger than a run of physical memory of one kind (RAM or hole).
 */
public final class ResidentMappings {
    static final int READ = 1;
    static final int WRITE = 2;
    static final int EXEC = 4;

    /** A mapped range and what it was mapped with. */
    public record Chunk(long linear, long size, long physical, boolean ram, int perms) {
        long end() {
            return linear + size;
        }
    }

    private final PhysicalMemory memory;
    private final PageMapper mapper;
    private final TreeMap<Long, Chunk> chunks = new TreeMap<>();
    private long mapCount;
    private long unmapCount;

    public ResidentMappings(PhysicalMemory memory, PageMapper mapper) {
        this.memory = memory;
        this.mapper = mapper;
    }

    /**
     * Makes the engine's mapping of the 4 KiB page holding {@code linear} agree with the entries
     * given (either may be null). Both must translate {@code linear} to the same physical address.
     */
    public void install(long linear, TlbEntry data, TlbEntry instruction, int perms) {
        PageSize size = data == null ? instruction.size()
                : instruction == null ? data.size()
                : (data.size().bytes() <= instruction.size().bytes() ? data.size() : instruction.size());
        TlbEntry any = data != null ? data : instruction;
        long chunkSize = size.bytes();
        long base = linear & -chunkSize;
        long physical = any.physicalAddress(base);
        // Shrink until the physical range is all RAM or all hole, so that one kind of mapping serves
        // it, and until it does not swallow a differently shaped chunk (code and data of different
        // page sizes in one region would otherwise unmap each other in turn).
        while (chunkSize > PhysicalMemory.PAGE_SIZE && (!uniform(physical, chunkSize) || overlapsOther(base, chunkSize))) {
            chunkSize = chunkSize > PageSize.SIZE_2M.bytes() ? PageSize.SIZE_2M.bytes() : PhysicalMemory.PAGE_SIZE;
            base = linear & -chunkSize;
            physical = any.physicalAddress(base);
        }
        boolean ram = memory.isRam(physical, chunkSize);
        Chunk existing = chunks.get(base);
        if (existing != null && existing.size() == chunkSize && existing.physical() == physical && existing.ram() == ram) {
            if (existing.perms() != perms) {
                if (ram) {
                    mapper.protect(base, chunkSize, perms);
                }
                chunks.put(base, new Chunk(base, chunkSize, physical, ram, perms));
            }
            return;
        }
        removeRange(base, base + chunkSize);
        if (ram) {
            mapper.mapRam(base, chunkSize, perms, memory.ramSlice(physical, chunkSize));
        } else {
            mapper.mapHole(base, chunkSize, physical);
        }
        mapCount++;
        chunks.put(base, new Chunk(base, chunkSize, physical, ram, perms));
    }

    private boolean overlapsOther(long base, long size) {
        Chunk exact = chunks.get(base);
        if (exact != null && exact.size() == size) {
            return false;
        }
        Map.Entry<Long, Chunk> below = chunks.lowerEntry(base + size);
        return below != null && below.getValue().end() > base;
    }

    private boolean uniform(long physical, long size) {
        if (memory.isRam(physical, size)) {
            return true;
        }
        // All hole: neither end nor anything between touches RAM (RAM is one run from 0).
        return physical >= memory.ramSize();
    }

    /** Unmaps whatever overlaps [start, end). */
    public void removeRange(long start, long end) {
        List<Chunk> doomed = new ArrayList<>();
        Map.Entry<Long, Chunk> e = chunks.floorEntry(start);
        if (e != null && e.getValue().end() > start) {
            doomed.add(e.getValue());
        }
        for (Chunk c : chunks.subMap(start, true, end, false).values()) {
            if (doomed.isEmpty() || doomed.getLast() != c) {
                doomed.add(c);
            }
        }
        for (Chunk c : doomed) {
            chunks.remove(c.linear());
            mapper.unmap(c.linear(), c.size());
            unmapCount++;
        }
    }

    public void removeAll() {
        for (Chunk c : chunks.values()) {
            mapper.unmap(c.linear(), c.size());
            unmapCount++;
        }
        chunks.clear();
    }

    /** The chunk holding {@code linear}, or null. */
    public Chunk chunkAt(long linear) {
        Map.Entry<Long, Chunk> e = chunks.floorEntry(linear);
        return e != null && e.getValue().end() > linear ? e.getValue() : null;
    }

    public List<Chunk> chunks() {
        return List.copyOf(chunks.values());
    }

    public long mapCount() {
        return mapCount;
    }

    public long unmapCount() {
        return unmapCount;
    }
}
