package dev.pml4.grade;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import dev.pml4.cli.RunArguments;
import dev.pml4.inspect.Inspector;
import dev.pml4.mmu.AccessType;
import dev.pml4.mmu.PagingLevel;
import dev.pml4.mmu.Tlb;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A lab spec: TOML with one {@code [[test]]} table per test (README, "Grading labs"). Parsing checks
 * everything a run would need, the {@code args} by {@code pml4 run}'s own parser included, so a
 * bad spec is refused, naming the key, before any kernel runs.
 */
record LabSpec(Path file, String name, List<TestCase> tests) {

    /**
     * One test.
     *
     * @param image      the kernel, resolved against the spec's folder (a KERNEL on the command line replaces it)
     * @param serialIn   text COM1 receives, or null
     * @param maxInsns   the instruction limit, or null for the args' (or run's default)
     * @param checkTlb   run with the TLB-coherence check (stale_tlb is expected)
     * @param directory  the spec's folder, against which the files named in {@code args} are taken
     */
    record TestCase(int number, String name, double points, Path image, List<String> args, String serialIn, Long maxInsns,
                    List<Expectation> expectations, boolean checkTlb, Path directory) {
    }

    private static final Set<String> TOP_KEYS = Set.of("name", "description", "test");
    private static final Set<String> TEST_KEYS = Set.of("name", "description", "points", "image", "args", "serial_in", "max_insns",
            "expect");
    private static final Set<String> EXPECT_KEYS = Set.of("status", "serial", "serial_contains", "serial_matches", "faults",
            "walks", "pte", "tlb", "stale_tlb", "no_triple_fault");

    /** The rights a walk may be expected to give, by the names people write them with ("" : readable, always true). */
    private static final java.util.Map<String, String> RIGHTS = java.util.Map.ofEntries(
            java.util.Map.entry("RW", "RW"), java.util.Map.entry("W", "RW"), java.util.Map.entry("WRITABLE", "RW"),
            java.util.Map.entry("RO", "RO"), java.util.Map.entry("READONLY", "RO"), java.util.Map.entry("READ-ONLY", "RO"),
            java.util.Map.entry("U", "U"), java.util.Map.entry("US", "U"), java.util.Map.entry("USER", "U"),
            java.util.Map.entry("S", "S"), java.util.Map.entry("SUPERVISOR", "S"),
            java.util.Map.entry("X", "X"), java.util.Map.entry("EXEC", "X"), java.util.Map.entry("EXECUTABLE", "X"),
            java.util.Map.entry("NX", "NX"), java.util.Map.entry("XD", "NX"),
            java.util.Map.entry("R", ""), java.util.Map.entry("READ", ""), java.util.Map.entry("READABLE", ""));

