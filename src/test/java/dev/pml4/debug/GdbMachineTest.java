package dev.pml4.debug;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pml4.debug.gdb.GdbServer;
import dev.pml4.guest.Guests;
import dev.pml4.machine.KernelImages;
import dev.pml4.machine.Machine;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Debian's gdb, in batch mode, against a real pml4 machine running the demand-paging kernel: a
 * breakpoint in its #PF handler, CR2, a variable read through its virtual address, a step over
 * the IRETQ that lands on the faulting instruction again, {@code monitor walk} of the address.
 */
class GdbMachineTest {
    @Test
    void debugsAPageFaultHandler() throws Exception {
        String elf = Guests.image("idt_demand").toString();
        long iretq = addressOf(elf, "isr_exit", "iretq");
        ByteArrayOutputStream serial = new ByteArrayOutputStream();
        try (Machine machine = new Machine(Machine.Config.defaults(serial))) {
            machine.boot(KernelImages.read(Guests.image("idt_demand"), OptionalLong.empty(), OptionalLong.empty()), null);
            GdbServer server = GdbServer.listen(new MachineDebugTarget(machine),
                    new GdbServer.Config(java.net.InetAddress.getLoopbackAddress(), 0, GdbServer.OnDisconnect.CONTINUE, l -> { }));
            CompletableFuture<GdbServer.Outcome> served = CompletableFuture.supplyAsync(server::serve);
            List<String> commands = List.of(
                    "set architecture i386:x86-64",
                    "file " + elf,
                    "target remote 127.0.0.1:" + server.port(),
                    "break on_page_fault",
                    "continue",
                    "info registers cr2",
                    "print/x (long) faults",
                    "monitor walk 0x10000000010",
                    "delete",
                    "break *" + iretq,
                    "continue",
                    "x/gx $rsp",
                    "stepi",
                    "info registers rip",
                    "delete",
                    "continue");
            String out = runGdb(commands);
            served.get(60, TimeUnit.SECONDS);
            server.close();

            assertTrue(out.contains("Breakpoint 1, ") && out.contains("on_page_fault"), out);
            assertTrue(out.matches("(?s).*cr2\\s+0x10000000010\\s.*"), "CR2 of the first fault:\n" + out);
            assertTrue(out.contains("$1 = 0x0"), "no fault counted yet when the handler starts:\n" + out);
            assertTrue(out.contains("PML4E  index   2  entry at 0x0000001010 = 0x0000000000000000  not present"), out);
            // The frame's RIP (x/gx $rsp at the IRETQ), and RIP after stepping over the IRETQ: the same.
            Matcher frame = Pattern.compile("0x[0-9a-f]+:\\s+(0x[0-9a-f]+)").matcher(out);
            assertTrue(frame.find(), out);
            long savedRip = Long.decode(frame.group(1));
            Matcher rip = Pattern.compile("rip\\s+(0x[0-9a-f]+)").matcher(out);
            long after = -1;
            while (rip.find()) {
                after = Long.decode(rip.group(1));
            }
            assertEquals(savedRip, after, "IRETQ returns to the faulting instruction, to retry it:\n" + out);
            assertTrue(out.contains("exited with code 01"), out);
        }
        assertEquals(Guests.expectedTranscript("idt_demand"), serial.toString(StandardCharsets.ISO_8859_1),
                "debugging changed nothing the guest printed");
    }

    /** Watchpoints on virtual addresses report after the instruction; a caught #PF stops before delivery, CR2 loaded. */
    @Test
    void watchpointsAndCaughtExceptions() throws Exception {
        String elf = Guests.image("idt_demand").toString();
        try (Machine machine = new Machine(Machine.Config.defaults(java.io.OutputStream.nullOutputStream()))) {
            machine.boot(KernelImages.read(Guests.image("idt_demand"), OptionalLong.empty(), OptionalLong.empty()), null);
            String out = debug(machine, elf, "watch *(long *)&faults", "continue", "delete",
                    "monitor catch 14", "continue", "info registers cr2", "kill");
            assertTrue(out.contains("Old value = 0") && out.contains("New value = 1"), out);
            assertTrue(out.contains("Program received signal SIGSEGV"), out);
            // The second fault of idt_demand (its transcript: a write at 0x10000001ff8).
            assertTrue(out.matches("(?s).*cr2\\s+0x10000001ff8\\s.*"), out);
        }
    }

