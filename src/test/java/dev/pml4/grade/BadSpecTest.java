package dev.pml4.grade;

import static org.junit.jupiter.api.Assertions.*;

import dev.pml4.guest.Guests;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A spec or a grade command line that cannot be used is refused with exit status 2 and one line
 * naming the key, before any worker starts.
 */
class BadSpecTest {
    @TempDir
    Path dir;

    private Grading.Result gradeSpec(String toml, Object... more) throws IOException {
        Path spec = dir.resolve("lab.toml");
        Files.writeString(spec, toml.replace("IMAGE", Guests.image("hello").toAbsolutePath().toString()));
        Object[] args = new Object[more.length + 1];
        args[0] = spec;
        System.arraycopy(more, 0, args, 1, more.length);
        return Grading.grade(args);
    }

    /** One test around {@code expect} (lines of the [test.expect] table) and {@code extra} (lines of the [[test]] table). */
    private static String spec(String extra, String expect) {
        extra = extra.equals("-") ? "" : extra;
        expect = expect.equals("-") ? "" : expect;
        return "[[test]]\nname = \"t\"\nimage = \"IMAGE\"\n" + extra.replace("|", "\n") + "\n[test.expect]\n" + expect.replace("|", "\n") + "\n";
    }

    @ParameterizedTest(name = "{2}")
    @CsvSource(delimiter = ';', quoteCharacter = '`', value = {
            "-;                      fualts = [];                           test[1] (\"t\").expect.fualts: unknown key",
            "-;                      faults = [{vector = 14, count = \"≥x\"}]; test[1] (\"t\").expect.faults[1].count: '≥x' is not a count",
            "-;                      faults = [{vector = \"#XY\"}];          test[1] (\"t\").expect.faults[1].vector: '#XY' is not an exception",
            "-;                      faults = [{vector = 14, eror = 2}];    test[1] (\"t\").expect.faults[1].eror: unknown key",
            "args = [\"--mem\", \"12X\"]; status = 1;                      test[1] (\"t\").args: Invalid value for option '--mem'",
            "args = [\"--gdb\", \"1234\"]; status = 1;                     test[1] (\"t\").args: --gdb waits for a debugger",
            "args = [\"--frobnicate\"]; status = 1;                        test[1] (\"t\").args: Unknown option: '--frobnicate'",
            "args = \"--mem 32M\";     status = 1;                          test[1] (\"t\").args: expected a list of strings",
            "points = \"many\";        status = 1;                          test[1] (\"t\").points: expected a number",
            "-;                      serial_matches = ['(unclosed'];        test[1] (\"t\").expect.serial_matches: /(unclosed/ is not a regular expression",
            "-;                      serial = \"missing.txt\";              test[1] (\"t\").expect.serial: cannot read the transcript",
            "-;                      walks = [{va = 0x1000, access = \"jump\"}]; test[1] (\"t\").expect.walks[1].access: 'jump' is not read, write or fetch",
            "-;                      walks = [{va = 0x1000, rights = \"RWX\"}]; test[1] (\"t\").expect.walks[1].rights: 'RWX' is not a right",
            "-;                      walks = [{access = \"read\"}];         test[1] (\"t\").expect.walks[1].va: missing",
            "-;                      pte = [{va = 0x1000, set = \"P Q\"}];  test[1] (\"t\").expect.pte[1].set: 'Q' is not an entry flag",
            "-;                      pte = [{va = 0x1000, level = \"PML5E\", set = 1}]; test[1] (\"t\").expect.pte[1].level: 'PML5E' is not a level",
            "-;                      tlb = [{va = 0x1000, tlb = \"l2\"}];   test[1] (\"t\").expect.tlb[1].tlb: 'l2' is not dtlb, itlb or any",
            "-;                      stale_tlb = true;                      test[1] (\"t\").expect.stale_tlb: only stale_tlb = false",
            "-;                      status = \"one\";                      test[1] (\"t\").expect.status: 'one' is not an integer",
            "-;                      -;                                     test[1] (\"t\").expect: empty",
            "max_insns = -5;         status = 1;                            test[1] (\"t\").max_insns: must be 0 (no limit) or more",
    })
    void aBadKeyIsNamed(String extra, String expect, String message) throws IOException {
        Grading.Result r = gradeSpec(spec(extra, expect));
        assertEquals(2, r.status(), r.out() + r.err());
        assertEquals("", r.out());
        assertTrue(r.err().startsWith("pml4: " + dir.resolve("lab.toml") + ": " + message), r.err());
    }

    @Test
    void structuralMistakesAreNamed() throws IOException {
        assertTrue(gradeSpec("title = \"x\"\n" + spec("", "status = 1")).err().contains("lab.toml: title: unknown key"));
        assertTrue(gradeSpec("name = \"lab\"\n").err().contains("no [[test]] table"));
        assertTrue(gradeSpec("[[test]]\nname = 1\n").err().contains("test[1].name: expected a string"));
        assertTrue(gradeSpec("[[test]]\nname = \"t\"\nimage = \"IMAGE\"\n").err().contains("test[1] (\"t\").expect: missing"));
        assertTrue(gradeSpec(spec("", "status = 1") + spec("", "status = 1")).err().contains("test[2].name: 't' names two tests"));
        assertTrue(gradeSpec("[[test]\nname=").err().contains("lab.toml: not TOML (line 2)"));
        Grading.Result noImage = gradeSpec("[[test]]\nname = \"t\"\n[test.expect]\nstatus = 1\n");
        assertEquals(2, noImage.status());
        assertTrue(noImage.err().contains("test[1] (\"t\").image: missing, and no KERNEL was given"), noImage.err());
        assertTrue(gradeSpec(spec("", "status = 1").replace("IMAGE", "nothere.elf")).err().contains(".image: ")
                && gradeSpec(spec("", "status = 1").replace("IMAGE", "nothere.elf")).err().contains("does not exist"));
    }

    @Test
    void badCommandLinesAreRefused() throws IOException {
        String ok = spec("", "status = 1");
        assertEquals(2, gradeSpec(ok, "--jobs", "0").status());
        assertTrue(gradeSpec(ok, "--jobs", "0").err().contains("--jobs 0: at least 1"));
        Grading.Result two = gradeSpec(ok, Guests.image("hello"), Guests.image("hello"), "--gradescope", dir.resolve("r.json"));
        assertEquals(2, two.status());
        assertTrue(two.err().contains("--gradescope: results.json grades one submission"), two.err());
        Grading.Result missing = gradeSpec(ok, dir.resolve("student.elf"));
        assertEquals(2, missing.status());
        assertTrue(missing.err().contains("student.elf: no such kernel"), missing.err());
        assertEquals(2, Grading.grade(dir.resolve("none.toml")).status());
        Grading.Result unknown = gradeSpec(ok, "--frob");
        assertEquals(2, unknown.status());
        assertTrue(unknown.err().startsWith("pml4: Unknown option: '--frob'"), unknown.err());
    }
}