    static LabSpec parse(Path file) throws SpecException {
        JsonNode root;
        try {
            root = new TomlMapper().readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (JacksonException e) {
            String where = e.getLocation() != null ? " (line " + e.getLocation().getLineNr() + ")" : "";
            throw new SpecException(file + ": not TOML" + where + ": " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new SpecException(file + ": cannot read it (" + e + ")");
        }
        Table top = new Table(file + ": ", root);
        top.allow(TOP_KEYS);
        String labName = top.has("name") ? top.string("name") : baseName(file);
        JsonNode tests = root.get("test");
        if (tests == null || !tests.isArray() || tests.isEmpty()) {
            throw new SpecException(file + ": no [[test]] table: a spec has one [[test]] table per test");
        }
        List<TestCase> out = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        for (int i = 0; i < tests.size(); i++) {
            TestCase t = test(file, i + 1, tests.get(i));
            if (!names.add(t.name())) {
                throw new SpecException(file + ": test[" + (i + 1) + "].name: '" + t.name() + "' names two tests");
            }
            out.add(t);
        }
        return new LabSpec(file, labName, List.copyOf(out));
    }

    private static String baseName(Path file) {
        String n = file.getFileName().toString();
        return n.endsWith(".toml") ? n.substring(0, n.length() - 5) : n;
    }

    private static TestCase test(Path file, int number, JsonNode node) throws SpecException {
        Table t = new Table(file + ": test[" + number + "]", node);
        t.allow(TEST_KEYS);
        String name = t.string("name");
        t = new Table(file + ": test[" + number + "] (\"" + name + "\")", node);
        double points = t.has("points") ? t.number("points") : 1;
        if (points < 0) {
            throw t.bad("points", "must not be negative");
        }
        Path image = t.has("image") ? file.toAbsolutePath().getParent().resolve(t.string("image")).normalize() : null;
        if (t.has("args") && !t.node("args").isArray()) {
            throw t.bad("args", "expected a list of strings, like [\"--mem\", \"32M\"]");
        }
        List<String> args = t.has("args") ? t.strings("args") : List.of();
        try {
            RunArguments parsed = RunArguments.parse(args);
            if (parsed.gdbPort().isPresent()) {
                throw t.bad("args", "--gdb waits for a debugger, which a grader cannot do");
            }
        } catch (IllegalArgumentException e) {
            throw t.bad("args", e.getMessage());
        }
        String serialIn = t.has("serial_in") ? t.string("serial_in") : null;
        Long maxInsns = t.has("max_insns") ? t.integer("max_insns") : null;
        if (maxInsns != null && maxInsns < 0) {
            throw t.bad("max_insns", "must be 0 (no limit) or more");
        }
        if (!t.has("expect")) {
            throw t.bad("expect", "missing: a test needs a [test.expect] table with at least one expectation");
        }
        Table e = t.table("expect");
        e.allow(EXPECT_KEYS);
        List<Expectation> expect = new ArrayList<>();
        if (e.has("status")) {
            expect.add(new Expectation.Status((int) e.integer("status")));
        }
        if (e.has("serial")) {
            Path transcript = file.toAbsolutePath().getParent().resolve(e.string("serial"));
            try {
                expect.add(new Expectation.SerialExact(e.string("serial"), Files.readString(transcript, StandardCharsets.ISO_8859_1)));
            } catch (IOException x) {
                throw e.bad("serial", "cannot read the transcript " + transcript + " (" + x + ")");
            }
        }
        if (e.has("serial_contains")) {
            expect.add(Expectation.SerialInOrder.contains(e.strings("serial_contains")));
        }
        if (e.has("serial_matches")) {
            List<Pattern> patterns = new ArrayList<>();
            for (String p : e.strings("serial_matches")) {
                try {
                    patterns.add(Pattern.compile(p, Pattern.MULTILINE));
                } catch (PatternSyntaxException x) {
                    throw e.bad("serial_matches", "/" + p + "/ is not a regular expression: " + x.getDescription());
                }
            }
            expect.add(Expectation.SerialInOrder.matches(patterns));
        }
        List<Table> faults = e.tables("faults");
        for (int i = 0; i < faults.size(); i++) {
            Table f = faults.get(i);
            f.allow(Set.of("vector", "error", "cr2", "count"));
            int vector = f.vector("vector");
            Integer error = f.has("error") ? (int) f.integer("error") : null;
            Long cr2 = f.has("cr2") ? f.address("cr2") : null;
            Count count;
            try {
                count = !f.has("count") ? Count.AT_LEAST_ONE
                        : f.node("count").isIntegralNumber() ? new Count(f.integer("count"), false) : Count.parse(f.string("count"));
            } catch (IllegalArgumentException x) {
                throw f.bad("count", x.getMessage());
            }
            expect.add(new Expectation.Faults("faults[" + (i + 1) + "]", vector, error, cr2, count));
        }
        List<Table> walks = e.tables("walks");
        for (int i = 0; i < walks.size(); i++) {
            Table w = walks.get(i);
            w.allow(Set.of("va", "access", "user", "physical", "rights", "fault"));
            List<String> rights = new ArrayList<>();
            List<String> words = !w.has("rights") ? List.of()
                    : w.node("rights").isArray() ? w.strings("rights") : List.of(w.string("rights").strip().split("[\\s,|+]+"));
            for (String r : words) {
                String right = RIGHTS.get(r.toUpperCase(Locale.ROOT));
                if (right == null) {
                    throw w.bad("rights", "'" + r + "' is not a right: use RW or RO, U or S, X or NX (e.g. \"RW U NX\")");
                }
                if (!right.isEmpty()) {
                    rights.add(right);
                }
            }
            Object fault = null;
            if (w.has("fault")) {
                fault = w.node("fault").isBoolean() ? (Object) w.bool("fault") : (Object) (int) w.integer("fault");
            }
            expect.add(new Expectation.Walks("walks[" + (i + 1) + "]", w.address("va"), w.access("access"),
                    w.has("user") && w.bool("user"), w.has("physical") ? w.address("physical") : null, rights, fault));
        }
        List<Table> ptes = e.tables("pte");
        for (int i = 0; i < ptes.size(); i++) {
            Table p = ptes.get(i);
            p.allow(Set.of("va", "level", "set", "clear"));
            PagingLevel level = p.has("level") ? p.level("level") : PagingLevel.PT;
            long set = p.has("set") ? p.bits("set") : 0;
            long clear = p.has("clear") ? p.bits("clear") : 0;
            if (set == 0 && clear == 0) {
                throw p.bad("set", "give the bits to check with set and/or clear");
            }
            expect.add(new Expectation.Pte("pte[" + (i + 1) + "]", p.address("va"), level, set, clear));
        }
        List<Table> tlbs = e.tables("tlb");
        for (int i = 0; i < tlbs.size(); i++) {
            Table b = tlbs.get(i);
            b.allow(Set.of("va", "present", "tlb"));
            Tlb.Kind kind = null;
            if (b.has("tlb")) {
                kind = switch (b.string("tlb").toLowerCase(Locale.ROOT)) {
                    case "d", "dtlb", "data" -> Tlb.Kind.DATA;
                    case "i", "itlb", "instruction" -> Tlb.Kind.INSTRUCTION;
                    case "any" -> null;
                    default -> throw b.bad("tlb", "'" + b.string("tlb") + "' is not dtlb, itlb or any");
                };
            }
            expect.add(new Expectation.TlbHolds("tlb[" + (i + 1) + "]", b.address("va"), !b.has("present") || b.bool("present"), kind));
        }
        boolean checkTlb = false;
        if (e.has("stale_tlb")) {
            if (e.bool("stale_tlb")) {
                throw e.bad("stale_tlb", "only stale_tlb = false (no stale translation used) can be expected");
            }
            checkTlb = true;
            expect.add(new Expectation.NoStaleTlb());
        }
        if (e.has("no_triple_fault")) {
            if (e.bool("no_triple_fault")) {
                expect.add(new Expectation.NoTripleFault());
            }
        }
        if (expect.isEmpty() && !e.has("no_triple_fault")) {
            throw t.bad("expect", "empty: give at least one expectation (" + String.join(", ", EXPECT_KEYS) + ")");
        }
        return new TestCase(number, name, points, image, List.copyOf(args), serialIn, maxInsns, List.copyOf(expect), checkTlb,
                file.toAbsolutePath().getParent());
    }

    /** One TOML table, with the path of keys that leads to it for messages. */
    private record Table(String path, JsonNode node) {
        /** The path of {@code key} in this table: "lab.toml: test[1] (\"t\").expect.faults" ... */
        String at(String key) {
            return path.endsWith(": ") ? path + key : path + "." + key;
        }

        SpecException bad(String key, String why) {
            return new SpecException(at(key) + ": " + why);
        }

        void allow(Set<String> keys) throws SpecException {
            if (!node.isObject()) {
                throw new SpecException(path + ": expected a table");
            }
            for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!keys.contains(k)) {
                    throw new SpecException(at(k) + ": unknown key (known here: " + String.join(", ", keys.stream().sorted().toList()) + ")");
                }
            }
        }

        boolean has(String key) {
            return node.has(key);
        }

        JsonNode node(String key) throws SpecException {
            JsonNode n = node.get(key);
            if (n == null) {
                throw bad(key, "missing");
            }
            return n;
        }

        String string(String key) throws SpecException {
            JsonNode n = node(key);
            if (!n.isTextual()) {
                throw bad(key, "expected a string, got " + n);
            }
            return n.textValue();
        }

        List<String> strings(String key) throws SpecException {
            JsonNode n = node(key);
            if (n.isTextual()) {
                return List.of(n.textValue());
            }
            if (!n.isArray()) {
                throw bad(key, "expected a list of strings, got " + n);
            }
            List<String> out = new ArrayList<>();
            for (JsonNode s : n) {
                if (!s.isTextual()) {
                    throw bad(key, "expected a list of strings, but it holds " + s);
                }
                out.add(s.textValue());
            }
            return out;
        }

        boolean bool(String key) throws SpecException {
            JsonNode n = node(key);
            if (!n.isBoolean()) {
                throw bad(key, "expected true or false, got " + n);
            }
            return n.booleanValue();
        }

        double number(String key) throws SpecException {
            JsonNode n = node(key);
            if (!n.isNumber()) {
                throw bad(key, "expected a number, got " + n);
            }
            return n.doubleValue();
        }

        long integer(String key) throws SpecException {
            JsonNode n = node(key);
            if (n.isIntegralNumber() && n.canConvertToLong()) {
                return n.longValue();
            }
            if (n.isTextual()) {
                try {
                    return Inspector.parseAddress(n.textValue());
                } catch (IllegalArgumentException e) {
                    throw bad(key, "'" + n.textValue() + "' is not an integer");
                }
            }
            throw bad(key, "expected an integer, got " + n);
        }

        /** An address: a TOML integer, or a string "0xffff800000001000" (all 64 bits, which TOML integers cannot hold). */
        long address(String key) throws SpecException {
            JsonNode n = node(key);
            if (n.isBigInteger() && n.bigIntegerValue().bitLength() <= 64) {
                return n.bigIntegerValue().longValue();
            }
            return integer(key);
        }

        int vector(String key) throws SpecException {
            JsonNode n = node(key);
            if (n.isTextual() && ExceptionNames.vector(n.textValue()) >= 0) {
                return ExceptionNames.vector(n.textValue());
            }
            if (n.isTextual()) {
                throw bad(key, "'" + n.textValue() + "' is not an exception: a number 0-255 or a name like \"#PF\"");
            }
            long v = integer(key);
            if (v < 0 || v > 255) {
                throw bad(key, v + " is not a vector (0-255)");
            }
            return (int) v;
        }

        AccessType access(String key) throws SpecException {
            if (!has(key)) {
                return AccessType.READ;
            }
            return switch (string(key).toLowerCase(Locale.ROOT)) {
                case "read" -> AccessType.READ;
                case "write" -> AccessType.WRITE;
                case "fetch", "execute" -> AccessType.FETCH;
                default -> throw bad(key, "'" + string(key) + "' is not read, write or fetch");
            };
        }

        PagingLevel level(String key) throws SpecException {
            JsonNode n = node(key);
            String l = n.isIntegralNumber() ? String.valueOf(n.intValue()) : n.asText().toUpperCase(Locale.ROOT);
            return switch (l) {
                case "PML4E", "PML4", "4" -> PagingLevel.PML4;
                case "PDPTE", "PDPT", "3" -> PagingLevel.PDPT;
                case "PDE", "PD", "2" -> PagingLevel.PD;
                case "PTE", "PT", "1" -> PagingLevel.PT;
                default -> throw bad(key, "'" + n.asText() + "' is not a level: PML4E, PDPTE, PDE or PTE (or 4, 3, 2, 1)");
            };
        }

        /** Entry bits: an integer mask, or flag names ("P RW A" or ["P", "RW", "A"]). */
        long bits(String key) throws SpecException {
            JsonNode n = node(key);
            if (n.isIntegralNumber()) {
                return n.longValue();
            }
            List<String> names = n.isTextual() ? List.of(n.textValue().strip().split("[\\s,|]+")) : strings(key);
            long mask = 0;
            for (String name : names) {
                try {
                    mask |= Expectation.EntryBits.mask(name);
                } catch (IllegalArgumentException e) {
                    throw bad(key, e.getMessage());
                }
            }
            return mask;
        }

        Table table(String key) throws SpecException {
            JsonNode n = node(key);
            if (!n.isObject()) {
                throw bad(key, "expected a table");
            }
            return new Table(at(key), n);
        }

        /** A list of inline tables ({@code faults = [{vector = 14}]}) or an array of tables. */
        List<Table> tables(String key) throws SpecException {
            if (!has(key)) {
                return List.of();
            }
            JsonNode n = node(key);
            if (n.isObject()) {
                return List.of(new Table(at(key), n));
            }
            if (!n.isArray()) {
                throw bad(key, "expected a list of tables, like [{va = 0x1000, ...}]");
            }
            List<Table> out = new ArrayList<>();
            for (int i = 0; i < n.size(); i++) {
                if (!n.get(i).isObject()) {
                    throw bad(key + "[" + (i + 1) + "]", "expected a table, like {va = 0x1000, ...}");
                }
                out.add(new Table(at(key) + "[" + (i + 1) + "]", n.get(i)));
            }
            return out;
        }
    }
}
