package dev.pml4.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pml4.guest.Guests;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

/** run --dump-on-exit, then pt, walk, tlb, idt and inspect on the dump, from the command line. */
class DumpCommandsTest {
    @TempDir
    Path dir;

    record Result(int status, String out, String err) {
    }

    static Result pml4(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cli = Main.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int status = cli.execute(args);
        return new Result(status, out.toString(), err.toString());
    }

    @Test
    void aDumpAnswersEveryView() {
        Path dump = dir.resolve("demo.dump");
        Result run = pml4("run", "--serial", dir.resolve("serial.txt").toString(), "--dump-on-exit", dump.toString(),
                Guests.image("demo").toString());
        assertEquals(0, run.status(), run.err());

        Result pt = pml4("pt", dump.toString());
        assertEquals(0, pt.status(), pt.err());
        assertTrue(pt.out().contains("0xffff8000dead0000-0xffff8000dead0fff -> 0x0000109000-0x0000109fff"), pt.out());
        assertTrue(pml4("pt", dump.toString(), "--dot").out().startsWith("digraph pagetables {"));

        Result walk = pml4("walk", dump.toString(), "0xffff8000dead0000", "--write");
        assertTrue(walk.out().contains("(write, supervisor)") && walk.out().contains("-> physical 0x109000"), walk.out());
        Result user = pml4("walk", dump.toString(), "0xffff8000dead0000", "--user");
        assertTrue(user.out().contains("#PF error code 0x5"), user.out());

        assertTrue(pml4("tlb", dump.toString()).out().contains("0xffff8000dead0000 -> 0x0000109000"));
        assertTrue(pml4("idt", dump.toString()).out().contains("IDT at 0x0, limit 0x0"));
        assertTrue(pml4("inspect", dump.toString(), "regs").out().contains("cr3           0x0000000000103000"));
    }

    @Test
    void badDumpsAndViewsAreRefused() {
        Result notADump = pml4("pt", "/etc/hostname");
        assertEquals(2, notADump.status());
        assertTrue(notADump.err().contains("/etc/hostname: not a pml4 dump"), notADump.err());
        Result missing = pml4("tlb", dir.resolve("nothing").toString());
        assertEquals(2, missing.status(), missing.err());
    }
}
