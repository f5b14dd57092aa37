package dev.pml4.grade;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pml4.guest.Guests;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.stream.StreamSource;
import javax.xml.validation.SchemaFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code pml4 grade} end to end on real kernels and worker JVMs: a kernel that aborts the engine
 * in native code fails its own test and the tests after it still run; every report agrees with
 * the lines printed; Gradescope's JSON and the JUnit XML are what those tools read.
 */
class GradeCommandTest {
    static final Path SELFTEST = Grading.labs().resolve("grader-selftest/selftest.toml");

    @TempDir
    Path dir;

    @TempDir
    static Path reports;

    /** The self-test spec graded once with one worker, for the tests that read its reports. */
    private static Grading.Result oneWorker;

    @BeforeAll
    static void gradeTheSelfTestOnOneWorker() {
        // One worker: the tests after the crash run on the worker that replaced the dead one.
        oneWorker = gradeSelfTest("--jobs", "1", "--junit", reports.resolve("report.xml"),
                "--gradescope", reports.resolve("results.json"), "--json", reports.resolve("summary.json"));
    }

    /**
     * The self-test spec graded. No guest kills the engine any more (issue 13's guard), so the
     * worker that takes the "engine crash" test aborts on purpose, in native code, as it did on
     * LOCK CMPSB.
     */
    private static Grading.Result gradeSelfTest(Object... options) {
        System.setProperty(GradeWorker.ABORT_ON, "engine crash");
        try {
            Object[] args = new Object[options.length + 1];
            args[0] = SELFTEST;
            System.arraycopy(options, 0, args, 1, options.length);
            return Grading.grade(args);
        } finally {
            System.clearProperty(GradeWorker.ABORT_ON);
        }
    }

    @Test
    void aKernelThatCrashesTheEngineFailsItsOwnTestOnlyAndTheReportsAddUp() throws Exception {
        Path junit = reports.resolve("report.xml");
        Path gradescope = reports.resolve("results.json");
        Path json = reports.resolve("summary.json");
        Grading.Result r = oneWorker;

        assertEquals(1, r.status(), r.out() + r.err());
        List<String> lines = r.lines();
        assertEquals("PASS hello (2/2)", lines.get(0));
        assertTrue(lines.get(1).startsWith("FAIL engine crash (0/3): the emulator crashed while running this test: "
                + "the worker process was killed by signal 6 (SIGABRT: the engine aborted)"), lines.get(1));
        int demand = lines.indexOf("PASS demand paging (5/5)");
        assertTrue(demand > 1, r.out());
        assertTrue(lines.get(demand + 1).startsWith("FAIL triple fault (0/1): no_triple_fault: triple fault: #PF(0x0) CR2=0x10000000000"),
                lines.get(demand + 1));
        assertEquals("PASS serial input (1/1)", lines.get(lines.size() - 2));
        assertEquals("Score: 8/12 (3 of 5 tests passed)", lines.getLast());

        // Gradescope: score, and tests with name, score, max_score, output; the scores add up.
        JsonNode results = new ObjectMapper().readTree(gradescope.toFile());
        assertEquals(8.0, results.get("score").asDouble());
        JsonNode tests = results.get("tests");
        assertEquals(5, tests.size());
        double sum = 0;
        double max = 0;
        for (JsonNode t : tests) {
            assertTrue(t.get("name").isTextual() && t.get("output").isTextual(), t.toString());
            assertTrue(t.get("score").isNumber() && t.get("max_score").isNumber(), t.toString());
            sum += t.get("score").asDouble();
            max += t.get("max_score").asDouble();
        }
        assertEquals(8.0, sum);
        assertEquals(12.0, max);
        assertEquals("engine crash", tests.get(1).get("name").asText());
        assertEquals(0.0, tests.get(1).get("score").asDouble());
        assertTrue(tests.get(1).get("output").asText().contains("signal 6"));

        // JUnit XML: valid against the format's structure, with the counts of the lines above.
        var schema = SchemaFactory.newInstance(XMLConstants.W3C_XML_SCHEMA_NS_URI)
                .newSchema(new StreamSource(getClass().getResourceAsStream("junit.xsd")));
        schema.newValidator().validate(new StreamSource(junit.toFile()));
        Document xml = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(junit.toFile());
        Element suites = xml.getDocumentElement();
        assertEquals("testsuites", suites.getTagName());
        Element suite = (Element) suites.getElementsByTagName("testsuite").item(0);
        assertEquals("5", suite.getAttribute("tests"));
        assertEquals("1", suite.getAttribute("failures"));
        assertEquals("1", suite.getAttribute("errors"));
        NodeList cases = suite.getElementsByTagName("testcase");
        assertEquals(5, cases.getLength());
        Element crash = (Element) cases.item(1);
        assertEquals("engine crash", crash.getAttribute("name"));
        assertTrue(((Element) crash.getElementsByTagName("error").item(0)).getAttribute("message").contains("signal 6"));
        Element triple = (Element) cases.item(3);
        assertTrue(((Element) triple.getElementsByTagName("failure").item(0)).getAttribute("message").startsWith("no_triple_fault: triple fault"));
        assertEquals(0, ((Element) cases.item(0)).getElementsByTagName("failure").getLength());

        // pml4's own summary.
        JsonNode summary = new ObjectMapper().readTree(json.toFile());
        assertEquals(8.0, summary.get("score").asDouble());
        assertEquals(12.0, summary.get("max_score").asDouble());
        JsonNode kernel = summary.get("kernels").get(0);
        assertTrue(kernel.get("kernel").isNull());
        assertEquals(3, kernel.get("passed").asInt());
        assertTrue(kernel.get("tests").get(1).get("error").asBoolean());
        assertFalse(kernel.get("tests").get(3).get("error").asBoolean());
    }

