package dev.pml4.cpu;

import dev.pml4.ffi.NativeFunction;
import dev.pml4.ffi.unicorn.Protection;
import dev.pml4.ffi.unicorn.Unicorn;
import dev.pml4.machine.PhysicalMemory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Resident translations made real in a page table of pml4's own, from which QEMU's software TLB
 * fills (src/main/c/pml4tlb.c): making a TLB entry real is a store there, where a Unicorn region
 * costs a rebuild of Unicorn's whole view of memory (13 us and more with every region; DESIGN.md
 * fact 13; {@link EnginePageMapper} is that way, kept for a library this one cannot patch).
 *
 * <p>The engine's address spaces, all laid out once:
 * <ul>
 *   <li>Engine-physical: guest RAM as one region at {@link #RAM_BASE}, the physical holes as one MMIO
 *       region at {@link #HOLE_BASE} (reads all-ones, writes ignored, the first access to a page
 *       reported), and pml4's own pages (the fetch fence, the mode-switch trampoline) at
 *       {@link #OWN_BASE}. All three bases are non-canonical with 4- and 5-level paging, so no
 *       linear address the guest can use is one of them.</li>
 *   <li>Linear: Unicorn 2.0.1 checks every access QEMU's TLB misses against its regions by linear
 *       address, before QEMU translates it. Regions with no rights lie over the whole canonical
 *       space, so each such access comes to the memory hook (pml4_mem), which answers it from the
 *       table when the table allows it (QEMU refilling its TLB) and asks Java otherwise, exactly
 *       when a missing Unicorn region would have; Java finds non-canonical addresses there as it
 *       did. The space between the halves of 5-level paging has no region: an access there
 *       reaches Java as an unmapped one, as before.</li>
 *   <li>Translation: QEMU's paging stays off; its fill then installs the frame and rights this table
 *       holds for the page (the native helper patches the call, once per process). A fill for a page
 *       the table does not hold comes only from QEMU looking up code it translated before; it
 *       reaches the Cpu's interrupt hook as {@link #MISS_VECTOR}, exact, and QEMU retries it.</li>
 * </ul>
 *
 * <p>Translated code is kept by QEMU per frame, so a guest write through any alias of a frame drops
 * that frame's code (DESIGN.md fact 12 does not apply here), and removing a translation never
 * leaves code of another frame behind (the parked regions' concern).
 */
final class EnginePageTable implements EngineMemory {
    /*
     * Engine-physical bases: non-canonical with 4-level and with 5-level paging alike (bit 62 set,
     * bit 63 clear; SDM Vol. 3A 4.5.1), and within QEMU's 64-bit physical address space.
     */
    /** Engine-physical address of guest RAM's byte 0. */
    static final long RAM_BASE = 0x4000_0000_0000_0000L;
    /** Engine-physical address of physical address 0 of the holes; they span the model's physical space. */
    static final long HOLE_BASE = 0x5000_0000_0000_0000L;
    /** Engine-physical address of pml4's own pages. */
    static final long OWN_BASE = 0x6000_0000_0000_0000L;
    /** The hole region's size: the model's physical address width (CpuModel.MAX_PHYS_ADDR). */
    private static final long HOLE_SIZE = 1L << CpuModel.MAX_PHYS_ADDR;
    /** Raised by the table's fill for a page it does not hold (pml4tlb.c): a vector the SDM reserves (Vol. 3A 6.3.1). */
    static final int MISS_VECTOR = 31;
    /**
     * The canonical halves of 5-level paging, which hold those of 4-level paging (SDM Vol. 3A 4.5.1),
     * each covered by one region with no rights; an address between them reaches Java as unmapped.
     */
    private static final long LOWER_HALF_END = 1L << 56, UPPER_HALF = 0xff00_0000_0000_0000L;

    /** Offsets in the native table_t (pml4tlb.c): keep equal. */
    private static final long MISS_ADDR = 16, MISS_RETADDR = 24, MISSES = 32, FILLS = 40, ANSWERED = 48,
            MISS_PENDING = 56, POISONED = 72, RUNNING_MISSES = 88; // scratch at 80, the tree's root at 96

    private record Native(NativeFunction install, NativeFunction attach, NativeFunction detach, NativeFunction map,
                          NativeFunction unmap, NativeFunction protect, NativeFunction entry, NativeFunction removeCode,
                          NativeFunction removeFrameCode, NativeFunction codeFrame, NativeFunction codeForgotten,
                          long tableSize) {
        static Optional<Native> bind(SymbolLookup lib) {
            try {
                return Optional.of(new Native(fn(lib, "pml4_tlb_install"), fn(lib, "pml4_tlb_attach"), fn(lib, "pml4_tlb_detach"),
                        critical(lib, "pml4_tlb_map"), critical(lib, "pml4_tlb_unmap"), critical(lib, "pml4_tlb_protect"),
                        critical(lib, "pml4_tlb_entry"), fn(lib, "pml4_tlb_remove_code"),
                        fn(lib, "pml4_tlb_remove_frame_code"), critical(lib, "pml4_tlb_code_frame"),
                        critical(lib, "pml4_tlb_code_forgotten"), fn(lib, "pml4_tlb_table_size").call()));
            } catch (RuntimeException e) {
                return Optional.empty();
            }
        }

        private static NativeFunction fn(SymbolLookup lib, String name) {
            return NativeFunction.plain(name, lib.find(name).orElseThrow());
        }

        /** Map, unmap, protect and lookup never call back into Java (QEMU's TLB flush runs no hook). */
        private static NativeFunction critical(SymbolLookup lib, String name) {
            return NativeFunction.critical(name, lib.find(name).orElseThrow());
        }
    }

    private static final Optional<Native> NATIVE = NativeHelper.LOOKUP.flatMap(Native::bind);

    /**
     * 0 once the fill is patched; else why not (pml4_tlb_install's answer), -1 without the helper,
     * -2 with a libunicorn other than Debian's 2.0.1, which is never patched (its internals differ).
     */
    private static final class Installed {
        static final int RESULT = !Unicorn.canFlushSoftTlb() ? -2 : NATIVE.map(n -> (int) n.install().call()).orElse(-1);
    }

    private final Unicorn engine;
    private final long ramBase;
    private final Consumer<String> warnings;
    private final MemorySegment table;
    private final Native fn;
    private final Set<Long> reportedHoles = new HashSet<>();
    /** pml4's own pages by host address, and their engine-physical addresses. */
    private final Map<Long, Long> ownPages = new HashMap<>();
    /** Changes to the table so far ({@link #codeChanges}). */
    private long changes;
    /** Engine-physical pages QEMU translated code from: what {@link #forgetTranslatedCode} drops. */
    private final Set<Long> codeFrames = new HashSet<>();

    private EnginePageTable(Unicorn engine, PhysicalMemory memory, Consumer<String> warnings, Native fn) {
        this.engine = engine;
        this.fn = fn;
        this.warnings = warnings;
        MemorySegment ram = memory.ramSlice(0, memory.ramSize());
        this.ramBase = ram.address();
        engine.mapPointer(RAM_BASE, memory.ramSize(), Protection.READ | Protection.WRITE, ram);
        engine.mapMmio(HOLE_BASE, HOLE_SIZE, engine.mmioHandlers(
                (physicalBase, offset, size) -> {
                    report(physicalBase + offset, "read");
                    return -1L;
                },
                (physicalBase, offset, size, value) -> report(physicalBase + offset, "write")), 0);
        // Never read or written: every access through them is answered by the table or refused.
        Unicorn.MmioHandlers none = engine.mmioHandlers(
                (base, offset, size) -> {
                    warnings.accept(String.format("internal error: the engine read linear 0x%x untranslated", base + offset));
                    return -1L;
                },
                (base, offset, size, value) -> warnings.accept(String.format(
                        "internal error: the engine wrote linear 0x%x untranslated", base + offset)));
        engine.mapMmio(0, LOWER_HALF_END, none, 0);
        engine.protect(0, LOWER_HALF_END, Protection.NONE);
        engine.mapMmio(UPPER_HALF, -UPPER_HALF, none, UPPER_HALF);
        engine.protect(UPPER_HALF, -UPPER_HALF, Protection.NONE);
        long t = fn.attach().call(engine.nativeHandle().address(), HOLE_BASE + HOLE_SIZE - PhysicalMemory.PAGE_SIZE,
                RAM_BASE, memory.ramSize(), ramBase);
        if (t == 0) {
            throw new IllegalStateException("too many machines at once for the native engine page table");
        }
        this.table = MemorySegment.ofAddress(t).reinterpret(fn.tableSize());
        engine.onClose(() -> fn.detach().call(table.address())); // before the CPU it names goes
        engine.routeCodeRemoval((start, end) -> fn.removeCode().call(table.address(), start, end));
    }

    /**
     * The table for {@code engine}, or empty when this process cannot have one (no native helper,
     * another libunicorn than Debian's 2.0.1, -Dpml4.noFast, or -Dpml4.engineRegions): then
     * {@link EnginePageMapper} keeps the TLB in Unicorn regions.
     */
    static Optional<EnginePageTable> create(Unicorn engine, PhysicalMemory memory, Consumer<String> warnings) {
        if (!NativeHelper.memoryHookNative() || Boolean.getBoolean("pml4.engineRegions") || Installed.RESULT != 0) {
            return Optional.empty();
        }
        return Optional.of(new EnginePageTable(engine, memory, warnings, NATIVE.get()));
    }

    /** Why this process keeps the TLB in Unicorn regions, or null when it uses the table. */
    static String unavailable() {
        if (!NativeHelper.memoryHookNative()) {
            return NativeHelper.LOOKUP.isEmpty() ? "the native helper (target/libpml4fast.so) is not there" : "-Dpml4.noFast";
        }
        if (Boolean.getBoolean("pml4.engineRegions")) {
            return "-Dpml4.engineRegions";
        }
        return switch (Installed.RESULT) {
            case 0 -> null;
            case -1 -> "the native helper (target/libpml4fast.so) lacks it";
            case -2 -> "libunicorn is not Debian's 2.0.1, whose internals it relies on";
            default -> "libunicorn's fill could not be patched (pml4_tlb_install " + Installed.RESULT + ")";
        };
    }

    private void report(long physical, String what) {
        if (reportedHoles.add(physical & ~0xfffL)) {
            warnings.accept(String.format("%s of physical 0x%x: no RAM or device there (reads all-ones, writes are ignored; reported once per page)",
                    what, physical));
        }
    }

    /** QEMU's rights for a mapping with Unicorn's r/w/x bits (the same values: PAGE_READ 1, PAGE_WRITE 2, PAGE_EXEC 4). */
    private static long rights(int perms) {
        return perms & Protection.ALL;
    }

    @Override
    public void mapRam(long linear, long size, int perms, MemorySegment frames) {
        changes++;
        fn.map().call(table.address(), linear, size, RAM_BASE + (frames.address() - ramBase), rights(perms));
    }

    @Override
    public void mapHole(long linear, long size, long physical) {
        changes++;
        fn.map().call(table.address(), linear, size, HOLE_BASE + physical, Protection.READ | Protection.WRITE);
    }

    @Override
    public void protect(long linear, long size, int perms) {
        changes++;
        fn.protect().call(table.address(), linear, size, rights(perms));
    }

    @Override
    public void unmap(long linear, long size) {
        changes++;
        fn.unmap().call(table.address(), linear, size);
    }

    @Override
    public int engineLimit() {
        return Integer.MAX_VALUE; // a mapping costs a store: nothing to bound
    }

    @Override
    public void mapOwn(long linear, MemorySegment page, int perms) {
        Long physical = ownPages.get(page.address());
        if (physical == null) {
            physical = OWN_BASE + PhysicalMemory.PAGE_SIZE * ownPages.size();
            engine.mapPointer(physical, PhysicalMemory.PAGE_SIZE, Protection.READ | Protection.WRITE, page); // once per page
            ownPages.put(page.address(), physical);
        }
        fn.map().call(table.address(), linear, PhysicalMemory.PAGE_SIZE, physical, rights(perms));
    }

    @Override
    public void unmapOwn(long linear) {
        // Its bytes change before it is mapped again (the trampoline): its code goes with it.
        fn.removeCode().call(table.address(), linear, linear + PhysicalMemory.PAGE_SIZE);
        unmap(linear, PhysicalMemory.PAGE_SIZE);
    }

    /** The translator fetched code at {@code linear}: its frame joins those {@link #forgetTranslatedCode} drops. */
    @Override
    public void translatedFrom(long linear) {
        long e = entry(linear);
        if (e != 0 && codeFrames.add(e & ~0xfffL)) {
            fn.codeFrame().call(table.address(), e & ~0xfffL); // stores to it are checked for code from now on
        }
    }

    /**
     * Drops every block QEMU translated, wherever its frame is mapped now: blocks outlive the
     * translations they came through (QEMU keys them by frame), so removing them by the mapped
     * chunks would leave those of frames mapped nowhere at the moment.
     */
    @Override
    public void forgetTranslatedCode() {
        for (long frame : codeFrames) {
            fn.removeFrameCode().call(table.address(), frame, PhysicalMemory.PAGE_SIZE);
        }
        codeFrames.clear();
        fn.codeForgotten().call(table.address());
    }

    /** Java wrote guest RAM at {@code [physical, physical + length)} (the debugger): code translated from it goes. */
    @Override
    public void ramWritten(long physical, long length) {
        fn.removeFrameCode().call(table.address(), RAM_BASE + physical, length);
    }

    /** The table's entry for {@code linear}'s page: engine-physical page | 8 | rights, or 0 (for tests). */
    long entry(long linear) {
        return fn.entry().call(table.address(), linear);
    }

    @Override
    public Miss takeMiss(int vector) {
        if (vector != MISS_VECTOR || table.get(JAVA_INT, MISS_PENDING) == 0) {
            return null;
        }
        table.set(JAVA_INT, MISS_PENDING, 0);
        return new Miss(table.get(JAVA_LONG, MISS_ADDR), table.get(JAVA_LONG, MISS_RETADDR) != 0);
    }

    /** Nothing to forget: a change to the table flushes what QEMU cached of the pages it changed. */
    @Override
    public void forgetCachedTranslation(long linear) {
    }

    /** Nothing caches a translation of a page the table lacks (the fill asks the table each time). */
    @Override
    public void touched(long address) {
    }

    /**
     * A breakpoint's page may be out of the table just now, its code still kept by frame, where the
     * address alone cannot find it: what was translated from every frame goes.
     */
    @Override
    public void forgetTranslatedCodeAt(long linear) {
        forgetTranslatedCode();
    }

    /** Every change to the table: after one, a running block's page may show another frame than it was translated from. */
    @Override
    public long codeChanges() {
        return changes;
    }

    /** None: the table never changes Unicorn's regions. */
    @Override
    public long rebuilds() {
        return 0;
    }

    /** Yes: guest RAM is one RAM block, in which QEMU finds code by frame (see the class comment). */
    @Override
    public boolean seesWritesToCode() {
        return true;
    }

    @Override
    public long nativeTable() {
        return table.address();
    }

    /** Fills for pages the table did not hold (each reached the Cpu as {@link #MISS_VECTOR}). */
    long misses() {
        return table.get(JAVA_LONG, MISSES);
    }

    /** Those of {@link #misses} that came from running code: a non-canonical address where an engine-physical region lies, or a store's second page. */
    long runningMisses() {
        return table.get(JAVA_LONG, RUNNING_MISSES);
    }

    /** Fills made while Java was below on the stack for a page the table did not hold: 0 unless pml4 is wrong. */
    long poisoned() {
        return table.get(JAVA_LONG, POISONED);
    }

    /** Misses, QEMU TLB fills answered, memory events answered without Java, fills given the poison page. */
    @Override
    public String statistics() {
        long running = table.get(JAVA_LONG, RUNNING_MISSES);
        return String.format("engine page table: %,d code lookups missed, %,d misses from running code, %,d fills of QEMU's TLB, %,d refills answered natively, %,d poisoned",
                table.get(JAVA_LONG, MISSES) - running, running, table.get(JAVA_LONG, FILLS), table.get(JAVA_LONG, ANSWERED), table.get(JAVA_LONG, POISONED));
    }
}
