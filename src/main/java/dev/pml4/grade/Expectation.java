package dev.pml4.grade;

import dev.pml4.api.Walk;
import dev.pml4.mmu.AccessType;
import dev.pml4.mmu.PagingLevel;
import dev.pml4.mmu.Tlb;
import dev.pml4.mmu.TlbEntry;
import dev.pml4.mmu.WalkStep;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One check of a test's {@code [test.expect]}: {@link #check} says what is wrong, or nothing. Each
 * message starts with the key it comes from ("faults[2]: ...") and carries the detail a student
 * needs: the transcript difference, the walk, the faults taken.
 */
sealed interface Expectation {
    /** Where in the spec it comes from, e.g. {@code faults[2]}. */
    String key();

    Optional<String> check(Observed run);

    private static Optional<String> fail(Expectation e, String message) {
        return Optional.of(e.key() + ": " + message);
    }

    /** The last lines of the transcript, for messages. */
    static String tail(String serial, int lines) {
        if (serial.isEmpty()) {
            return "  (the guest wrote nothing to COM1)";
        }
        List<String> all = serial.lines().toList();
        List<String> last = all.subList(Math.max(0, all.size() - lines), all.size());
        StringBuilder out = new StringBuilder(all.size() > lines ? "  (the transcript ends:)\n" : "  (the transcript:)\n");
        for (String l : last) {
            out.append("  | ").append(l).append('\n');
        }
        return out.toString().stripTrailing();
    }

    record Status(int expected) implements Expectation {
        public String key() {
            return "status";
        }

        public Optional<String> check(Observed run) {
            if (run.outcome().status() == expected) {
                return Optional.empty();
            }
            return fail(this, String.format("expected exit status %d, got %d: %s", expected, run.outcome().status(), run.outcome().reason()));
        }
    }

    record NoTripleFault() implements Expectation {
        public String key() {
            return "no_triple_fault";
        }

        public Optional<String> check(Observed run) {
            return run.outcome().tripleFault() ? fail(this, run.outcome().reason()) : Optional.empty();
        }
    }

    /** The exact transcript, from a file beside the spec. */
    record SerialExact(String file, String expected) implements Expectation {
        public String key() {
            return "serial";
        }

        public Optional<String> check(Observed run) {
            String got = run.serial();
            if (got.equals(expected)) {
                return Optional.empty();
            }
            List<String> want = expected.lines().toList();
            List<String> have = got.lines().toList();
            int line = 0;
            while (line < want.size() && line < have.size() && want.get(line).equals(have.get(line))) {
                line++;
            }
            StringBuilder diff = new StringBuilder(String.format("the transcript differs from %s at line %d:%n", file, line + 1));
            for (int i = Math.max(0, line - 2); i < line; i++) {
                diff.append("    ").append(want.get(i)).append('\n');
            }
            for (int i = line; i < Math.min(want.size(), line + 3); i++) {
                diff.append("  - ").append(want.get(i)).append('\n');
            }
            for (int i = line; i < Math.min(have.size(), line + 3); i++) {
                diff.append("  + ").append(have.get(i)).append('\n');
            }
            if (line >= want.size() && line >= have.size()) {
                diff.append("  (the lines agree; the difference is in line endings or a final newline)\n");
            } else if (line >= have.size()) {
                diff.append("  + (the transcript ends here)\n");
            } else if (line >= want.size()) {
                diff.append("  - (the expected transcript ends here)\n");
            }
            return fail(this, diff.toString().stripTrailing());
        }
    }

    /**
     * Pieces the transcript must hold in this order, each found after the end of the one before:
     * {@code serial_contains} (strings, matched literally) and {@code serial_matches} (regular
     * expressions, java.util.regex with MULTILINE).
     */
    record SerialInOrder(String key, List<Pattern> patterns, List<String> shown, boolean literal) implements Expectation {
        static SerialInOrder contains(List<String> strings) {
            return new SerialInOrder("serial_contains", strings.stream().map(s -> Pattern.compile(Pattern.quote(s))).toList(),
                    strings.stream().map(Expectation::quote).toList(), true);
        }

        static SerialInOrder matches(List<Pattern> patterns) {
            return new SerialInOrder("serial_matches", patterns, patterns.stream().map(p -> "/" + p.pattern() + "/").toList(), false);
        }

        /** "heap[0x10] = 0x0\n" for a string, /^sum = \d+$/ for a regular expression. */
        private String shown(int i) {
            return shown.get(i);
        }

