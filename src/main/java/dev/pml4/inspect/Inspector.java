package dev.pml4.inspect;

import dev.pml4.machine.PhysicalMemory;
import dev.pml4.machine.SymbolTable;
import dev.pml4.mmu.AccessMode;
import dev.pml4.mmu.AccessType;
import dev.pml4.mmu.PageFault;
import dev.pml4.mmu.PageWalker;
import dev.pml4.mmu.PagingLevel;
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
    public static final String QUERIES = "pt, pt-tree, pt-dot, tlb, idt, walk VA [read|write|fetch] [user]";

    /**
     * One inspection by name, as the command line, a dump and gdb's {@code monitor} ask for it:
     * {@code pt}, {@code pt-tree}, {@code pt-dot}, {@code tlb}, {@code idt}, or {@code walk VA [read|write|fetch] [user]}.
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
            case "pt-tree" -> pageTableTree();
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
     * The page-table views when there are no tables to show: paging off (a kernel in 32-bit
     * protected mode before it enables paging) says so. Null when the views apply.
     */
    private String unpaged(String what, List<String> args) {
        PagingMode mode = state.mode();
        if (mode != PagingMode.NONE || !(what.startsWith("pt") || what.equals("walk"))) {
            return null;
        }
        String why = "paging is off (CR0.PG=0): linear addresses are physical addresses";
        if (what.equals("pt-dot")) {
            return "digraph pagetables {\n  label=\"" + why + "\";\n}\n";
        }
        if (what.equals("walk") && !args.isEmpty()) {
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
        PagingMode paging = state.mode();
        // 32-bit linear addresses under 32-bit and PAE paging (SDM Table 4-1): 8 hex digits.
        StringBuilder out = new StringBuilder(String.format("walk of 0x%0" + (paging.linearBits() == 32 ? 8 : 16)
                + "x (%s, %s) from CR3 0x%x%s%n", linear,
                type.name().toLowerCase(Locale.ROOT), mode == AccessMode.USER ? "user" : "supervisor", state.cr3(),
                paging == PagingMode.FOUR_LEVEL ? "" : ", " + paging.description()));
        WalkResult r = walker.probe(linear, type, mode, state);
        List<WalkStep> steps = r instanceof Translation t ? t.steps() : ((PageFault) r).steps();
        for (WalkStep s : steps) {
            // Entries at their width: 8 hex digits under 32-bit paging, 16 otherwise; PAE's PDPTEs are registers.
            String value = s.level().entryBytes() == 4 ? String.format("0x%08x        ", s.entryValue())
                    : String.format("0x%016x", s.entryValue());
            out.append(String.format("  %-6s index %3d  %s 0x%010x = %s  %s%n", s.level().entryName(),
                    s.level().index(linear), s.level() == PagingLevel.PAE_PDPT ? "register from" : "entry at",
                    s.entryAddress(), value, s.level() == PagingLevel.PAE_PDPT ? pdpteFlags(s.entryValue()) : flags(s.entryValue())));
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

    /** A PAE PDPTE has P, PWT and PCD only (SDM Table 4-8): no R/W, U/S, A or XD. */
    static String pdpteFlags(long entry) {
        if ((entry & 1) == 0) {
            return "not present";
        }
        return "P" + ((entry & 8) != 0 ? " PWT" : "") + ((entry & 16) != 0 ? " PCD" : "");
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

    private PageTables tables() {
        return PageTables.read(walker, state);
    }

    /** Every present leaf under CR3, merged into ranges. */
    public List<Range> ranges() {
        PageTables t = tables();
        List<Range> out = new ArrayList<>();
        collect(t, t.root(), 0, new ArrayList<>(), out);
        return out;
    }

    private void collect(PageTables t, PageTables.Table table, long base, List<Long> path, List<Range> out) {
        for (PageTables.Entry e : table.present()) {
            long va = t.linear(base, table.level(), e.index());
            if (table.level() != PagingLevel.PAE_PDPT) { // PDPTE registers carry no rights (SDM Table 4-8)
                path.add(e.value());
            }
            if (e.leaf()) {
                add(out, va, e.frame(), e.size().bytes(), rights(path));
            } else {
                collect(t, e.next(), va, path, out);
            }
            if (table.level() != PagingLevel.PAE_PDPT) {
                path.removeLast();
            }
        }
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
    private String rights(List<Long> entries) {
        boolean w = true, u = true, xd = false;
        for (long e : entries) {
            w &= (e & 2) != 0;
            u &= (e & 4) != 0;
            xd |= e < 0;
        }
        long leaf = entries.getLast();
        return (w ? "RW" : "RO") + (u ? " U" : " S") + (xd && state.nxe() ? " NX" : " X") + ((leaf & 256) != 0 ? " G" : "");
    }

    /** "PML4 at 0x1000", "page directory at 0x1000", "PDPTE registers loaded from 0x1020". */
    private String rootName(PageTables t) {
        PagingLevel level = t.root().level();
        String name = switch (level) {
            case PML5 -> "PML5";
            case PML4 -> "PML4";
            case PAE_PDPT -> "PDPTE registers loaded from";
            default -> "page directory";
        };
        return String.format("%s at 0x%x", name, t.root().address()).replace("from at", "from");
    }

    public String pageTables() {
        PageTables t = tables();
        StringBuilder out = new StringBuilder(String.format("page tables at CR3 0x%x (%s%s):%n", state.cr3(), rootName(t),
                t.mode() == PagingMode.FOUR_LEVEL ? "" : ", " + t.mode().description()));
        String va = "0x%0" + t.linearDigits() + "x";
        for (Range r : ranges()) {
            out.append(String.format("  " + va + "-" + va + " -> 0x%010x-0x%010x  %-12s %s%n", r.virtualStart(),
                    r.virtualStart() + r.length() - 1, r.physicalStart(), r.physicalStart() + r.length() - 1, r.rights(), size(r.length())));
        }
        return out.toString();
    }

    /**
     * xv6's {@code vmprint} layout, which OS courses already use: the root table's address, then one
     * line per present entry, indented by level (" .." per level), with its index, the entry at its
     * width, and the physical address it holds (the next table or the page). A shared table is
     * listed under every entry that references it, as vmprint does.
     */
    public String pageTableTree() {
        PageTables t = tables();
        StringBuilder out = new StringBuilder(String.format("page table 0x%016x (%s)%n", t.root().address(), t.mode().description()));
        tree(t.root(), 1, out);
        return out.toString();
    }

    private static void tree(PageTables.Table table, int depth, StringBuilder out) {
        String width = "%0" + 2 * table.level().entryBytes() + "x";
        for (PageTables.Entry e : table.present()) {
            out.append(" ..".repeat(depth - 1)).append(" ..").append(e.index())
                    .append(String.format(": %s 0x" + width + " pa 0x%016x%s%n", table.level().entryName().toLowerCase(Locale.ROOT),
                            e.value(), e.leaf() ? e.frame() : e.next().address(), e.leaf() ? " " + e.size().label() + " page" : ""));
            if (!e.leaf()) {
                tree(e.next(), depth + 1, out);
            }
        }
    }

    /**
     * The tables themselves as a Graphviz digraph: CR3 points at the root; each table frame is one
     * node listing its present entries (index and value at the entry's width); each entry points at
     * the next table or at the page frame it maps. A table or frame two entries reference is drawn
     * once, so an alias (two virtual pages, one frame) and a shared page table show as two arrows
     * into one node. Runs of leaf entries mapping consecutive frames with the same flags are drawn
     * as one row and one frame range, so a 1 GiB identity map stays one line.
     */
    public String pageTablesDot() {
        PageTables t = tables();
        StringBuilder out = new StringBuilder("digraph pagetables {\n  rankdir=LR;\n  node [shape=plaintext, fontname=monospace];\n");
        out.append(String.format("  label=\"%s\";%n", t.mode().description()));
        out.append(String.format("  cr3 [shape=box, label=\"CR3 0x%x\"];%n  cr3 -> t%x;%n", state.cr3(), t.root().address()));
        java.util.Set<Long> drawn = new java.util.HashSet<>();
        java.util.Set<String> frames = new java.util.LinkedHashSet<>();
        dotTable(t.root(), drawn, frames, out);
        for (String f : frames) {
            out.append(f);
        }
        return out.append("}\n").toString();
    }

    private void dotTable(PageTables.Table table, java.util.Set<Long> drawn, java.util.Set<String> frames, StringBuilder out) {
        if (!drawn.add(table.address())) {
            return;
        }
        String width = "%0" + 2 * table.level().entryBytes() + "x";
        StringBuilder rows = new StringBuilder();
        StringBuilder edges = new StringBuilder();
        List<PageTables.Entry> present = table.present();
        for (int i = 0; i < present.size(); ) {
            PageTables.Entry e = present.get(i);
            int j = i + 1;
            if (e.leaf()) {
                // a run: consecutive indexes, consecutive frames, the same low flags and XD
                while (j < present.size() && present.get(j).leaf() && present.get(j).index() == e.index() + (j - i)
                        && present.get(j).frame() == e.frame() + (j - i) * e.size().bytes()
                        && ((present.get(j).value() ^ e.value()) & 0x8000_0000_0000_0fffL & ~0x60L) == 0) {
                    j++;
                }
            }
            String index = j - i == 1 ? Integer.toString(e.index()) : e.index() + "-" + present.get(j - 1).index();
            String port = "e" + e.index();
            rows.append(String.format("<tr><td port=\"%s\" align=\"left\">%s: 0x" + width + "%s</td></tr>", port, index, e.value(),
                    j - i == 1 ? "" : " ..."));
            if (e.leaf()) {
                long bytes = (j - i) * e.size().bytes();
                String node = String.format("f%x_%x", e.frame(), bytes);
                frames.add(String.format("  %s [shape=box, style=filled, fillcolor=lightyellow, label=\"frame%s 0x%x\\n%s\"];%n", node,
                        j - i == 1 ? "" : "s", e.frame(), j - i == 1 ? e.size().label() + " page" : (j - i) + " x " + e.size().label()));
                edges.append(String.format("  t%x:%s -> %s;%n", table.address(), port, node));
            } else {
                edges.append(String.format("  t%x:%s -> t%x;%n", table.address(), port, e.next().address()));
            }
            i = j;
        }
        String title = table.level() == PagingLevel.PAE_PDPT ? "PDPTE registers (from 0x%x)" : table.level().name().replace("_32", "") + " at 0x%x";
        out.append(String.format("  t%x [label=<<table border=\"1\" cellborder=\"0\" cellspacing=\"0\"><tr><td bgcolor=\"lightblue\"><b>"
                + title + "</b></td></tr>%s</table>>];%n", table.address(), table.address(),
                rows.length() == 0 ? "<tr><td>(no present entries)</td></tr>" : rows));
        out.append(edges);
        for (PageTables.Entry e : present) {
            if (!e.leaf()) {
                dotTable(e.next(), drawn, frames, out);
            }
        }
    }

    private static String size(long bytes) {
        if (bytes % (1L << 30) == 0) return (bytes >> 30) + " GiB";
        if (bytes % (1L << 20) == 0) return (bytes >> 20) + " MiB";
        return (bytes >> 10) + " KiB";
    }

    // ---- TLB and IDT ------------------------------------------------------------------------------

    public String tlbEntries() {
        StringBuilder out = new StringBuilder();
        if (state.mode() == PagingMode.PAE) {
            // Beside the TLB: the PDPTE registers, a cache of their own (SDM 4.4.1).
            var regs = state.pdptes() != null ? state.pdptes() : dev.pml4.mmu.PdpteRegisters.read(memory, state.cr3());
            out.append(String.format("PDPTE registers (%s 0x%x):%n", state.pdptes() != null ? "loaded from" : "not loaded; the PDPT in memory at",
                    regs.tableAddress()));
            for (int i = 0; i < 4; i++) {
                out.append(String.format("  %d: 0x%016x  %s%n", i, regs.entry(i), pdpteFlags(regs.entry(i))));
            }
        }
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

    /**
     * The gates: 16 bytes each in IA-32e mode; 8 bytes each in protected mode (EFER.LMA = 0,
     * SDM Vol. 3A 6.11), with 32-bit offsets, no IST, and task and 16-bit gates named.
     */
    public String idt() {
        boolean legacy = (state.efer() & PagingState.EFER_LMA) == 0;
        int size = legacy ? 8 : 16;
        StringBuilder out = new StringBuilder(String.format("IDT at 0x%x, limit 0x%x (%d gates%s)%n", idtBase, idtLimit,
                (idtLimit + 1) / size, legacy ? " of 8 bytes, protected mode" : ""));
        for (int v = 0; v < Math.min(256, (idtLimit + 1) / size); v++) {
            long a = idtBase + (long) size * v;
            WalkResult r = walker.probe(a, AccessType.READ, AccessMode.IMPLICIT_SUPERVISOR, state);
            if (!(r instanceof Translation t)) {
                out.append(String.format("  %3d: the IDT entry at 0x%x is not mapped%n", v, a));
                continue;
            }
            long low = memory.read64(t.physicalAddress());
            long high = legacy ? 0 : memory.read64(t.physicalAddress() + 8);
            if (low == 0 && high == 0) {
                continue;
            }
            int type = (int) (low >>> 40) & 0xf;
            long offset = (low & 0xffff) | (low >>> 48 & 0xffff) << 16 | (high & 0xffffffffL) << 32;
            String kind = switch (type) {
                case 0xE -> "interrupt";
                case 0xF -> "trap";
                case 0x5 -> legacy ? "task" : "type 0x5";
                case 0x6 -> legacy ? "int16" : "type 0x6";
                case 0x7 -> legacy ? "trap16" : "type 0x7";
                default -> String.format("type 0x%x", type);
            };
            String where = legacy ? String.format("0x%04x:0x%08x", (low >>> 16) & 0xffff, offset)
                    : String.format("0x%04x:0x%016x", (low >>> 16) & 0xffff, offset);
            out.append(String.format("  %3d %-5s %-9s %s DPL %d%s  %s %s%n", v, name(v), kind,
                    (low >>> 47 & 1) != 0 ? "P" : "-", (low >>> 45) & 3, legacy ? "" : " IST " + ((low >>> 32) & 7), where,
                    symbols.describe(offset).map(sym -> "<" + sym + ">").orElse("")));
        }
        return out.toString();
    }

    private static final String[] NAMES = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "", "#TS", "#NP",
            "#SS", "#GP", "#PF", "", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP"};

    private static String name(int v) {
        return v < NAMES.length ? NAMES[v] : "";
    }
}