    /**
     * {@code monitor catch stale} stops before the read through the stale entry (RIP on it, the
     * report on gdb's console), {@code monitor tlb} marks the entry, and the run goes on through it.
     */
    @Test
    void catchStaleStopsBeforeTheStaleAccess() throws Exception {
        String elf = Guests.image("tlbbug_unmap").toString();
        long readUnmapped = addressOf(elf, "read_unmapped", "mov");
        ByteArrayOutputStream serial = new ByteArrayOutputStream();
        try (Machine machine = new Machine(Machine.Config.defaults(serial))) {
            machine.checkTlb(dev.pml4.mmu.TlbCoherenceChecker.Mode.REPORT);
            machine.boot(KernelImages.read(Guests.image("tlbbug_unmap"), OptionalLong.empty(), OptionalLong.empty()), null);
            String out = debug(machine, elf, "monitor catch stale", "continue", "info registers rip", "monitor tlb", "continue");
            assertTrue(out.contains("caught: stale TLB entry uses"), out);
            assertTrue(out.contains("pml4: stale TLB entry used: instruction ") && out.contains("<read_unmapped>: read of 0x8000000000"), out);
            assertTrue(out.contains("pml4: caught before the access (monitor catch stale)"), out);
            assertTrue(out.matches("(?s).*rip\\s+0x" + Long.toHexString(readUnmapped) + "\\s.*"), "stopped on the reading instruction:\n" + out);
            assertTrue(out.matches("(?s).*0x0000008000000000 -> 0x[0-9a-f]+  RW S X pcid 0  STALE, reported: PTE at 0x[0-9a-f]+ changed by instruction \\d+ \\(P 1 -> 0.*"),
                    "monitor tlb marks the stale entry:\n" + out);
            assertTrue(out.contains("exited with code 01"), out);
        }
        assertEquals(Guests.expectedTranscript("tlbbug_unmap"), serial.toString(StandardCharsets.ISO_8859_1),
                "the stale read went on after the stop, as without the debugger");
    }

    /** Serves {@code machine} to Debian's gdb, which loads {@code elf}, connects and runs {@code commands}; gdb's output. */
    private static String debug(Machine machine, String elf, String... commands) throws Exception {
        GdbServer server = GdbServer.listen(new MachineDebugTarget(machine),
                new GdbServer.Config(java.net.InetAddress.getLoopbackAddress(), 0, GdbServer.OnDisconnect.CONTINUE, l -> { }));
        CompletableFuture<GdbServer.Outcome> served = CompletableFuture.supplyAsync(server::serve);
        List<String> all = new ArrayList<>(List.of("set architecture i386:x86-64", "file " + elf, "target remote 127.0.0.1:" + server.port()));
        all.addAll(List.of(commands));
        String out = runGdb(all);
        served.get(60, TimeUnit.SECONDS);
        server.close();
        return out;
    }

    private static long addressOf(String elf, String label, String mnemonic) throws Exception {
        Process p = new ProcessBuilder("objdump", "-d", elf).redirectErrorStream(true).start();
        String dump = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        int at = dump.indexOf("<" + label + ">:");
        assertTrue(at >= 0, "no " + label + " in " + elf);
        Matcher m = Pattern.compile("\\n\\s+([0-9a-f]+):\\s+[0-9a-f ]+\\s+" + mnemonic).matcher(dump);
        assertTrue(m.find(at), "no " + mnemonic + " after " + label);
        return Long.parseLong(m.group(1), 16);
    }

    private static String runGdb(List<String> commands) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(GdbRealGdbTest.gdb().toString(), "-nx", "-batch"));
        for (String c : commands) {
            cmd.add("-ex");
            cmd.add(c);
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (java.io.IOException e) {
                return "reading gdb's output failed: " + e;
            }
        });
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        return output.get(10, TimeUnit.SECONDS);
    }
}
