package dev.pml4.mmu;

import dev.pml4.machine.PhysicalMemory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The TLB-coherence checker ({@code --check-tlb}): finds the accesses a guest makes through a TLB
 * entry whose paging-structure entries it has changed without invalidating the entry (SDM Vol. 3A
 * 4.10.4, "Invalidation of TLBs and paging-structure caches").
 *
 * <p>How: every resident TLB entry remembers the physical address and value of each
 * paging-structure entry its walk used. The frames holding them are write-watched in the engine
 * ({@link ResidentMappings#watchWrites}): a guest write to one comes back to Java, which snapshots
 * the frame, lets the write through (a write window on that page) and, at the next instruction
 * boundary, compares every entry of the frame with the snapshot. A change that matters to a cached
 * translation (P, the frame, R/W, U/S, XD, PS, PAT/PCD/PWT, G, reserved bits) marks the TLB entry
 * stale and unmaps it from the engine, so that its next use comes back to Java too: the first use
 * is reported, and then the entry is used as hardware would use it. What the SDM lets software
 * change without invalidating is never reported: A, ignored bits, not-present to present (no entry
 * can depend on a non-present one), and rights granted (4.10.4.3: at worst a spurious #PF, which
 * is counted as a note). A D flag cleared under a dirty TLB entry is a warning of its own at the
 * next write through the entry (4.8: the processor will not set D again).
 *
 * <p>Writes pml4 makes itself (the walker's A/D, the loader, the debugger) go straight to RAM and
 * are never seen. Entries of other PCIDs and global entries stay watched as long as they are
 * resident. The PAE PDPTE registers (issue 9) will be one more dependency per entry: an entry
 * filled under PAE paging depends on the PDPTE register loaded from CR3, and MOV to CR3 reloads it;
 * {@link #filled} is where they belong.
 */
public final class TlbCoherenceChecker {
    /** What a stale use does to the run: {@code report} goes on, {@code stop} ends it (status 10). */
    public enum Mode { REPORT, STOP }

    /** What the checker asks of the processor. */
    public interface Processor {
        /** The number of the instruction executing now (its code hook has counted it). */
        long instructions();

        /** Its RIP (exact in memory hooks, DESIGN.md fact 3). */
        long rip();

        /** Calls {@code task} at the first instruction boundary after the instruction executing now. */
        void afterCurrentInstruction(Runnable task);
    }

    // Entry bits, SDM Vol. 3A 4.5, Tables 4-15 to 4-20 (the walker's, and the three it does not need).
    private static final long P = PageWalker.ENTRY_P;
    private static final long RW = PageWalker.ENTRY_RW;
    private static final long US = PageWalker.ENTRY_US;
    private static final long A = PageWalker.ENTRY_A;
    private static final long D = PageWalker.ENTRY_D;
    /** PS in a PDPTE or PDE; PAT in a PTE. */
    private static final long BIT7 = PageWalker.ENTRY_PS;
    private static final long G = PageWalker.ENTRY_G;
    private static final long XD = PageWalker.ENTRY_XD;
    /** Bit 3, PWT: page-level write-through. */
    private static final long PWT = 1L << 3;
    /** Bit 4, PCD: page-level cache disable. */
    private static final long PCD = 1L << 4;
    /** Bit 12: PAT in a PDPTE or PDE that maps a page. */
    private static final long PAT_LARGE = 1L << 12;
    /** Ignored in every entry: bits 11:9, and 62:52 (protection keys are not modelled, see PageWalker). */
    private static final long IGNORED = 0xe00L | 0x7ff0_0000_0000_0000L;
    /** What a leaf entry may change without an invalidation (D is judged on its own). */
    private static final long LEAF_BENIGN = A | D | IGNORED;
    /** What an entry that references a table may change: bit 6 and bit 8 are ignored there, PCD/PWT only type the next table's accesses. */
    private static final long TABLE_BENIGN = A | D | G | PWT | PCD | IGNORED;
    private static final long RIGHTS = RW | US | XD;
    /** Bits 51:12: where an entry holds a physical address (bits above MAXPHYADDR are reserved, SDM 4.5). */
    private static final long ADDRESS = 0x000f_ffff_ffff_f000L;
    /** How far from a stale page an INVLPG that found nothing earns a hint. */
    private static final long NEARBY = 16 * PhysicalMemory.PAGE_SIZE;
    /** INVLPG hints kept per entry: a loop of wrong INVLPGs need not fill the report. */
    private static final int MAX_HINTS = 3;

    /** What a change to a paging-structure entry does to a translation cached from it, worst last. */
    enum Change { SAME, GRANTED, DIRTY_CLEARED, STALE }

    /** One paging-structure entry a TLB entry was built from. */
    private static final class Dependency {
        final Tracked owner;
        final PagingLevel level;
        final long address;
        final long cached;
        final boolean leaf;
        Change change = Change.SAME;
        TlbCheckFinding.EntryWrite cause;

        Dependency(Tracked owner, WalkStep step, boolean leaf) {
            this.owner = owner;
            this.level = step.level();
            this.address = step.entryAddress();
            this.cached = step.entryValue();
            this.leaf = leaf;
        }
    }

    /** A resident TLB entry and what it depends on. */
    private static final class Tracked {
        final Tlb.Kind kind;
        final TlbEntry entry;
        final List<Dependency> dependencies = new ArrayList<>(4);
        boolean staleReported;
        boolean dirtyReported;
        final List<String> hints = new ArrayList<>();

        Tracked(Tlb.Kind kind, TlbEntry entry) {
            this.kind = kind;
            this.entry = entry;
        }

        Dependency worst() {
            Dependency w = null;
            for (Dependency d : dependencies) {
                if (d.change != Change.SAME && (w == null || d.change.compareTo(w.change) > 0)) {
                    w = d;
                }
            }
            return w;
        }

        Change status() {
            Dependency w = worst();
            return w == null ? Change.SAME : w.change;
        }

        boolean pendingStale() {
            return !staleReported && status() == Change.STALE;
        }

        boolean pendingDirty() {
            return !dirtyReported && status() == Change.DIRTY_CLEARED;
        }
    }

    /** A write window: a watched frame the guest is writing, and what it held before. */
    private record Window(long linear, long frame, long[] before, long instruction, long rip) {
    }

    private final Mode mode;
    private final Mmu mmu;
    private final PhysicalMemory memory;
    private final Processor processor;
    private final Map<TlbEntry, Tracked> tracked = new IdentityHashMap<>();
    private final Map<Long, List<Dependency>> byAddress = new HashMap<>();
    private final Map<Long, Integer> frameUsers = new HashMap<>();
    private final Map<Long, Window> windows = new LinkedHashMap<>();
    private boolean closeScheduled;
    private final List<TlbCheckFinding> findings = new ArrayList<>();
    private final List<Consumer<TlbCheckFinding>> listeners = new ArrayList<>();

    private TlbCoherenceChecker(Mode mode, Mmu mmu, PhysicalMemory memory, Processor processor) {
        this.mode = mode;
        this.mmu = mmu;
        this.memory = memory;
        this.processor = processor;
    }

    /**
     * Turns the check on for {@code mmu}; before the first TLB fill, so that every resident entry
     * is known.
     */
    public static TlbCoherenceChecker attach(Mode mode, Mmu mmu, PhysicalMemory memory, Processor processor) {
        if (mmu.checker() != null) {
            throw new IllegalStateException("the TLB check is already on");
        }
        for (Tlb.Kind k : Tlb.Kind.values()) {
            if (!mmu.tlb().entries(k).isEmpty()) {
                throw new IllegalStateException("turn the TLB check on before the TLB caches anything (before boot)");
            }
        }
        TlbCoherenceChecker c = new TlbCoherenceChecker(mode, mmu, memory, processor);
        mmu.setChecker(c);
        return c;
    }

    public Mode mode() {
        return mode;
    }

    /** {@code listener} hears of every finding as it is made, before the access goes on. */
    public void addListener(Consumer<TlbCheckFinding> listener) {
        listeners.add(listener);
    }

    public TlbCheckFinding.Report report() {
        return new TlbCheckFinding.Report(true, findings);
    }

    /**
     * Why {@code entry} is stale, for inspection ({@code --show tlb}, {@code monitor tlb}), or null
     * when it is not.
     */
    public String staleMark(TlbEntry entry) {
        Tracked t = tracked.get(entry);
        if (t == null) {
            return null;
        }
        Dependency w = t.worst();
        if (w == null || w.change == Change.GRANTED) {
            return null;
        }
        String what = w.change == Change.STALE ? "STALE" : "D cleared";
        return String.format("%s%s: %s at 0x%x changed by instruction %d (%s)", what, t.staleReported || t.dirtyReported ? ", reported" : "",
                w.level.entryName(), w.address, w.cause.instruction(), w.cause.change());
    }

    // ---- the TLB's life -------------------------------------------------------------------------

    void filled(Tlb.Kind kind, TlbEntry entry, Translation walk) {
        // PAE paging's PDPTE registers are loaded by MOV to CR3 (and the CR0/CR4 writes of SDM
        // 4.4.1), not read from memory by the walk: a write to the PDPT in memory changes no cached
        // translation, so those steps are no dependency (WalkStep.inMemory).
        List<WalkStep> steps = walk.steps();
        if (steps.isEmpty()) {
            return; // paging off: nothing to go stale
        }
        Tracked t = new Tracked(kind, entry);
        for (int i = 0; i < steps.size(); i++) {
            if (!steps.get(i).inMemory()) {
                continue;
            }
            Dependency d = new Dependency(t, steps.get(i), i == steps.size() - 1);
            t.dependencies.add(d);
            byAddress.computeIfAbsent(d.address, a -> new ArrayList<>(2)).add(d);
            long frame = d.address & ~0xfffL;
            if (frameUsers.merge(frame, 1, Integer::sum) == 1) {
                mmu.mappings().watchWrites(frame);
            }
        }
        tracked.put(entry, t);
    }

    void removed(List<TlbEntry> entries) {
        for (TlbEntry e : entries) {
            Tracked t = tracked.remove(e);
            if (t == null) {
                continue;
            }
            for (Dependency d : t.dependencies) {
                List<Dependency> at = byAddress.get(d.address);
                at.remove(d);
                if (at.isEmpty()) { // (every dependency was added with its tracked entry)
                    byAddress.remove(d.address);
                }
                long frame = d.address & ~0xfffL;
                if (frameUsers.merge(frame, -1, Integer::sum) == 0) {
                    frameUsers.remove(frame);
                    mmu.mappings().unwatchWrites(frame);
                }
            }
        }
    }

    /** What the engine may do through these entries now: nothing through a stale one until its first use is reported. */
    int enginePermissions(TlbEntry data, TlbEntry code, int perms) {
        Tracked d = data == null ? null : tracked.get(data);
        if (d != null && d.pendingStale()) {
            perms &= ~(ResidentMappings.READ | ResidentMappings.WRITE);
        } else if (d != null && d.pendingDirty()) {
            perms &= ~ResidentMappings.WRITE;
        }
        Tracked c = code == null ? null : tracked.get(code);
        if (c != null && c.pendingStale()) {
            perms &= ~ResidentMappings.EXEC;
        }
        return perms;
    }

    /**
     * The MMU is about to use {@code entry} for an access ({@code refused}: its cached rights
     * refuse it, and the MMU raises #PF from them).
     */
    void used(Tlb.Kind kind, TlbEntry entry, long linear, AccessType type, AccessMode accessMode, PagingState state, boolean refused) {
        Tracked t = tracked.get(entry);
        if (t == null) {
            return;
        }
        if (!refused && type == AccessType.WRITE && !entry.dirty()) {
            return; // the MMU walks again to set D (SDM 4.8): the fresh entries decide, not the cached ones
        }
        Change status = t.status();
        if (status == Change.STALE && !t.staleReported) {
            t.staleReported = true;
            Dependency w = t.worst();
            List<String> hints = new ArrayList<>(t.hints);
            if (entry.global()) {
                hints.add("the entry is global (G = 1 with CR4.PGE = 1): MOV to CR3 keeps it; INVLPG, INVPCID or toggling CR4.PGE removes it (SDM 4.10.4.1)");
            }
            if (state.pcide()) {
                hints.add(String.format("the entry belongs to PCID %d: MOV to CR3 with bit 63 set (no flush) keeps it; INVLPG while that PCID is current, or INVPCID, removes it (SDM 4.10.4.1)",
                        entry.pcid()));
            }
            WalkResult fresh = mmu.walker().probe(linear, type, accessMode, state);
            report(new TlbCheckFinding.StaleUse(number(type), processor.rip(), type, linear, kind, entry, fresh, w.cause, hints));
        } else if (refused && status == Change.GRANTED) {
            if (mmu.walker().probe(linear, type, accessMode, state) instanceof Translation) {
                report(new TlbCheckFinding.SpuriousFault(number(type), processor.rip(), type, linear, entry, t.worst().cause));
            }
        } else if (!refused && status == Change.DIRTY_CLEARED && type == AccessType.WRITE && !t.dirtyReported) {
            t.dirtyReported = true;
            report(new TlbCheckFinding.DirtyBitLost(number(type), processor.rip(), linear, entry, t.worst().cause));
        }
    }

    /** A fetch miss comes before the code hook of the instruction that fetches: it is the next one. */
    private long number(AccessType type) {
        return processor.instructions() + (type == AccessType.FETCH ? 1 : 0);
    }

    /** INVLPG removed nothing: a stale entry for a nearby page earns a hint. */
    void invlpgFoundNothing(long linear) {
        Tracked nearest = null;
        long best = Long.MAX_VALUE;
        for (Tracked t : tracked.values()) {
            if (!t.pendingStale()) {
                continue;
            }
            long distance = Math.abs(t.entry.pageBase() - (linear & ~0xfffL));
            if (distance <= NEARBY && distance < best) {
                best = distance;
                nearest = t;
            }
        }
        if (nearest != null && nearest.hints.size() < MAX_HINTS) {
            nearest.hints.add(String.format("INVLPG 0x%x at instruction %d (RIP 0x%x) invalidated nothing: no entry for that page;"
                    + " the stale entry is for 0x%x", linear, processor.instructions(), processor.rip(), nearest.entry.pageBase()));
        }
    }

    // ---- guest writes to paging structures ------------------------------------------------------

    /** The guest is about to write {@code physical} through the engine (the MMU has just mapped it). */
    void guestWrite(long linear, long physical) {
        long frame = physical & ~0xfffL;
        if (!frameUsers.containsKey(frame) || windows.containsKey(linear & ~0xfffL)) {
            return;
        }
        long[] before = new long[512];
        for (int i = 0; i < before.length; i++) {
            before[i] = memory.read64(frame + 8L * i);
        }
        windows.put(linear & ~0xfffL, new Window(linear & ~0xfffL, frame, before, processor.instructions(), processor.rip()));
        mmu.mappings().openWriteWindow(linear);
        if (!closeScheduled) {
            closeScheduled = true;
            processor.afterCurrentInstruction(this::closeWindows);
        }
    }

    /**
     * Compares the frames written with what they held, judges every entry that changed, and makes
     * the pages read-only again. Runs at the instruction boundary after the write (and when the run
     * ends), so that a write of any width, or a REP MOVS over a table, is judged on the entries it
     * left.
     */
    public void closeWindows() {
        closeScheduled = false;
        List<Window> open = new ArrayList<>(windows.values());
        windows.clear();
        for (Window w : open) {
            mmu.mappings().closeWriteWindow(w.linear());
            for (int i = 0; i < w.before().length; i++) {
                long address = w.frame() + 8L * i;
                long now = memory.read64(address);
                if (now != w.before()[i]) {
                    // 8-byte entries, or the two 4-byte entries of 32-bit paging the slot holds (SDM 4.3)
                    entryWritten(address, 8, w.before()[i], now, w);
                    entryWritten(address, 4, w.before()[i] & 0xffff_ffffL, now & 0xffff_ffffL, w);
                    entryWritten(address + 4, 4, w.before()[i] >>> 32, now >>> 32, w);
                }
            }
        }
    }

    /** An entry of {@code bytes} (4 or 8) at {@code address} went from {@code oldValue} to {@code newValue}. */
    private void entryWritten(long address, int bytes, long oldValue, long newValue, Window w) {
        List<Dependency> deps = byAddress.get(address);
        if (deps == null || oldValue == newValue) {
            return;
        }
        for (Dependency d : List.copyOf(deps)) {
            if (d.level.entryBytes() != bytes) {
                continue;
            }
            Tracked t = d.owner;
            Change before = t.status();
            String[] why = new String[1];
            Change change = judge(d.cached, newValue, d.level, d.leaf, t.entry.size(),
                    t.kind == Tlb.Kind.DATA && t.entry.dirty(), why);
            if (change != d.change) {
                d.change = change;
                d.cause = change == Change.SAME ? null
                        : new TlbCheckFinding.EntryWrite(w.instruction(), w.rip(), d.level, address, oldValue, newValue, why[0]);
            }
            Change after = t.status();
            if (after != before && (after == Change.STALE || after == Change.DIRTY_CLEARED)) {
                // Its next use must come back to Java: unmap it (it maps itself again on that use).
                mmu.mappings().removeRange(t.entry.pageBase(), t.entry.end());
            }
        }
    }

    /**
     * How an entry changed from {@code cached} (as the walk read it) to {@code now} matters to a
     * translation cached from it ({@code leaf}: the entry mapped the page, of {@code size};
     * {@code dirtyData}: a DTLB entry that holds the page as dirty); {@code why[0]} says what changed.
     */
    static Change judge(long cached, long now, PagingLevel level, boolean leaf, PageSize size, boolean dirtyData, String[] why) {
        if ((now & P) == 0) {
            why[0] = "P 1 -> 0: not present any more";
            return Change.STALE;
        }
        long changed = (cached ^ now) & ~(leaf ? LEAF_BENIGN : TABLE_BENIGN);
        if (changed == 0) {
            if (leaf && dirtyData && (now & D) == 0) {
                why[0] = "D 1 -> 0 while the TLB holds the page as dirty";
                return Change.DIRTY_CLEARED;
            }
            return Change.SAME;
        }
        List<String> fields = new ArrayList<>();
        long frame = ADDRESS & ~(leaf ? size.offsetMask() : 0);
        if ((changed & frame) != 0) {
            fields.add(String.format("frame 0x%x -> 0x%x", cached & frame, now & frame));
        }
        boolean granted = (changed & ~RIGHTS) == 0;
        granted &= bit(changed, RW, cached, now, "R/W", fields, true);
        granted &= bit(changed, US, cached, now, "U/S", fields, true);
        granted &= bit(changed, XD, cached, now, "XD", fields, false);
        if (leaf) {
            bit(changed, PWT, cached, now, "PWT", fields, true);
            bit(changed, PCD, cached, now, "PCD", fields, true);
            bit(changed, G, cached, now, "G", fields, true);
            bit(changed, level == PagingLevel.PT ? BIT7 : PAT_LARGE, cached, now, "PAT", fields, true);
            if (level != PagingLevel.PT) {
                bit(changed, BIT7, cached, now, "PS", fields, true);
            }
        } else {
            bit(changed, BIT7, cached, now, "PS", fields, true);
        }
        long described = frame | RIGHTS | PWT | PCD | G | BIT7 | (leaf ? PAT_LARGE : 0);
        if ((changed & ~described) != 0) {
            fields.add(String.format("bits 0x%x", changed & ~described));
        }
        why[0] = String.join(", ", fields);
        if (granted) {
            why[0] += ": rights granted";
            return Change.GRANTED;
        }
        return Change.STALE;
    }

    /** Describes one flag's change; returns whether it was a grant ({@code grantIsSet}: 0 -> 1 grants). */
    private static boolean bit(long changed, long bit, long cached, long now, String name, List<String> fields, boolean grantIsSet) {
        if ((changed & bit) == 0) {
            return true;
        }
        boolean was = (cached & bit) != 0;
        fields.add(name + " " + (was ? 1 : 0) + " -> " + (was ? 0 : 1));
        return grantIsSet != was;
    }

    private void report(TlbCheckFinding f) {
        findings.add(f);
        for (Consumer<TlbCheckFinding> l : listeners) {
            l.accept(f);
        }
    }

    /** The run ended: judge a write still open. */
    public void finish() {
        if (!windows.isEmpty()) {
            closeWindows();
        }
    }
}