    /** LOCK CMPSB, which used to kill the worker, is now the #UD the SDM gives it: a verdict like any other. */
    @Test
    void theKernelThatUsedToAbortTheEngineGetsAVerdict() throws Exception {
        Path spec = dir.resolve("lock.toml");
        Path build = SELFTEST.getParent().getParent().getParent().resolve("build").toAbsolutePath();
        java.nio.file.Files.writeString(spec, """
                [[test]]
                name = "lock cmpsb"
                image = "%s"
                [test.expect]
                status = 4
                serial_contains = ["engine_crash: LOCK CMPSB next"]
                [[test]]
                name = "hello"
                image = "%s"
                [test.expect]
                status = 1
                """.formatted(build.resolve("labs/grader-selftest/engine_crash.elf"), build.resolve("hello.elf")));
        Grading.Result r = Grading.grade(spec, "--jobs", "1");
        assertEquals(0, r.status(), r.out() + r.err());
        assertEquals(List.of("PASS lock cmpsb (1/1)", "PASS hello (1/1)", "Score: 2/2 (2 of 2 tests passed)"), r.lines());
    }

    @Test
    void parallelWorkersPrintTheSameReportInSpecOrder() {
        Grading.Result three = gradeSelfTest("--jobs", "3");
        assertEquals(1, three.status());
        assertEquals(oneWorker.out(), three.out());
    }

    @Test
    void aWorkerThatGivesNoVerdictInTimeIsKilledAndReplaced() throws Exception {
        Path spec = dir.resolve("spin.toml");
        Files.writeString(spec, """
                [[test]]
                name = "spin"
                image = "%s"
                args = ["--max-insns", "0"]
                [test.expect]
                status = 0

                [[test]]
                name = "hello after"
                image = "%s"
                [test.expect]
                serial_contains = ["Hello"]
                """.formatted(Grading.builtLab("grader-selftest", "spin").toAbsolutePath(), Guests.image("hello").toAbsolutePath()));
        Grading.Result r = Grading.grade(spec, "--jobs", "1", "--timeout", "5");
        assertEquals(1, r.status(), r.err());
        assertTrue(r.lines().get(0).startsWith("FAIL spin (0/1): no verdict after 5 s: the engine hung, or the guest needs a larger"
                + " --timeout; the worker was killed"), r.out());
        assertEquals("PASS hello after (1/1)", r.lines().get(1));
    }

