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
    /**
     * Frames whose writes by the guest must come back to Java (the TLB checker's live paging
     * structures; DESIGN.md fact 12 asks the same for other aliases of executable frames): any
     * chunk onto one of them is a single 4 KiB page mapped without write permission, except
     * while a write window is open on it.
     */
    private final java.util.TreeSet<Long> writeWatched = new java.util.TreeSet<>();
    /**
     * Frames the engine has translated code from, and the linear pages that code runs at (DESIGN.md
     * fact 12): the engine sees a write to code only through the linear address it translated the
     * code at, so every other chunk onto such a frame is a single 4 KiB page without write
     * permission. The guest's write through one comes back to Java, which drops that code first.
     */
    private final TreeMap<Long, java.util.Set<Long>> codeFrames = new TreeMap<>();
    /** Chunks made writable for one guest write to a watched frame: linear base to the chunk opened. */
    private final Map<Long, Chunk> writeWindows = new java.util.HashMap<>();
    private final EngineMappingBudget budget;
    private long mapCount;
    private long unmapCount;
    /** Counts every change of {@link #chunks}: what was checked against them is stale when it moved. */
    private long version;
    private long budgetUnmaps;

    public ResidentMappings(PhysicalMemory memory, PageMapper mapper) {
        this(memory, mapper, mapper.engineLimit());
    }

    /** {@code engineLimit}: at most this many chunks mapped in the engine at once (see {@link EngineMappingBudget}). */
    public ResidentMappings(PhysicalMemory memory, PageMapper mapper, int engineLimit) {
        this.memory = memory;
        this.mapper = mapper;
        this.budget = new EngineMappingBudget(engineLimit);
    }

    /**
     * Makes the engine's mapping of the 4 KiB page holding {@code linear} agree with the entries
     * given (either may be null). Both must translate {@code linear} to the same physical address.
     */
    public void install(long linear, TlbEntry data, TlbEntry instruction, int perms) {
        version++;
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
        while (chunkSize > PhysicalMemory.PAGE_SIZE && (!uniform(physical, chunkSize) || overlapsOther(base, chunkSize)
                || watchedWithin(physical, chunkSize) || codeAliasWithin(base, physical, chunkSize))) {
            chunkSize = chunkSize > PageSize.SIZE_2M.bytes() ? PageSize.SIZE_2M.bytes() : PhysicalMemory.PAGE_SIZE;
            base = linear & -chunkSize;
            physical = any.physicalAddress(base);
        }
        boolean ram = memory.isRam(physical, chunkSize);
        if (!writeWatched.isEmpty() && writeWatched.contains(physical)) {
            perms &= ~WRITE;
        }
        if (!codeFrames.isEmpty() && codeAliasWithin(base, physical, chunkSize)) {
            perms &= ~WRITE; // a 4 KiB alias of a frame whose code runs elsewhere (the loop above shrank it)
        }
        Chunk existing = chunks.get(base);
        if (existing != null && existing.size() == chunkSize && existing.physical() == physical && existing.ram() == ram) {
            if (existing.perms() != perms) {
                if (ram) {
                    mapper.protect(base, chunkSize, perms);
                }
                chunks.put(base, new Chunk(base, chunkSize, physical, ram, perms));
            }
            budget.used(base);
            return;
        }
        removeRange(base, base + chunkSize);
        for (long victim; (victim = budget.victim(chunks.size(), base)) >= 0; ) {
            removeRange(victim, victim + 1); // its TLB entries stay: the next access maps it again
            budgetUnmaps++;
        }
        if (ram) {
            mapper.mapRam(base, chunkSize, perms, memory.ramSlice(physical, chunkSize));
        } else {
            mapper.mapHole(base, chunkSize, physical);
        }
        mapCount++;
        chunks.put(base, new Chunk(base, chunkSize, physical, ram, perms));
        budget.used(base);
    }

    private boolean overlapsOther(long base, long size) {
        Chunk exact = chunks.get(base);
        if (exact != null && exact.size() == size) {
            return false;
        }
        Map.Entry<Long, Chunk> below = chunks.lowerEntry(base + size);
        return below != null && below.getValue().end() > base;
    }

    private boolean watchedWithin(long physical, long size) {
        if (writeWatched.isEmpty()) {
            return false;
        }
        Long f = writeWatched.ceiling(physical);
        return f != null && f < physical + size;
    }

    /** Whether [physical, physical + size), mapped at {@code base}, holds a frame whose code runs at another linear page. */
    private boolean codeAliasWithin(long base, long physical, long size) {
        if (codeFrames.isEmpty()) {
            return false;
        }
        if (size == PhysicalMemory.PAGE_SIZE) {
            java.util.Set<Long> at = codeFrames.get(physical);
            return at != null && !at.contains(base);
        }
        for (Map.Entry<Long, java.util.Set<Long>> e : codeFrames.subMap(physical, physical + size).entrySet()) {
            if (!e.getValue().contains(base + (e.getKey() - physical))) {
                return true;
            }
        }
        return false;
    }

    /**
     * The engine translated code from {@code frame} at the linear page {@code linearPage}: from now
     * on a guest write to the frame through any other linear page must come back to Java. Returns
     * the chunks that allow one now, for the caller to remove with {@link #removeRange} once the
     * engine has stopped (not while it translates); they map themselves again, 4 KiB and read-only,
     * when next used.
     */
    public List<Chunk> watchCode(long frame, long linearPage) {
        if (!codeFrames.computeIfAbsent(frame, f -> new java.util.HashSet<>()).add(linearPage)) {
            return List.of();
        }
        List<Chunk> writable = new ArrayList<>();
        for (Chunk c : chunks.values()) {
            if (c.ram() && (c.perms() & WRITE) != 0 && c.physical() <= frame && frame < c.physical() + c.size()
                    && c.linear() + (frame - c.physical()) != linearPage) {
                writable.add(c);
            }
        }
        return writable;
    }

    /**
     * The linear pages whose translated code came from the frame of {@code physical}, if the page
     * of {@code linear} is not one of them (a write there is one the engine would not see), else
     * an empty set. The frame is no longer watched: the caller drops that code.
     */
    public java.util.Set<Long> codeWrittenThroughAlias(long linear, long physical) {
        if (codeFrames.isEmpty()) {
            return java.util.Set.of();
        }
        java.util.Set<Long> at = codeFrames.get(physical & ~0xfffL);
        if (at == null || at.contains(linear & ~0xfffL)) {
            return java.util.Set.of();
        }
        codeFrames.remove(physical & ~0xfffL);
        return at;
    }

    /**
     * From now on guest writes to the 4 KiB {@code frame} come back to Java: chunks onto it that
     * allow writes are unmapped, and map themselves again (4 KiB, read-only) on the next access.
     */
    public void watchWrites(long frame) {
        if (!writeWatched.add(frame)) {
            return;
        }
        List<Chunk> doomed = new ArrayList<>();
        for (Chunk c : chunks.values()) {
            if (c.ram() && (c.perms() & WRITE) != 0 && c.physical() <= frame && frame < c.physical() + c.size()) {
                doomed.add(c);
            }
        }
        for (Chunk c : doomed) {
            removeRange(c.linear(), c.end());
        }
    }

    /** Writes to {@code frame} need not come back any more; read-only chunks onto it gain write permission when next written. */
    public void unwatchWrites(long frame) {
        writeWatched.remove(frame);
    }

    public boolean isWriteWatched(long physical) {
        return !writeWatched.isEmpty() && writeWatched.contains(physical & ~0xfffL);
    }

    /** Lets the engine write the watched page of {@code linear} until {@link #closeWriteWindow}: one guest write, retried. */
    public void openWriteWindow(long linear) {
        Chunk c = chunkAt(linear);
        if (c == null || !c.ram() || writeWindows.containsKey(c.linear())) {
            return;
        }
        mapper.protect(c.linear(), c.size(), c.perms() | WRITE);
        writeWindows.put(c.linear(), c);
    }

    /** Makes the page of {@code linear} read-only again, if the chunk opened is still mapped. */
    public void closeWriteWindow(long linear) {
        Chunk opened = writeWindows.remove(linear & ~0xfffL);
        if (opened != null && chunks.get(opened.linear()) == opened) {
            mapper.protect(opened.linear(), opened.size(), opened.perms());
        }
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
            version++;
            chunks.remove(c.linear());
            budget.removed(c.linear());
            mapper.unmap(c.linear(), c.size());
            unmapCount++;
        }
    }

    public void removeAll() {
        version++;
        for (Chunk c : chunks.values()) {
            mapper.unmap(c.linear(), c.size());
            unmapCount++;
        }
        chunks.clear();
        budget.clear();
    }

    /** The chunk holding {@code linear}, or null. */
    public Chunk chunkAt(long linear) {
        Map.Entry<Long, Chunk> e = chunks.floorEntry(linear);
        return e != null && e.getValue().end() > linear ? e.getValue() : null;
    }

    /** Whether {@code linear} lies in RAM mapped with the right to execute (which the engine itself may not hold). */
    public boolean executable(long linear) {
        Chunk c = chunkAt(linear);
        return c != null && c.ram() && (c.perms() & EXEC) != 0;
    }

    /** Changes when any chunk is mapped, re-permitted or removed. */
    public long version() {
        return version;
    }

    /** Where the chunks are made real (the engine, in a machine). */
    public PageMapper mapper() {
        return mapper;
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

    /** Chunks unmapped only to stay within the engine's budget (their TLB entries stayed). */
    public long budgetUnmaps() {
        return budgetUnmaps;
    }

    /** How many chunks the engine may hold at once. */
    public int engineLimit() {
        return budget.limit();
    }
}