        public Optional<String> check(Observed run) {
            int from = 0;
            for (int i = 0; i < patterns.size(); i++) {
                Matcher m = patterns.get(i).matcher(run.serial());
                if (!m.find(from)) {
                    String where = i == 0 ? "" : " after " + (literal ? "" : "the match of ") + shown(i - 1);
                    return fail(this, String.format("%s %s the transcript%s%n%s", shown(i), literal ? "not found in" : "does not match",
                            where, tail(run.serial(), 8)));
                }
                from = m.end();
            }
            return Optional.empty();
        }
    }

    /** Exceptions delivered with this vector (and error code, and CR2, when given): {@code count} of them. */
    record Faults(String key, int vector, Integer error, Long cr2, Count count) implements Expectation {
        public Optional<String> check(Observed run) {
            long seen = 0;
            for (var e : run.faults().counts().entrySet()) {
                Observed.FaultLog.Key k = e.getKey();
                if (k.vector() == vector && (error == null || k.errorCode() == error) && (cr2 == null || k.cr2() == cr2)) {
                    seen += e.getValue();
                }
            }
            if (count.accepts(seen)) {
                return Optional.empty();
            }
            return fail(this, String.format("expected %s %s, got %d; %s", count, describe(), seen, run.faults().summary(12)));
        }

        private String describe() {
            return ExceptionNames.name(vector) + (error != null ? String.format(" with error code 0x%x", error) : "")
                    + (cr2 != null ? String.format(" at CR2=0x%x", cr2) : "");
        }
    }

    /**
     * A walk after the run, as a probe: it translates to {@code physical} with {@code rights}, or
     * faults ({@code fault}: true, or the error code expected; false: must translate).
     */
    record Walks(String key, long va, AccessType access, boolean user, Long physical, List<String> rights, Object fault)
            implements Expectation {
        public Optional<String> check(Observed run) {
            Walk w = run.state().walk(va, access, user);
            List<String> problems = new ArrayList<>();
            boolean mustFault = Boolean.TRUE.equals(fault) || fault instanceof Integer;
            if (mustFault && w.translated()) {
                problems.add(String.format("expected a #PF%s, but it translates to 0x%x (%s)",
                        fault instanceof Integer code ? String.format(" with error code 0x%x", code) : "", w.physical(), w.rightsText()));
            } else if (mustFault && fault instanceof Integer code && w.errorCode() != code) {
                problems.add(String.format("expected #PF error code 0x%x, got 0x%x (%s)", code, w.errorCode(), w.reason()));
            } else if (!mustFault && !w.translated() && (physical != null || !rights.isEmpty() || Boolean.FALSE.equals(fault))) {
                problems.add(String.format("expected a translation, got #PF error code 0x%x: %s", w.errorCode(), w.reason()));
            } else if (w.translated()) {
                if (physical != null && w.physical() != physical) {
                    problems.add(String.format("expected physical 0x%x, got 0x%x", physical, w.physical()));
                }
                List<String> have = List.of(w.rightsText().split(" "));
                List<String> missing = rights.stream().filter(r -> !have.contains(r)).toList();
                if (!missing.isEmpty()) {
                    problems.add(String.format("expected rights %s, got %s", String.join(" ", rights), w.rightsText()));
                }
            }
            if (problems.isEmpty()) {
                return Optional.empty();
            }
            return fail(this, String.join("; ", problems) + "\n" + indent(run.state().describeWalk(va, access, user)));
        }
    }

    /** Bits of the paging-structure entry at {@code level} on the way to {@code va}. */
    record Pte(String key, long va, PagingLevel level, long set, long clear) implements Expectation {
        public Optional<String> check(Observed run) {
            Optional<WalkStep> step = run.state().entry(va, level);
            if (step.isEmpty()) {
                return fail(this, String.format("the walk of 0x%x does not reach a %s%n%s", va, level.entryName(),
                        indent(run.state().describeWalk(va, AccessType.READ, false))));
            }
            long value = step.get().entryValue();
            long notSet = set & ~value;
            long notClear = clear & value;
            if (notSet == 0 && notClear == 0) {
                return Optional.empty();
            }
            StringBuilder m = new StringBuilder(String.format("%s of 0x%x (at physical 0x%x) is 0x%x [%s]:", level.entryName(), va,
                    step.get().entryAddress(), value, EntryBits.names(value)));
            if (notSet != 0) {
                m.append(" expected set: ").append(EntryBits.names(notSet)).append(';');
            }
            if (notClear != 0) {
                m.append(" expected clear: ").append(EntryBits.names(notClear)).append(';');
            }
            m.setLength(m.length() - 1);
            return fail(this, m + "\n" + indent(run.state().describeWalk(va, AccessType.READ, false)));
        }
    }