    @Test
    void everyFailingExpectationIsReportedWithItsDetail() throws Exception {
        Path spec = dir.resolve("wrong.toml");
        Path expected = dir.resolve("wrong.expected");
        Files.writeString(expected, Files.readString(Guests.sourceDir().resolve("idt_demand.expected")).replace("= 0x1111", "= 0x1112"));
        Files.writeString(spec, """
                [[test]]
                name = "all wrong"
                points = 4
                image = "%s"
                [test.expect]
                status = 3
                serial = "wrong.expected"
                serial_contains = ["idt_demand: ok", "region"]
                serial_matches = ['^idt_demand: ok, (\\d+) page faults', 'no such line']
                faults = [{vector = "#PF", error = 0x2, count = 3}]
                walks = [{va = 0x10000000000, physical = 0x1000}, {va = 0x10000003000, fault = true}]
                pte = [{va = 0x10000002000, set = "D", clear = "A"}]
                tlb = [{va = 0x10000004000, present = true, tlb = "itlb"}]
                """.formatted(Guests.image("idt_demand").toAbsolutePath()));
        Path json = dir.resolve("summary.json");
        Grading.Result r = Grading.grade(spec, "--json", json);
        assertEquals(1, r.status(), r.err());
        assertTrue(r.lines().getFirst().startsWith("FAIL all wrong (0/4): status: expected exit status 3, got 1: "
                + "the guest wrote 0x0 to the debug-exit port"), r.out());
        JsonNode failures = new ObjectMapper().readTree(json.toFile()).get("kernels").get(0).get("tests").get(0).get("failures");
        List<String> all = new java.util.ArrayList<>();
        failures.forEach(f -> all.add(f.asText()));
        assertEquals(9, all.size(), String.join("\n", all));
        assertTrue(all.get(1).startsWith("serial: the transcript differs from wrong.expected at line 6:\n"), all.get(1));
        assertTrue(all.get(1).contains("\n  - write qword [R + 0x1ff8] = 0x1112\n"), all.get(1));
        assertTrue(all.get(1).contains("\n  + write qword [R + 0x1ff8] = 0x1111\n"), all.get(1));
        assertTrue(all.get(2).startsWith("serial_contains: \"region\" not found in the transcript after \"idt_demand: ok\""), all.get(2));
        assertTrue(all.get(3).startsWith("serial_matches: /no such line/ does not match the transcript after the match of"), all.get(3));
        assertEquals("faults[1]: expected 3 #PF with error code 0x2, got 2; 4 delivered: #PF(0x0) CR2=0x10000000010, "
                + "#PF(0x2) CR2=0x10000001ff8, #PF(0x2) CR2=0x10000003000, #PF(0x0) CR2=0x10000002004", all.get(4));
        assertTrue(all.get(5).startsWith("walks[1]: expected physical 0x1000, got 0x"), all.get(5));
        assertTrue(all.get(5).contains("PTE    index   0  entry at"), all.get(5));
        assertTrue(all.get(6).startsWith("walks[2]: expected a #PF, but it translates to 0x"), all.get(6));
        assertTrue(all.get(7).matches("(?s)pte\\[1]: PTE of 0x10000002000 \\(at physical 0x[0-9a-f]+\\) is 0x[0-9a-f]+ \\[P RW A 0x[0-9a-f]+]:"
                + " expected set: D; expected clear: A\n.*"), all.get(7));
        assertTrue(all.get(8).startsWith("tlb[1]: expected an entry for 0x10000004000 in the ITLB, found none\n    ITLB: "), all.get(8));
    }

