package dev.pml4.grade;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.TransformerException;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** What {@code pml4 grade} writes: the lines for people, Gradescope's results.json, JUnit XML, and its own JSON. */
final class Reports {
    /** The results for one kernel (the spec's own images when no KERNEL was given). */
    record Graded(String kernel, List<TestResult> results) {
        double score() {
            return results.stream().mapToDouble(TestResult::score).sum();
        }

        double maxScore() {
            return results.stream().mapToDouble(TestResult::maxScore).sum();
        }

        long passed() {
            return results.stream().filter(TestResult::passed).count();
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Reports() {
    }

    static String points(double p) {
        return p == Math.rint(p) ? String.valueOf((long) p) : String.format(Locale.ROOT, "%.2f", p).replaceAll("0+$", "");
    }

    /** {@code PASS name (3/3)}, or {@code FAIL name (0/3): } and the first failure, its detail lines indented. */
    static String line(TestResult r) {
        String head = String.format("%s %s (%s/%s)", r.passed() ? "PASS" : "FAIL", r.name(), points(r.score()), points(r.maxScore()));
        if (r.passed()) {
            return head;
        }
        return head + ": " + r.failures().getFirst().replace("\n", "\n    ");
    }

    static String scoreLine(Graded g) {
        return String.format("Score: %s/%s (%d of %d tests passed)", points(g.score()), points(g.maxScore()), g.passed(),
                g.results().size());
    }

    /**
     * Gradescope's results.json: the score, and per test its name, score, max_score, status and
     * output. One submission per file: grade one kernel.
     */
    static void gradescope(Path file, Graded g) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("score", g.score());
        root.put("output", scoreLine(g));
        ArrayNode tests = root.putArray("tests");
        for (TestResult r : g.results()) {
            test(tests, r).put("status", r.passed() ? "passed" : "failed");
        }
        JSON.writeValue(file.toFile(), root);
    }

    /** A test as both JSON reports have it: name, score, max_score, output. */
    private static ObjectNode test(ArrayNode tests, TestResult r) {
        ObjectNode t = tests.addObject();
        t.put("name", r.name());
        t.put("score", r.score());
        t.put("max_score", r.maxScore());
        t.put("output", r.output());
        return t;
    }

    /** pml4's own summary: every kernel, every test, every failure. */
    static void json(Path file, LabSpec spec, List<Graded> kernels) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("lab", spec.name());
        root.put("spec", spec.file().toString());
        root.put("score", kernels.stream().mapToDouble(Graded::score).sum());
        root.put("max_score", kernels.stream().mapToDouble(Graded::maxScore).sum());
        ArrayNode list = root.putArray("kernels");
        for (Graded g : kernels) {
            ObjectNode k = list.addObject();
            if (g.kernel() != null) {
                k.put("kernel", g.kernel());
            } else {
                k.putNull("kernel");
            }
            k.put("score", g.score());
            k.put("max_score", g.maxScore());
            k.put("passed", g.passed());
            k.put("failed", g.results().size() - g.passed());
            ArrayNode tests = k.putArray("tests");
            for (TestResult r : g.results()) {
                ObjectNode t = test(tests, r);
                t.put("passed", r.passed());
                t.put("error", r.error());
                ArrayNode failures = t.putArray("failures");
                r.failures().forEach(failures::add);
                t.put("seconds", r.seconds());
            }
        }
        JSON.writeValue(file.toFile(), root);
    }

    /**
     * JUnit XML as Ant wrote it and CI servers read it: {@code <testsuites>}, one {@code <testsuite>}
     * per kernel, one {@code <testcase>} per test with a {@code <failure>} (an expectation failed)
     * or an {@code <error>} (no verdict: refused, crashed, hung) holding the detail.
     */
    static void junit(Path file, LabSpec spec, List<Graded> kernels) throws IOException {
        try {
            Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().newDocument();
            Element suites = doc.createElement("testsuites");
            doc.appendChild(suites);
            suites.setAttribute("name", spec.name());
            long tests = 0;
            long failures = 0;
            long errors = 0;
            double time = 0;
            for (Graded g : kernels) {
                Element suite = doc.createElement("testsuite");
                suites.appendChild(suite);
                String suiteName = spec.name() + (g.kernel() != null ? " [" + g.kernel() + "]" : "");
                suite.setAttribute("name", suiteName);
                long f = g.results().stream().filter(r -> !r.passed() && !r.error()).count();
                long e = g.results().stream().filter(TestResult::error).count();
                double t = g.results().stream().mapToDouble(TestResult::seconds).sum();
                suite.setAttribute("tests", String.valueOf(g.results().size()));
                suite.setAttribute("failures", String.valueOf(f));
                suite.setAttribute("errors", String.valueOf(e));
                suite.setAttribute("skipped", "0");
                suite.setAttribute("time", seconds(t));
                tests += g.results().size();
                failures += f;
                errors += e;
                time += t;
                for (TestResult r : g.results()) {
                    Element testcase = doc.createElement("testcase");
                    suite.appendChild(testcase);
                    testcase.setAttribute("name", xmlSafe(r.name()));
                    testcase.setAttribute("classname", suiteName);
                    testcase.setAttribute("time", seconds(r.seconds()));
                    if (!r.passed()) {
                        Element problem = doc.createElement(r.error() ? "error" : "failure");
                        testcase.appendChild(problem);
                        problem.setAttribute("message", xmlSafe(r.failures().getFirst().lines().findFirst().orElse("")));
                        problem.setAttribute("type", r.error() ? "pml4.NoVerdict" : "pml4.ExpectationFailed");
                        problem.setTextContent(xmlSafe(r.output()));
                    }
                    Element out = doc.createElement("system-out");
                    testcase.appendChild(out);
                    out.setTextContent(String.format("score %s/%s", points(r.score()), points(r.maxScore())));
                }
            }
            suites.setAttribute("tests", String.valueOf(tests));
            suites.setAttribute("failures", String.valueOf(failures));
            suites.setAttribute("errors", String.valueOf(errors));
            suites.setAttribute("time", seconds(time));
            var transformer = TransformerFactory.newInstance().newTransformer();
            transformer.setOutputProperty(OutputKeys.INDENT, "yes");
            transformer.setOutputProperty(OutputKeys.ENCODING, "UTF-8");
            transformer.setOutputProperty("{http://xml.apache.org/xslt}indent-amount", "2");
            try (var out = Files.newOutputStream(file)) {
                transformer.transform(new DOMSource(doc), new StreamResult(out));
            }
        } catch (ParserConfigurationException | TransformerException e) {
            throw new IOException("cannot write JUnit XML: " + e.getMessage(), e);
        }
    }

    /** XML 1.0 cannot hold most control characters, which a guest may well print: they become \xNN. */
    static String xmlSafe(String text) {
        StringBuilder out = new StringBuilder(text.length());
        text.codePoints().forEach(c -> {
            boolean allowed = c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) || c >= 0x10000;
            if (allowed) {
                out.appendCodePoint(c);
            } else {
                out.append(String.format("\\x%02x", c));
            }
        });
        return out.toString();
    }

    private static String seconds(double s) {
        return String.format(Locale.ROOT, "%.3f", s);
    }
}
