package dev.pml4.inspect;

import dev.pml4.machine.PhysicalMemory;
import dev.pml4.machine.SymbolTable;
import dev.pml4.mmu.AccessMode;
import dev.pml4.mmu.AccessType;
import dev.pml4.mmu.PageFault;
import dev.pml4.mmu.PageWalker;
import dev.pml4.mmu.PagingMode;
import dev.pml4.mmu.PagingState;
import dev.pml4.mmu.Tlb;
import dev.pml4.mmu.TlbEntry;
import dev.pml4.mmu.Translation;
import dev.pml4.mmu.WalkResult;
import dev.pml4.mmu.WalkStep;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Views of a machine's memory-management state for people: the page-table tree of a CR3 with
 * contiguous ranges merged, one walk step by step, the TLB's entries, the IDT's gates. Nothing
 * here changes the machine: walks are {@link PageWalker#probe probes} (no A/D, no TLB fill).
 * The gdb stub's {@code monitor} commands and the command line print these.
 */
public final class Inspector {
    private final PhysicalMemory memory;
    private final PageWalker walker;
    private final PagingState state;
    private final Tlb tlb;
    private final SymbolTable symbols;
    private final long idtBase;
    private final int idtLimit;
    /** Why a TLB entry is stale (the TLB checker), or null; marks it in {@link #tlbEntries}. */
    private java.util.function.Function<TlbEntry, String> tlbMarks = e -> null;

    public Inspector(PhysicalMemory memory, PageWalker walker, PagingState state, Tlb tlb, SymbolTable symbols,
                     long idtBase, int idtLimit) {
        this.memory = memory;
        this.walker = walker;
        this.state = state;
        this.tlb = tlb;
        this.symbols = symbols;
        this.idtBase = idtBase;
        this.idtLimit = idtLimit;
    }

    /** The same views, with the TLB entries {@code marks} has something to say about marked. */
    public Inspector withTlbMarks(java.util.function.Function<TlbEntry, String> marks) {
        Inspector marked = new Inspector(memory, walker, state, tlb, symbols, idtBase, idtLimit);
        marked.tlbMarks = marks;
        return marked;
    }

    /** What {@link #answer} understands, for usage messages. */
    public static final String QUERIES = "pt, pt-dot, tlb, idt, walk VA [read|write|fetch] [user]";

    /**
     * One inspection by name, as the command line, a dump and gdb's {@code monitor} ask for it:
     * {@code pt}, {@code pt-dot}, {@code tlb}, {@code idt}, or {@code walk VA [read|write|fetch] [user]}.
     *
     * @throws IllegalArgumentException naming what is wrong with the query
     */
    public String answer(String what, List<String> args) {
        String unpaged = unpaged(what, args);
        if (unpaged != null) {
            return unpaged;
        }
        return switch (what) {
            case "pt" -> pageTables();
            case "pt-dot" -> pageTablesDot();
            case "tlb" -> tlbEntries();
            case "idt" -> idt();
            case "walk" -> {
                if (args.isEmpty()) {
                    throw new IllegalArgumentException("walk needs an address: walk VA [read|write|fetch] [user]");
                }
                AccessType type = AccessType.READ;
                AccessMode mode = AccessMode.SUPERVISOR;
                for (String a : args.subList(1, args.size())) {
                    switch (a) {
                        case "read" -> type = AccessType.READ;
                        case "write" -> type = AccessType.WRITE;
                        case "fetch" -> type = AccessType.FETCH;
                        case "user" -> mode = AccessMode.USER;
                        default -> throw new IllegalArgumentException("walk: '" + a + "' is not read, write, fetch or user");
                    }
                }
                yield walk(parseAddress(args.getFirst()), type, mode);
            }
            default -> throw new IllegalArgumentException("'" + what + "' is not one of " + QUERIES);
        };
    }

    /**
     * The page-table views when there are no 4-level tables to show: paging off (a kernel in 32-bit
     * protected mode before it enables paging) says so; other paging modes are not modelled yet.
     * Null when the views apply.
     */
    private String unpaged(String what, List<String> args) {
        PagingMode mode = state.mode();
        if (mode == PagingMode.FOUR_LEVEL || !(what.equals("pt") || what.equals("pt-dot") || what.equals("walk"))) {
            return null;
        }
        String why = mode == PagingMode.NONE ? "paging is off (CR0.PG=0): linear addresses are physical addresses"
                : mode.description() + " is in use, which pml4 cannot show yet";
        if (what.equals("pt-dot")) {
            return "digraph pagetables {\n  label=\"" + why + "\";\n}\n";
        }
        if (what.equals("walk") && !args.isEmpty() && mode == PagingMode.NONE) {
            long linear = parseAddress(args.getFirst());
            return String.format("walk of 0x%016x: %s%n  -> physical 0x%x (no walk, no TLB entry)%n", linear, why, linear);
        }
        return why + "\n";
    }

    /**
     * A linear address as people write it: 0x... (all 64 bits, so higher-half addresses too) or
     * decimal, with _ allowed between digits.
     *
     * @throws IllegalArgumentException when it is not one
     */
    public static long parseAddress(String text) {
        String t = text.strip().replace("_", "");
        try {
            return t.startsWith("0x") || t.startsWith("0X") ? Long.parseUnsignedLong(t.substring(2), 16) : Long.parseLong(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not an address (examples: 0xffff800000001000, 1048576)");
        }
    }

    // ---- walk -----------------------------------------------------------------------------------

    /** One walk of {@code linear} for an access, step by step, without side effects. */
    public String walk(long linear, AccessType type, AccessMode mode) {
        StringBuilder out = new StringBuilder(String.format("walk of 0x%016x (%s, %s) from CR3 0x%x%n", linear,
                type.name().toLowerCase(Locale.ROOT), mode == AccessMode.USER ? "user" : "supervisor", state.cr3()));
        WalkResult r = walker.probe(linear, type, mode, state);
        List<WalkStep> steps = r instanceof Translation t ? t.steps() : ((PageFault) r).steps();
        for (WalkStep s : steps) {
            out.append(String.format("  %-6s index %3d  entry at 0x%010x = 0x%016x  %s%n", s.level().entryName(),
                    s.level().index(linear), s.entryAddress(), s.entryValue(), flags(s.entryValue())));
        }
        if (r instanceof Translation t) {
            out.append(String.format("  -> physical 0x%x (%s page at 0x%x)%s%n", t.physicalAddress(), t.size().label(),
                    t.frameBase(), t.global() ? ", global" : ""));
        } else {
            PageFault f = (PageFault) r;
            out.append(String.format("  -> #PF error code 0x%x: %s%n", f.errorCode(), f.reason()));
        }
        return out.toString();
    }

    static String flags(long entry) {
        if ((entry & 1) == 0) {
            return "not present";
        }
        StringBuilder f = new StringBuilder("P");
        f.append((entry & 2) != 0 ? " RW" : " RO");
        f.append((entry & 4) != 0 ? " U" : " S");
        if ((entry & 8) != 0) f.append(" PWT");
        if ((entry & 16) != 0) f.append(" PCD");
        if ((entry & 32) != 0) f.append(" A");
        if ((entry & 64) != 0) f.append(" D");
        if ((entry & 128) != 0) f.append(" PS");
        if ((entry & 256) != 0) f.append(" G");
        if (entry < 0) f.append(" XD");
        return f.toString();
    }

    // ---- page-table tree --------------------------------------------------------------------------

    /** A run of virtual pages mapped to consecutive frames with the same effective rights. */
    public record Range(long virtualStart, long physicalStart, long length, String rights) {
    }

    /** Every present leaf under CR3, merged into ranges. */
    public List<Range> ranges() {
        List<Range> out = new ArrayList<>();
        long pml4 = state.pml4Base(40);
        for (int i = 0; i < 512; i++) {
            long e4 = memory.read64(pml4 + 8L * i);
            if ((e4 & 1) == 0) continue;
            long base4 = canonical((long) i << 39);
            for (int j = 0; j < 512; j++) {
                long e3 = memory.read64((e4 & 0xffffffffff000L) + 8L * j);
                if ((e3 & 1) == 0) continue;
                long base3 = base4 + ((long) j << 30);
                if ((e3 & 128) != 0) {
                    add(out, base3, e3 & 0xfffffc0000000L, 1L << 30, rights(e4, e3));
                    continue;
                }
                for (int k = 0; k < 512; k++) {
                    long e2 = memory.read64((e3 & 0xffffffffff000L) + 8L * k);
                    if ((e2 & 1) == 0) continue;
                    long base2 = base3 + ((long) k << 21);
                    if ((e2 & 128) != 0) {
                        add(out, base2, e2 & 0xfffffffe00000L, 1L << 21, rights(e4, e3, e2));
                        continue;
                    }
                    for (int l = 0; l < 512; l++) {
                        long e1 = memory.read64((e2 & 0xffffffffff000L) + 8L * l);
                        if ((e1 & 1) == 0) continue;
                        add(out, base2 + ((long) l << 12), e1 & 0xffffffffff000L, 1L << 12, rights(e4, e3, e2, e1));
                    }
                }
            }
        }
        return out;
    }

    private static void add(List<Range> out, long va, long pa, long length, String rights) {
        if (!out.isEmpty()) {
            Range last = out.getLast();
            if (last.virtualStart() + last.length() == va && last.physicalStart() + last.length() == pa && last.rights().equals(rights)) {
                out.set(out.size() - 1, new Range(last.virtualStart(), last.physicalStart(), last.length() + length, rights));
                return;
            }
        }
        out.add(new Range(va, pa, length, rights));
    }

    /** Effective rights across the levels (SDM 4.6): RW and U only if every level allows, XD if any sets it. */
    private String rights(long... entries) {
        boolean w = true, u = true, xd = false;
        for (long e : entries) {
            w &= (e & 2) != 0;
            u &= (e & 4) != 0;
            xd |= e < 0;
        }
        long leaf = entries[entries.length - 1];
        return (w ? "RW" : "RO") + (u ? " U" : " S") + (xd && state.nxe() ? " NX" : " X") + ((leaf & 256) != 0 ? " G" : "");
    }

    private static long canonical(long va) {
        return (va << 16) >> 16;
    }

    public String pageTables() {
        StringBuilder out = new StringBuilder(String.format("page tables at CR3 0x%x (PML4 at 0x%x):%n", state.cr3(), state.pml4Base(40)));
        for (Range r : ranges()) {
            out.append(String.format("  0x%016x-0x%016x -> 0x%010x-0x%010x  %-12s %s%n", r.virtualStart(),
                    r.virtualStart() + r.length() - 1, r.physicalStart(), r.physicalStart() + r.length() - 1, r.rights(), size(r.length())));
        }
        return out.toString();
    }

    /** The same tree as a Graphviz digraph: CR3 -> ranges, one node per merged range. */
    public String pageTablesDot() {
        StringBuilder out = new StringBuilder("digraph pagetables {\n  rankdir=LR;\n  node [shape=box, fontname=monospace];\n");
        out.append(String.format("  cr3 [label=\"CR3 0x%x\"];%n", state.cr3()));
        int n = 0;
        for (Range r : ranges()) {
            out.append(String.format("  v%d [label=\"0x%x\\n%s %s\"];%n  p%d [label=\"phys 0x%x\", shape=ellipse];%n  cr3 -> v%d;%n  v%d -> p%d;%n",
                    n, r.virtualStart(), size(r.length()), r.rights(), n, r.physicalStart(), n, n, n));
            n++;
        }
        return out.append("}\n").toString();
    }

    private static String size(long bytes) {
        if (bytes % (1L << 30) == 0) return (bytes >> 30) + " GiB";
        if (bytes % (1L << 20) == 0) return (bytes >> 20) + " MiB";
        return (bytes >> 10) + " KiB";
    }

    // ---- TLB and IDT ------------------------------------------------------------------------------

    public String tlbEntries() {
        StringBuilder out = new StringBuilder();
        for (Tlb.Kind kind : Tlb.Kind.values()) {
            List<TlbEntry> entries = tlb.entries(kind);
            out.append(String.format("%s: %d entries%n", kind == Tlb.Kind.INSTRUCTION ? "ITLB" : "DTLB", entries.size()));
            for (TlbEntry e : entries) {
                String mark = tlbMarks.apply(e);
                out.append(String.format("  %-7s 0x%016x -> 0x%010x  %s%s%s%s%s pcid %d%s%n", e.size().label(), e.pageBase(), e.frameBase(),
                        e.rights().writable() ? "RW" : "RO", e.rights().user() ? " U" : " S", e.rights().executable() ? " X" : " NX",
                        e.global() ? " G" : "", e.dirty() ? " D" : "", e.pcid(), mark == null ? "" : "  " + mark));
            }
        }
        return out.toString();
    }

    public String idt() {
        StringBuilder out = new StringBuilder(String.format("IDT at 0x%x, limit 0x%x (%d gates)%n", idtBase, idtLimit, (idtLimit + 1) / 16));
        for (int v = 0; v < Math.min(256, (idtLimit + 1) / 16); v++) {
            long a = idtBase + 16L * v;
            WalkResult r = walker.probe(a, AccessType.READ, AccessMode.IMPLICIT_SUPERVISOR, state);
            if (!(r instanceof Translation t)) {
                out.append(String.format("  %3d: the IDT entry at 0x%x is not mapped%n", v, a));
                continue;
            }
            long low = memory.read64(t.physicalAddress());
            long high = memory.read64(t.physicalAddress() + 8);
            if ((low >>> 47 & 1) == 0 && low == 0 && high == 0) {
                continue;
            }
            int type = (int) (low >>> 40) & 0xf;
            long offset = (low & 0xffff) | (low >>> 48 & 0xffff) << 16 | (high & 0xffffffffL) << 32;
            out.append(String.format("  %3d %-5s %-9s %s DPL %d IST %d  0x%04x:0x%016x %s%n", v, name(v),
                    type == 0xE ? "interrupt" : type == 0xF ? "trap" : String.format("type 0x%x", type),
                    (low >>> 47 & 1) != 0 ? "P" : "-", (low >>> 45) & 3, (low >>> 32) & 7, (low >>> 16) & 0xffff, offset,
                    symbols.describe(offset).map(s -> "<" + s + ">").orElse("")));
        }
        return out.toString();
    }

    private static final String[] NAMES = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "", "#TS", "#NP",
            "#SS", "#GP", "#PF", "", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP"};

    private static String name(int v) {
        return v < NAMES.length ? NAMES[v] : "";
    }
}