    @Test
    void severalKernelsAreEachGradedAgainstTheWholeSpec() throws Exception {
        Path spec = dir.resolve("two.toml");
        Files.writeString(spec, """
                [[test]]
                name = "says hello"
                [test.expect]
                serial_contains = ["Hello"]

                [[test]]
                name = "ends with status 1"
                [test.expect]
                status = 1
                """);
        Path junit = dir.resolve("two.xml");
        Grading.Result r = Grading.grade(spec, Guests.image("hello"), Guests.image("idt_demand"), "--junit", junit);
        assertEquals(1, r.status());
        assertEquals(List.of("kernel " + Guests.image("hello").toAbsolutePath().normalize(), "PASS says hello (1/1)",
                "PASS ends with status 1 (1/1)", "Score: 2/2 (2 of 2 tests passed)",
                "kernel " + Guests.image("idt_demand").toAbsolutePath().normalize()), r.lines().subList(0, 5));
        assertTrue(r.lines().get(5).startsWith("FAIL says hello (0/1): serial_contains: \"Hello\" not found"), r.out());
        assertEquals(List.of("PASS ends with status 1 (1/1)", "Score: 1/2 (1 of 2 tests passed)"), r.lines().subList(r.lines().size() - 2,
                r.lines().size()));
        Document xml = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(junit.toFile());
        assertEquals(2, xml.getElementsByTagName("testsuite").getLength());
        assertEquals(4, xml.getElementsByTagName("testcase").getLength());
        assertEquals("1", xml.getDocumentElement().getAttribute("failures"));
    }

    @Test
    void staleTlbRunsTheTestWithTheTlbCheckAndShowsTheStaleUse() throws Exception {
        Path spec = dir.resolve("stale.toml");
        Files.writeString(spec, """
                [[test]]
                name = "unmap without INVLPG"
                image = "%s"
                [test.expect]
                stale_tlb = false

                [[test]]
                name = "coherent"
                image = "%s"
                args = ["--check-tlb=report"]
                [test.expect]
                stale_tlb = false
                status = 1
                """.formatted(Guests.image("tlbbug_unmap").toAbsolutePath(), Guests.image("tlb_coherent").toAbsolutePath()));
        Grading.Result r = Grading.grade(spec);
        assertEquals(1, r.status(), r.err());
        assertEquals("FAIL unmap without INVLPG (0/1): stale_tlb: 1 use(s) of a stale TLB entry:", r.lines().get(0));
        // tlbbug_unmap (the TLB check's own kernel) reads a page it unmapped without INVLPG
        assertTrue(r.lines().get(1).strip().matches("stale TLB entry used: instruction \\d+ at RIP 0x[0-9a-f]+ <read_unmapped>: read of 0x8000000000"),
                r.out());
        assertTrue(r.out().matches("(?s).*made stale by instruction \\d+ at RIP 0x[0-9a-f]+ <unmap>: PTE at 0x[0-9a-f]+ 0x[0-9a-f]+ -> 0x0 .*"), r.out());
        assertTrue(r.lines().contains("PASS coherent (1/1)"), r.out());
    }

    @Test
    void filesInArgsAreBesideTheSpecAndRightsMayBeSpeltOut() throws Exception {
        Path spec = dir.resolve("spelt.toml");
        Files.writeString(dir.resolve("input.txt"), "from a file");
        Files.writeString(spec, """
                description = "files beside the spec, names for rights and bits"

                [[test]]
                name = "serial-in from a file beside the spec"
                image = "%s"
                args = ["--serial-in", "input.txt", "--max-insns", "100000"]
                [test.expect]
                serial_contains = ["echo: FROM A FILE\\n"]

                [[test]]
                name = "spelt out"
                description = "the same checks as the selftest's, in words"
                image = "%s"
                [test.expect]
                faults = [{vector = "PF", count = "=4"}]
                walks = [{va = 0x10000000000, access = "write", rights = ["writable", "supervisor", "exec"]}]
                pte = [{va = 0x10000000018, set = ["present", "accessed", "dirty"], clear = "user"}]
                """.formatted(Grading.builtLab("grader-selftest", "echo").toAbsolutePath(), Guests.image("idt_demand").toAbsolutePath()));
        Grading.Result r = Grading.grade(spec);
        assertEquals("PASS serial-in from a file beside the spec (1/1)\nPASS spelt out (1/1)\nScore: 2/2 (2 of 2 tests passed)\n", r.out(),
                r.err());
        assertEquals(0, r.status());
    }
}
