package dev.pml4.cpu;

import dev.pml4.ffi.unicorn.Protection;
import dev.pml4.ffi.unicorn.Unicorn;
import dev.pml4.machine.PhysicalMemory;

import java.lang.foreign.MemorySegment;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.SequencedSet;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Resident translations made real in Unicorn: RAM through {@code uc_mem_map_ptr} straight onto the
 * frames in physical memory (two virtual pages on one frame alias for free), and physical holes
 * through MMIO callbacks that read all-ones and drop writes, reporting the first access to each
 * hole page.
 *
 * <p><b>Parked regions.</b> Unicorn 2.0.1 rebuilds its whole view of memory (QEMU's flat view and
 * dispatch tables) on every map, unmap, and every protect that changes whether a region is
 * writable: measured 13 us per change at 10 regions, 50 us at 128, 0.9 ms at 512 (pml4 bench,
 * and DESIGN.md fact 13). A protect that leaves writability alone costs 0.1 us, and re-pointing a
 * region at another frame in place ({@link Unicorn#retargetRegion}: one store into QEMU's RAM block,
 * then a soft-TLB flush of the range) under 1 us. So a read-only RAM region that the
 * TLB model drops (INVLPG, MOV to CR3, eviction) is not unmapped but <em>parked</em>: it stays in
 * Unicorn with no permissions, so the next access to it comes back to Java as a PROT event exactly
 * as an unmapped one would, and the TLB stays exact. When the TLB maps the same linear range again,
 * with the same frame or (after a CR3 switch) another one, the region is unparked: retargeted if the
 * frame changed, and the permissions restored. A switch between two address spaces then costs no
 * Unicorn remapping, and no host system call either. (Until retargeting in place, a parked region
 * sat on a host window of a memfd that one {@code mmap(MAP_FIXED)} re-pointed: 4-5 us of a
 * switch's 9, most of it the TLB-shootdown IPI of unmapping the old host page, and a page fault.)
 *
 * <p>Three things keep a parked region unreachable. Its translated code never runs unseen: once the
 * Cpu runs code it keeps that code and walks it before it runs ({@link #keepParkedCode}); before,
 * the code is dropped when the region parks (only the pages translation fetched from, 0.1 us each;
 * the whole of a 2 MiB range costs 84 us). QEMU's own software TLB is flushed
 * for it, since {@code uc_mem_protect} does not touch QEMU's cached entries. And QEMU's code lookup
 * fills that TLB on its own before the fetch comes to Java, so {@link #touched} flushes the page
 * again whenever an engine event reaches a parked page. Writable regions are unmapped as before:
 * parking one and unparking it writable would cost the two rebuilds that unmapping and mapping do,
 * and parking it without making QEMU's region read-only is unsafe: Unicorn checks a region's
 * permissions only on QEMU's slow path, and the soft-TLB entry that a read fills for a writable
 * region allows writes (x86 with paging off gives every page read, write and execute), so the
 * guest's first write through a read-only or clean TLB entry would never reach Java.
 * At most {@link #PARKED_LIMIT} regions stay parked (the least recently parked go first), which
 * bounds Unicorn's region count and so the cost of every rebuild.
 */
final class EnginePageMapper implements EngineMemory {
    /**
     * Parked regions kept at most, beyond the live ones (at most {@code EngineMappingBudget}'s 128).
     * Each costs every later rebuild about 0.3 us, so a miss on a page never held pays up to 10 us
     * more with 16 parked (pml4 bench: 26.5 -> 34 us, two rebuilds); a few address spaces of a few
     * read-only pages each (writable ones are not parked) still fit.
     */
    static final int PARKED_LIMIT = 16;

    /** One Unicorn region pml4 mapped: RAM, straight onto the frames it shows now ({@code backing}); or a hole. */
    private static final class Region {
        final long linear;
        final long size;
        /** The host memory of the frames the region shows, and their physical address (RAM only). */
        MemorySegment backing;
        long physical;
        final boolean ram;
        int perms;
        boolean parked;
        /**
         * QEMU's read-only flag of the region, which {@code uc_mem_protect} sets from the write
         * permission; changing it is what rebuilds the memory view. {@code uc_mem_map_ptr} leaves it
         * clear whatever the permissions (measured: the first protect of a region mapped read-only
         * to no access rebuilds, later ones do not).
         */
        boolean qemuReadonly;
        /** The linear range was unmapped before and mapped again: the TLB comes back to it, so it parks. */
        final boolean returning;
        /** 4 KiB pages the translator fetched code from while the region was mapped. */
        final Set<Long> translated = new HashSet<>();

        Region(long linear, long size, boolean ram, MemorySegment backing, long physical, int perms, boolean returning) {
            this.linear = linear;
            this.size = size;
            this.ram = ram;
            this.backing = backing;
            this.physical = physical;
            this.perms = perms;
            this.returning = returning;
        }
    }

    private final Unicorn engine;
    private final PhysicalMemory memory;
    private final long ramBase;
    private final Unicorn.MmioHandlers holes;
    private final Consumer<String> warnings;
    private final Set<Long> reportedHoles = new HashSet<>();
    private final TreeMap<Long, Region> regions = new TreeMap<>();
    private final SequencedSet<Long> parkedOrder = new LinkedHashSet<>();
    /**
     * Linear bases of RAM regions unmapped lately, oldest first. A region parks only once the TLB
     * has come back to its range: its first park rebuilds the memory view all the same ({@link
     * Region#qemuReadonly}), and a range touched once (a kernel streaming through pages) would
     * only add to the region count, which every rebuild pays for.
     */
    private final SequencedSet<Long> released = new LinkedHashSet<>();
    private static final int RELEASED_REMEMBERED = 256;
    private final boolean parking;
    /**
     * Whether a parked region keeps its translated code: the Cpu finds the ITLB miss when that code
     * runs (precise mode's hook at the instruction, Cpu.codeFetchable; fast mode's block hook before
     * the block, Cpu.walkBlockCode, told the pages by {@link #onParkedCodeChange}), which spares a
     * retranslation on every CR3 switch back to the same code.
     */
    private java.util.function.BooleanSupplier keepParkedCode = () -> false;
    /** Times translated code was dropped because a parked region came back onto another frame. */
    private long codeDrops;
    private long unparks;
    private long retargets;
    /** Changes that made Unicorn rebuild its memory view: maps, unmaps, protects that change writability. */
    private long rebuilds;

    EnginePageMapper(Unicorn engine, PhysicalMemory memory, Consumer<String> warnings) {
        this.engine = engine;
        this.memory = memory;
        this.ramBase = memory.ramSlice(0, PhysicalMemory.PAGE_SIZE).address();
        this.warnings = warnings;
        this.parking = Unicorn.canFlushSoftTlb() && Unicorn.canRetargetRegions();
        this.holes = engine.mmioHandlers(
                (physicalBase, offset, size) -> {
                    report(physicalBase + offset, "read");
                    return -1L;
                },
                (physicalBase, offset, size, value) -> report(physicalBase + offset, "write"));
    }

    private void report(long physical, String what) {
        if (reportedHoles.add(physical & ~0xfffL)) {
            warnings.accept(String.format("%s of physical 0x%x: no RAM or device there (reads all-ones, writes are ignored; reported once per page)",
                    what, physical));
        }
    }

    @Override
    public void mapRam(long linear, long size, int perms, MemorySegment frames) {
        long physical = frames.address() - ramBase;
        int p = toUnicorn(perms);
        Region r = regions.get(linear);
        boolean keptCode = r != null && r.parked && !r.translated.isEmpty();
        if (r != null && r.parked && r.size == size && r.ram && (r.physical == physical || retarget(r, physical, frames))) {
            parkedOrder.remove(linear);
            r.parked = false;
            setPerms(r, p);
            unparks++;
            if (keptCode) {
                parkedCodeChanged();
            }
            return;
        }
        boolean wasParked = r != null && r.parked;
        if (wasParked) {
            release(linear, r.size); // parked with another size, or not retargetable
            if (keptCode && r.translated.isEmpty()) {
                parkedCodeChanged(); // retarget dropped the code, so release did not see it
            }
        }
        vacate(linear, size);
        boolean returning = parking && (released.remove(linear) || wasParked);
        engine.mapPointer(linear, size, p, frames);
        rebuilds++;
        regions.put(linear, new Region(linear, size, true, frames, physical, p, returning));
        if (returning || size <= PhysicalMemory.PAGE_SIZE) {
            // Unicorn reuses a freed region's RAM address for the next one, and QEMU keys
            // translated code by it: code translated from the frame mapped here before would run
            // again (tlbbug_code in fast mode: a remapped code page, INVLPG, call). Drop it; 0.1 us
            // for a page (a 2 MiB range costs 84 us, so large first-time regions are left alone).
            engine.removeCodeCache(linear, linear + size);
        }
    }

    @Override
    public void mapHole(long linear, long size, long physical) {
        vacate(linear, size);
        engine.mapMmio(linear, size, holes, physical);
        rebuilds++;
        regions.put(linear, new Region(linear, size, false, null, physical, Protection.READ | Protection.WRITE, false));
    }

    @Override
    public void protect(long linear, long size, int perms) {
        int p = toUnicorn(perms);
        Region r = regions.get(linear);
        if (r == null) {
            engine.protect(linear, size, p);
            rebuilds++;
            return;
        }
        boolean takenAway = (r.perms & ~p) != 0;
        setPerms(r, p);
        if (takenAway) {
            flushSoftTlb(linear, size); // QEMU may still cache the old rights
        }
    }

    /** {@code uc_mem_protect}, counting the rebuild when QEMU's read-only flag changes. */
    private void setPerms(Region r, int p) {
        engine.protect(r.linear, r.size, p);
        r.perms = p;
        boolean readonly = (p & Protection.WRITE) == 0;
        if (r.qemuReadonly != readonly) {
            r.qemuReadonly = readonly;
            rebuilds++;
        }
    }

    @Override
    public void unmap(long linear, long size) {
        Region r = regions.get(linear);
        if (parking && r != null && r.returning && r.size == size && r.ram && (r.perms & Protection.WRITE) == 0) {
            park(r);
        } else {
            release(linear, size);
            if (r != null && r.ram) {
                released.remove(linear);
                released.addLast(linear);
                if (released.size() > RELEASED_REMEMBERED) {
                    released.removeFirst();
                }
            }
        }
    }

    private void park(Region r) {
        // Drop translated code first: finding it fills QEMU's TLB for the page, which the flush then empties.
        if (!keepParkedCode.getAsBoolean()) {
            dropTranslatedCode(r);
        }
        setPerms(r, Protection.NONE);
        flushSoftTlb(r.linear, r.size);
        r.parked = true;
        parkedOrder.addLast(r.linear);
        while (parkedOrder.size() > PARKED_LIMIT) {
            long oldest = parkedOrder.getFirst();
            release(oldest, regions.get(oldest).size);
        }
        if (!r.translated.isEmpty()) { // else the parked pages with kept code are what they were
            parkedCodeChanged();
        }
    }

    /**
     * Points parked {@code r} at other frames, in place ({@link Unicorn#retargetRegion}): no map, no
     * unmap, no host mmap. Code translated from the old frames is dropped first, while Unicorn still
     * finds it by them; code once translated at this address from the new frames (a region mapped
     * here before) after, as a fresh map does; and QEMU's software TLB forgets the old host address.
     *
     * @return false when the engine cannot: the caller unmaps and maps as before
     */
    private boolean retarget(Region r, long physical, MemorySegment frames) {
        if (!r.translated.isEmpty()) {
            dropTranslatedCode(r); // kept at park, and now of the wrong frames
            codeDrops++;
        }
        if (!engine.retargetRegion(r.linear, r.size, r.backing, frames)) {
            return false;
        }
        r.backing = frames;
        r.physical = physical;
        // QEMU's software TLB may hold the old host address (finding the code above fills it); code
        // lookup through such an entry aborts the process, as no RAM block holds that address now.
        flushSoftTlb(r.linear, r.size);
        engine.removeCodeCache(r.linear, r.linear + r.size);
        flushSoftTlb(r.linear, r.size);
        retargets++;
        return true;
    }

    private void dropTranslatedCode(Region r) {
        for (long page : r.translated) {
            engine.removeCodeCache(page, page + PhysicalMemory.PAGE_SIZE);
        }
        r.translated.clear();
    }

    /** Told whenever the pages of {@link #parkedCodePages} change. */
    private Runnable parkedCodeListener = () -> { };

    void onParkedCodeChange(Runnable listener) {
        this.parkedCodeListener = listener;
    }

    private void parkedCodeChanged() {
        parkedCodeListener.run();
    }

    /** The pages of parked regions whose translated code was kept. */
    Set<Long> parkedCodePages() {
        Set<Long> pages = new HashSet<>();
        for (long base : parkedOrder) {
            pages.addAll(regions.get(base).translated);
        }
        return pages;
    }

    /** Drops the translated code kept with parked regions (the hooks changed: it must be translated again). */
    void forgetParkedCode() {
        for (long base : parkedOrder) {
            dropTranslatedCode(regions.get(base));
        }
        parkedCodeChanged();
    }

    /** Says whether a parked region keeps its translated code (the Cpu checks before such code runs, once it runs code). */
    void keepParkedCode(java.util.function.BooleanSupplier keep) {
        this.keepParkedCode = keep;
    }

    /** Counts drops of translated code kept while parked: the block running may be stale after one. */
    @Override
    public long codeChanges() {
        return codeDrops;
    }

    /**
     * Drops QEMU's cached translation of the page of {@code linear}: its code lookup caches one with
     * every right before a block kept in a parked region runs, and the code hook just checked it.
     */
    @Override
    public void forgetCachedTranslation(long linear) {
        if (parking) {
            engine.flushSoftTlbPage(linear);
        }
    }

    /** Really unmaps the region at {@code linear}. */
    private void release(long linear, long size) {
        engine.unmap(linear, size);
        rebuilds++;
        Region r = regions.remove(linear);
        if (r != null && parkedOrder.remove(linear) && !r.translated.isEmpty()) {
            parkedCodeChanged();
        }
    }

    private void flushSoftTlb(long linear, long size) {
        if (!parking) {
            return;
        }
        if (size <= 8 * PhysicalMemory.PAGE_SIZE) {
            for (long page = linear; page < linear + size; page += PhysicalMemory.PAGE_SIZE) {
                engine.flushSoftTlbPage(page);
            }
        } else {
            engine.flushSoftTlb();
        }
    }

    /**
     * Unmaps the parked regions with a byte in [linear, linear + size): the Cpu maps its own pages
     * there (the fetch fence, the mode-switch trampoline), and the MMU a differently shaped chunk.
     */
    void vacate(long linear, long size) {
        if (parkedOrder.isEmpty()) {
            return;
        }
        Map.Entry<Long, Region> below = regions.lowerEntry(linear + size);
        while (below != null && below.getValue().linear + below.getValue().size > linear) {
            Region r = below.getValue();
            if (!r.parked) {
                throw new IllegalStateException(String.format("0x%x+0x%x overlaps a live engine mapping at 0x%x", linear, size, r.linear));
            }
            release(r.linear, r.size);
            below = regions.lowerEntry(linear + size);
        }
    }

    /** The translator fetched code at {@code linear}: its page's translated code goes when the region parks. */
    @Override
    public void translatedFrom(long linear) {
        Map.Entry<Long, Region> e = regions.floorEntry(linear);
        if (e != null && e.getValue().linear + e.getValue().size > linear) {
            e.getValue().translated.add(linear & ~0xfffL);
        }
    }

    /**
     * An engine event (a memory hook) reached {@code address}. If it lies in a parked region, QEMU
     * may have cached a translation for it on the way (its code lookup does, before the fetch comes
     * here): flush it, so that it stays unreachable whatever Java decides.
     */
    @Override
    public void touched(long address) {
        if (parkedOrder.isEmpty()) {
            return;
        }
        Map.Entry<Long, Region> e = regions.floorEntry(address);
        if (e != null && e.getValue().parked && e.getValue().linear + e.getValue().size > address) {
            engine.flushSoftTlbPage(address);
        }
    }

    @Override
    public void mapOwn(long linear, MemorySegment page, int perms) {
        vacate(linear, PhysicalMemory.PAGE_SIZE); // a parked region may still hold it in the engine
        engine.mapPointer(linear, PhysicalMemory.PAGE_SIZE, perms, page);
    }

    @Override
    public void unmapOwn(long linear) {
        engine.unmap(linear, PhysicalMemory.PAGE_SIZE);
        engine.removeCodeCache(linear, linear + PhysicalMemory.PAGE_SIZE); // what was translated from the page goes with it
    }

    /** Parked regions mapped again (those onto another frame: {@link #retargets}). */
    long unparks() {
        return unparks;
    }

    /** Changes so far that made Unicorn rebuild its view of memory (or may have). */
    @Override
    public long rebuilds() {
        return rebuilds;
    }

    @Override
    public Miss takeMiss(int vector) {
        return null; // a missing page is a missing region: the memory hook hears of it
    }

    /** Every RAM region's code, and that kept with parked ones. */
    @Override
    public void forgetTranslatedCode() {
        for (Region r : regions.values()) {
            if (r.ram && !r.parked) {
                engine.removeCodeCache(r.linear, r.linear + r.size);
            }
        }
        forgetParkedCode();
    }

    @Override
    public void forgetTranslatedCodeAt(long linear) {
        engine.removeCodeCache(linear, linear + 1);
    }

    @Override
    public void ramWritten(long physical, long length) {
        // Code is kept per region, not per frame: the debugger drops it by the linear address it wrote.
    }

    /** No: each region is a RAM block of its own to QEMU, so it cannot tell that two alias one frame. */
    @Override
    public boolean seesWritesToCode() {
        return false;
    }

    @Override
    public long nativeTable() {
        return 0;
    }

    @Override
    public String statistics() {
        String why = EnginePageTable.unavailable();
        return String.format("engine regions: %,d memory-view rebuilds, %,d unparks", rebuilds, unparks)
                + (why != null ? " (no engine page table: " + why + ")" : "");
    }

    long retargets() {
        return retargets;
    }

    int parkedRegions() {
        return parkedOrder.size();
    }

    private static int toUnicorn(int perms) {
        // ResidentMappings uses Unicorn's own bit values (1 read, 2 write, 4 exec). Execute is
        // never given to the engine: every code fetch of its translator then comes to Java's
        // FETCH_PROT hook, where the TranslationGuard keeps instructions that would abort the
        // process from being translated; the resident entry's right to execute is Java's.
        return perms & Protection.ALL & ~Protection.EXEC;
    }
}
