package dev.pml4.debug;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.pml4.debug.gdb.GdbServer.Outcome;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * The stub against the real client: Debian's gdb in batch mode, connected to the fake target.
 * gdb is a required tool (toolchain/install-deps.sh installs it); without it these tests fail and
 * say so rather than skip.
 */
class GdbRealGdbTest {

    static Path gdb() {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)));
        dirs.add("/usr/bin");
        for (String dir : dirs) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, "gdb");
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return fail("gdb is not installed, and these tests check the stub against the real gdb: "
                + "install it with 'apt-get install gdb' (toolchain/install-deps.sh does)");
    }

    /** Runs gdb -nx -batch with these commands against the harness; PORT in a command is the stub's port. */
    static String runGdb(Harness h, List<String> commands, ProcessHook whileRunning) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(gdb().toString(), "-nx", "-batch"));
        for (String c : commands) {
            cmd.add("-ex");
            cmd.add(c.replace("PORT", Integer.toString(h.server.port())));
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "reading gdb's output failed: " + e;
            }
        });
        try {
            if (whileRunning != null) {
                whileRunning.accept(p);
            }
            if (!p.waitFor(90, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("gdb did not finish within 90 s; its output so far:\n" + output.getNow("(none)"));
            }
            return output.get(10, TimeUnit.SECONDS);
        } finally {
            p.destroyForcibly();
        }
    }

    interface ProcessHook {
        void accept(Process p) throws Exception;
    }

    static void assertLine(String output, String regex) {
        Pattern p = Pattern.compile("(?m)^" + regex + "$");
        assertTrue(p.matcher(output).find(), "no line matching /" + regex + "/ in gdb's output:\n" + output);
    }

    static void assertContains(String output, String text) {
        assertTrue(output.contains(text), "\"" + text + "\" not in gdb's output:\n" + output);
    }

    @Test
    void gdbDebugsTheFakeMachine() throws Exception {
        try (Harness h = new Harness()) {
            String out = runGdb(h, List.of(
                    "set architecture i386:x86-64",
                    "target remote 127.0.0.1:PORT",
                    "info registers rip cr3",
                    "x/2gx 0x1000",
                    "break *0x100010",
                    "continue",
                    "stepi",
                    "monitor walk 0x1000",
                    "info registers cr0 efer eflags fs_base st0",
                    "x/2i $pc",
                    "hbreak *0x100014",
                    "continue",
                    "delete",
                    "watch *(long*)0x2000",
                    "continue",
                    "rwatch *(long*)0x3000",
                    "continue",
                    "delete",
                    "set {long}0x1000 = 0x1234",
                    "x/gx 0x1000",
                    "x/gx 0x5000000",
                    "set $cr3 = 0xa000",
                    "p/x $cr3",
                    "set $cr0 = 0x80000000",
                    "monitor catch ud",
                    "continue",
                    "set $rax = 6",
                    "continue"), null);

            assertFalse(out.contains("rejected"), "gdb rejected the target description:\n" + out);
            assertLine(out, "0x0000000000100000 in \\?\\? \\(\\)");
            assertLine(out, "rip +0x100000 +0x100000");
            assertLine(out, "cr3 +0x9000 +36864");
            assertLine(out, "0x1000:\t0x1122334455667788\t0x99aabbccddeeff00");
            assertLine(out, "Breakpoint 1 at 0x100010");
            assertLine(out, "Breakpoint 1, 0x0000000000100010 in \\?\\? \\(\\)");
            assertLine(out, "0x0000000000100011 in \\?\\? \\(\\)");
            assertContains(out, """
                    walk of 0x1000 with CR3=0x9000
                      PML4E[0] -> PDPTE[0] -> PDE[0] -> PTE[1]
                      0x1000 -> physical 0x1000 (4 KiB page)
                    """);
            assertLine(out, "cr0 +0x80010011 +\\[ PE ET WP PG \\]");
            assertLine(out, "efer +0x500 +\\[ LME LMA \\]");
            assertLine(out, "eflags +0x2 +\\[ \\]");
            assertLine(out, "fs_base +0x0 +0");
            assertLine(out, "st0 +<unavailable>");
            assertLine(out, "=> 0x100011:\tinc +%rax");
            assertLine(out, "   0x100014:\tmov +%rax,0x2000");
            assertLine(out, "Hardware assisted breakpoint 2 at 0x100014");
            assertLine(out, "Breakpoint 2, 0x0000000000100014 in \\?\\? \\(\\)");
            assertLine(out, "Hardware watchpoint 3: \\*\\(long\\*\\)0x2000");
            assertLine(out, "Old value = 0");
            assertLine(out, "New value = 1");
            assertLine(out, "Hardware read watchpoint 4: \\*\\(long\\*\\)0x3000");
            assertLine(out, "Value = 81985529216486895"); // 0x0123456789abcdef
            assertLine(out, "0x1000:\t0x0000000000001234");
            assertLine(out, "0x5000000:\tCannot access memory at address 0x5000000");
            assertLine(out, "\\$1 = 0xa000");
            assertLine(out, "Could not write register \"cr0\"; remote failure reply 'E02'");
            assertLine(out, "caught exceptions: #UD \\(6\\)");
            assertLine(out, "pml4: exception #UD \\(6\\) caught before delivery");
            assertLine(out, "Program received signal SIGILL, Illegal instruction.");
            assertLine(out, "pml4: the guest halted with interrupts off at RIP 0x100103");
            assertLine(out, "\\[Inferior 1 \\(Remote target\\) exited with code 07\\]");

            assertEquals(new Outcome.Exited(7, "the guest halted with interrupts off at RIP 0x100103"), h.outcome());
            assertEquals(0xa000, h.target.register(Register.CR3));
            assertEquals(java.util.Set.of(h.owner), h.target.callers);
        }
    }

    @Test
    void ctrlCInGdbInterruptsTheGuestAndQuittingDetaches() throws Exception {
        FakeTarget t = FakeTarget.standard();
        t.poke(FakeTarget.ENTRY, FakeTarget.bytes("ebfe")); // jmp $
        try (Harness h = new Harness(t)) {
            String out = runGdb(h, List.of(
                    "set architecture i386:x86-64",
                    "target remote 127.0.0.1:PORT",
                    "continue",
                    "x/i $pc",
                    "set {char}0x100000 = 0xf4"), // hlt: after the detach at the end of the batch, the guest ends
                    gdb -> {
                        h.awaitRunning();
                        Thread.sleep(200);
                        // What Ctrl-C at gdb's prompt does: gdb sends 0x03 to the stub.
                        assertEquals(0, new ProcessBuilder("kill", "-INT", Long.toString(gdb.pid())).start().waitFor());
                    });
            assertLine(out, "Program received signal SIGINT, Interrupt.");
            assertLine(out, "=> 0x100000:\tjmp +0x100000");
            assertLine(out, "\\[Inferior 1 \\(Remote target\\) detached\\]");
            assertTrue(h.target.calls.contains("interrupt"));
            Outcome o = h.outcome();
            assertInstanceOf(Outcome.Exited.class, o);
            assertEquals(0, ((Outcome.Exited) o).status());
        }
    }
}
