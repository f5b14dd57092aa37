package dev.pml4.machine;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * A kernel's symbols, for the tracer ("at handle_pf+0x1c") and the debugger ("break handle_pf").
 *
 * <p>Addresses are compared unsigned throughout: a higher-half kernel's symbols are "negative"
 * longs.
 */
public final class SymbolTable {
    /** ELF {@code STT_*} types that name code or data; sections, files and TLS are left out. */
    public enum Kind { NOTYPE, OBJECT, FUNC }

    /** ELF {@code STB_*} bindings. */
    public enum Binding { LOCAL, GLOBAL, WEAK }

    public record Symbol(String name, long value, long size, Kind kind, Binding binding) {
        public Symbol {
            if (name == null || name.isEmpty()) {
                throw new IllegalArgumentException("a symbol needs a name");
            }
        }
    }

    private static final SymbolTable EMPTY = new SymbolTable(List.of(), null);

    /*
     * When several symbols share an address, describe() names the one a reader most likely means: a
     * global over a weak over a local one, a typed (FUNC/OBJECT) over a NOTYPE label, a NASM
     * top-level label over a dotted local one ("loop" in "kmain.loop"), then the first in the table.
     */
    private static final Comparator<Symbol> PREFERENCE = Comparator
            .comparingInt((Symbol s) -> switch (s.binding()) {
                case GLOBAL -> 0;
                case WEAK -> 1;
                case LOCAL -> 2;
            })
            .thenComparingInt(s -> s.kind() == Kind.NOTYPE ? 1 : 0)
            .thenComparingInt(s -> s.name().contains(".") ? 1 : 0);

    private final List<Symbol> symbols;
    private final TreeMap<Long, Symbol> byAddress = new TreeMap<>(Long::compareUnsigned);
    /** Inclusive [first, last] virtual ranges that describe() answers for, or null for no limit. */
    private final List<long[]> regions;

    private SymbolTable(Collection<Symbol> symbols, List<long[]> regions) {
        this.symbols = List.copyOf(symbols);
        this.regions = regions;
        for (Symbol s : this.symbols) {
            byAddress.merge(s.value(), s, (old, add) -> PREFERENCE.compare(add, old) < 0 ? add : old);
        }
    }

    public static SymbolTable empty() {
        return EMPTY;
    }

    /** A table that describes any address at or above its lowest symbol. */
    public static SymbolTable of(Collection<Symbol> symbols) {
        return new SymbolTable(symbols, null);
    }

    /**
     * A table that describes only addresses inside the given segments' virtual ranges, and only by
     * a symbol of the same segment, so an address in some user program is not called
     * "kernel_end+0x2ff000".
     */
    static SymbolTable of(Collection<Symbol> symbols, List<LoadSegment> segments) {
        List<long[]> regions = new ArrayList<>();
        for (LoadSegment s : segments) {
            regions.add(new long[] {s.virtualAddress(), s.lastVirtual()});
        }
        return new SymbolTable(symbols, regions);
    }

    /** Every symbol, in table order. */
    public List<Symbol> symbols() {
        return symbols;
    }

    public boolean isEmpty() {
        return symbols.isEmpty();
    }

    /**
     * "name+0x12" for the nearest symbol at or below the address, or "name" when the address is the
     * symbol's own; empty when no symbol lies at or below it (within its segment, for an ELF).
     */
    public Optional<String> describe(long address) {
        Map.Entry<Long, Symbol> floor = byAddress.floorEntry(address);
        if (floor == null) {
            return Optional.empty();
        }
        if (regions != null) {
            long[] region = regionOf(address);
            if (region == null || Long.compareUnsigned(floor.getKey(), region[0]) < 0) {
                return Optional.empty();
            }
        }
        long offset = address - floor.getKey();
        String name = floor.getValue().name();
        return Optional.of(offset == 0 ? name : name + "+0x" + Long.toHexString(offset));
    }

    /** The address of the named symbol; a global one wins when several share the name. */
    public OptionalLong lookup(String name) {
        Symbol best = null;
        for (Symbol s : symbols) {
            if (s.name().equals(name) && (best == null
                    || best.binding() == Binding.LOCAL && s.binding() != Binding.LOCAL)) {
                best = s;
            }
        }
        return best == null ? OptionalLong.empty() : OptionalLong.of(best.value());
    }

    private long[] regionOf(long address) {
        for (long[] r : regions) {
            if (Long.compareUnsigned(address, r[0]) >= 0 && Long.compareUnsigned(address, r[1]) <= 0) {
                return r;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return "SymbolTable[" + symbols.size() + " symbols]";
    }
}
