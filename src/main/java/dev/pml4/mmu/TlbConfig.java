package dev.pml4.mmu;

import java.util.EnumMap;
import java.util.Map;

/**
 * The geometry of the split first-level TLBs: for each of the instruction and data TLB, and each
 * page size, a number of sets and of ways. A size with zero entries cannot be cached in that TLB
 * and its translations are not kept (re-walked on the next miss); the engine keeps such a page
 * mapped only until the next invalidation of any kind ({@link Mmu}).
 *
 * <p>The default follows a Skylake core (Intel 64 and IA-32 Architectures Optimization Reference
 * Manual, 2.2.6 "Skylake microarchitecture", TLB table): ITLB 4 KiB 128 entries 8-way, ITLB 2 MiB 8
 * entries fully associative; DTLB 4 KiB 64 entries 4-way, 2 MiB 32 entries 4-way, 1 GiB 4 entries
 * fully associative. Skylake's 2 MiB arrays hold 4 MiB pages too (32-bit paging); here the 4 MiB
 * array has the 2 MiB array's geometry. Skylake's ITLB has no 1 GiB array; it keeps 1 GiB pages as 2 MiB fragments.
 * We give the ITLB a small 1 GiB array instead, so that one kind of entry serves both TLBs.
 *
 * @param instruction sets and ways per page size of the ITLB
 * @param data sets and ways per page size of the DTLB
 */
public record TlbConfig(Map<PageSize, Geometry> instruction, Map<PageSize, Geometry> data) {

    /** {@code sets} must be a power of two; a set holds {@code ways} entries with LRU replacement. */
    public record Geometry(int sets, int ways) {
        public Geometry {
            if (sets < 0 || ways < 0 || (sets > 0 && Integer.bitCount(sets) != 1)) {
                throw new IllegalArgumentException("TLB sets must be a power of two and ways non-negative: " + sets + "x" + ways);
            }
        }

        public int entries() {
            return sets * ways;
        }

        @Override
        public String toString() {
            return sets + "x" + ways;
        }
    }

    public static TlbConfig skylake() {
        Map<PageSize, Geometry> i = new EnumMap<>(PageSize.class);
        i.put(PageSize.SIZE_4K, new Geometry(16, 8));
        i.put(PageSize.SIZE_2M, new Geometry(1, 8));
        i.put(PageSize.SIZE_4M, new Geometry(1, 8));
        i.put(PageSize.SIZE_1G, new Geometry(1, 4));
        Map<PageSize, Geometry> d = new EnumMap<>(PageSize.class);
        d.put(PageSize.SIZE_4K, new Geometry(16, 4));
        d.put(PageSize.SIZE_2M, new Geometry(8, 4));
        d.put(PageSize.SIZE_4M, new Geometry(8, 4));
        d.put(PageSize.SIZE_1G, new Geometry(1, 4));
        return new TlbConfig(i, d);
    }

    /** A TLB of a few entries, so that evictions show in small kernels: 1 set of 2 or 4 ways, 1 GiB: 1 way. */
    public static TlbConfig tiny() {
        Map<PageSize, Geometry> i = new EnumMap<>(PageSize.class);
        i.put(PageSize.SIZE_4K, new Geometry(1, 2));
        i.put(PageSize.SIZE_2M, new Geometry(1, 2));
        i.put(PageSize.SIZE_4M, new Geometry(1, 2));
        i.put(PageSize.SIZE_1G, new Geometry(1, 1));
        Map<PageSize, Geometry> d = new EnumMap<>(PageSize.class);
        d.put(PageSize.SIZE_4K, new Geometry(1, 4));
        d.put(PageSize.SIZE_2M, new Geometry(1, 2));
        d.put(PageSize.SIZE_4M, new Geometry(1, 2));
        d.put(PageSize.SIZE_1G, new Geometry(1, 1));
        return new TlbConfig(i, d);
    }

    /** No TLB: every access walks and nothing stays cached. */
    public static TlbConfig none() {
        Map<PageSize, Geometry> empty = new EnumMap<>(PageSize.class);
        for (PageSize size : PageSize.values()) {
            empty.put(size, new Geometry(0, 0));
        }
        return new TlbConfig(empty, new EnumMap<>(empty));
    }

    /**
     * Parses {@code --tlb}: an optional preset first ({@code skylake}, {@code tiny}, {@code none};
     * skylake when absent), then changes {@code TLB.SIZE=SETSxWAYS} with TLB {@code i} or
     * {@code d} and SIZE {@code 4k}, {@code 2m}, {@code 4m} or {@code 1g}, separated by commas.
     *
     * @throws IllegalArgumentException naming the part that is wrong
     */
    public static TlbConfig parse(String spec) {
        String[] parts = spec.strip().toLowerCase(java.util.Locale.ROOT).split("\\s*,\\s*");
        int first = 0;
        TlbConfig base = skylake();
        switch (parts[0]) {
            case "skylake" -> first = 1;
            case "tiny" -> { base = tiny(); first = 1; }
            case "none" -> { base = none(); first = 1; }
            default -> { }
        }
        Map<PageSize, Geometry> i = new EnumMap<>(base.instruction());
        Map<PageSize, Geometry> d = new EnumMap<>(base.data());
        for (int k = first; k < parts.length; k++) {
            String part = parts[k];
            var m = java.util.regex.Pattern.compile("([id])(4k|2m|4m|1g)=(\\d+)x(\\d+)").matcher(part);
            if (!m.matches()) {
                throw new IllegalArgumentException("'" + part + "' is neither a preset (skylake, tiny, none) nor TLB.SIZE=SETSxWAYS like d4k=16x4");
            }
            PageSize size = switch (m.group(2)) {
                case "4k" -> PageSize.SIZE_4K;
                case "2m" -> PageSize.SIZE_2M;
                case "4m" -> PageSize.SIZE_4M;
                default -> PageSize.SIZE_1G;
            };
            int sets;
            int ways;
            try {
                sets = Integer.parseInt(m.group(3));
                ways = Integer.parseInt(m.group(4));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + part + "': sets and ways must be small numbers");
            }
            if (sets > 4096 || ways > 64) {
                throw new IllegalArgumentException("'" + part + "': at most 4096 sets of 64 ways");
            }
            Geometry g;
            try {
                g = new Geometry(sets, ways);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("'" + part + "': " + e.getMessage());
            }
            (m.group(1).equals("i") ? i : d).put(size, g);
        }
        return new TlbConfig(i, d);
    }

    /**
     * The configuration as a {@code --tlb} spec that {@link #parse} reads back, e.g.
     * {@code i4k=16x8,...,d1g=1x4}, rather than the record's two maps of geometries.
     */
    @Override
    public String toString() {
        StringBuilder spec = new StringBuilder();
        for (var tlb : java.util.List.of(Map.entry("i", instruction), Map.entry("d", data))) {
            for (var e : tlb.getValue().entrySet()) {
                spec.append(spec.isEmpty() ? "" : ",").append(tlb.getKey()).append(switch (e.getKey()) {
                    case SIZE_4K -> "4k";
                    case SIZE_2M -> "2m";
                    case SIZE_4M -> "4m";
                    case SIZE_1G -> "1g";
                }).append('=').append(e.getValue());
            }
        }
        return spec.toString();
    }

    public Geometry geometry(Tlb.Kind kind, PageSize size) {
        Geometry g = (kind == Tlb.Kind.INSTRUCTION ? instruction : data).get(size);
        return g == null ? new Geometry(0, 0) : g;
    }
}