    /** Whether a TLB (or either, when {@code kind} is null) holds an entry for {@code va} when the run ends. */
    record TlbHolds(String key, long va, boolean present, Tlb.Kind kind) implements Expectation {
        public Optional<String> check(Observed run) {
            List<Tlb.Kind> kinds = kind == null ? List.of(Tlb.Kind.values()) : List.of(kind);
            Optional<TlbEntry> found = kinds.stream().map(k -> run.state().tlbEntry(k, va)).flatMap(Optional::stream).findFirst();
            if (found.isPresent() == present) {
                return Optional.empty();
            }
            String which = kind == null ? "the TLB" : kind == Tlb.Kind.DATA ? "the DTLB" : "the ITLB";
            if (present) {
                return fail(this, String.format("expected an entry for 0x%x in %s, found none%n%s", va, which, indent(run.state().show("tlb"))));
            }
            TlbEntry e = found.get();
            return fail(this, String.format("expected no entry for 0x%x in %s, found %s 0x%x -> 0x%x", va, which, e.size().label(),
                    e.pageBase(), e.frameBase()));
        }
    }

    /** {@code stale_tlb = false}: the TLB-coherence check found no stale translation used. */
    record NoStaleTlb() implements Expectation {
        public String key() {
            return "stale_tlb";
        }

        public Optional<String> check(Observed run) {
            List<String> stale = run.staleUses().orElseThrow(() -> new IllegalStateException("stale_tlb checked without the TLB check"));
            if (stale.isEmpty()) {
                return Optional.empty();
            }
            return fail(this, stale.size() + " use(s) of a stale TLB entry:\n" + indent(String.join("\n", stale.subList(0, Math.min(5, stale.size())))));
        }
    }

    /** A string as a spec writes it: in double quotes, with \\n, \\t, \\" and \\xNN for the rest of the control characters. */
    static String quote(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '\n' -> out.append("\\n");
                case '\t' -> out.append("\\t");
                case '\r' -> out.append("\\r");
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> out.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
            }
        }
        return out.append('"').toString();
    }

    private static String indent(String text) {
        return text.stripTrailing().lines().map(l -> "    " + l).reduce((a, b) -> a + "\n" + b).orElse("");
    }

    /** The flags of a paging-structure entry by name (SDM Vol. 3A 4.5, Tables 4-14 to 4-20). */
    final class EntryBits {
        static final String[] NAMES = {"P", "RW", "US", "PWT", "PCD", "A", "D", "PS", "G"};

        private EntryBits() {
        }

        /** The mask of one flag name: P, RW, US (also U), PWT, PCD, A, D, PS, G, XD (also NX). */
        static long mask(String name) {
            String n = name.strip().toUpperCase(Locale.ROOT);
            switch (n) {
                case "U", "U/S", "USER" -> n = "US";
                case "R/W", "W", "WRITABLE" -> n = "RW";
                case "NX" -> n = "XD";
                case "PRESENT" -> n = "P";
                case "ACCESSED" -> n = "A";
                case "DIRTY" -> n = "D";
                case "GLOBAL" -> n = "G";
                case "PAGE_SIZE", "PAGESIZE", "LARGE" -> n = "PS";
                default -> {
                }
            }
            if (n.equals("XD")) {
                return 1L << 63;
            }
            for (int i = 0; i < NAMES.length; i++) {
                if (NAMES[i].equals(n)) {
                    return 1L << i;
                }
            }
            throw new IllegalArgumentException("'" + name + "' is not an entry flag: one of P, RW, US, PWT, PCD, A, D, PS, G, XD");
        }

        static String names(long bits) {
            List<String> out = new ArrayList<>();
            for (int i = 0; i < NAMES.length; i++) {
                if ((bits >>> i & 1) != 0) {
                    out.add(NAMES[i]);
                }
            }
            if (bits < 0) {
                out.add("XD");
            }
            long other = bits & ~0x1ffL & ~(1L << 63);
            if (other != 0) {
                out.add(String.format("0x%x", other));
            }
            return out.isEmpty() ? "none" : String.join(" ", out);
        }
    }
}
