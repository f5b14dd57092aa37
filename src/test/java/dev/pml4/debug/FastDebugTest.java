package dev.pml4.debug;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.pml4.cpu.ExecutionMode;
import dev.pml4.guest.Guests;
import dev.pml4.machine.KernelImages;
import dev.pml4.machine.Machine;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The debugger's {@code continue} runs in fast mode (issue 12) and stops where precise mode stops:
 * a breakpoint inside the compute kernel's loop, hit twice, a single step, a register written,
 * a breakpoint after the loop, and the end of the run, with the same instruction counts,
 * registers and output both ways.
 */
class FastDebugTest {
    @Test
    void continueRunsFastAndStopsWherePreciseModeStops() throws Exception {
        String elf = Guests.image("compute").toString();
        long dec = addressOf(elf, "_start.loop", "dec");
        long jnz = addressOf(elf, "_start.loop", "jne");
        long afterLoop = jnz + 2;
        List<String> fast = session(ExecutionMode.FAST, dec, afterLoop);
        List<String> precise = session(ExecutionMode.PRECISE, dec, afterLoop);
        assertEquals(precise, fast);
        // The loop runs 10 instructions per iteration: the second hit is 10 later, the step 1 more.
        assertEquals(parse(fast.get(0)) + 10, parse(fast.get(1)));
        assertEquals(parse(fast.get(1)) + 1, parse(fast.get(2)));
    }

    /** gdb's Ctrl-C (from the server's thread) stops a fast run long before its end; continuing finishes it. */
    @Test
    void theDebuggersInterruptStopsAFastRun() throws Exception {
        ByteArrayOutputStream serial = new ByteArrayOutputStream();
        try (Machine machine = new Machine(Machine.Config.defaults(serial))) {
            machine.boot(KernelImages.read(Guests.image("compute"), OptionalLong.empty(), OptionalLong.empty()), null);
            MachineDebugTarget target = new MachineDebugTarget(machine);
            var stopped = java.util.concurrent.CompletableFuture.supplyAsync(target::resume);
            // The kernel prints its plan, then loops for 200 M instructions: interrupt once the plan is out.
            while (!serial.toString(StandardCharsets.ISO_8859_1).endsWith("instructions of register arithmetic\n") && !stopped.isDone()) {
                Thread.sleep(1);
            }
            target.interrupt();
            StopEvent event = stopped.get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertInstanceOf(StopEvent.Interrupted.class, event);
            assertEquals(ExecutionMode.FAST, machine.cpu().executionMode());
            long stoppedAt = machine.cpu().instructions();
            assertInstanceOf(StopEvent.Exited.class, target.resume());
            org.junit.jupiter.api.Assertions.assertTrue(stoppedAt < machine.cpu().instructions() - 1_000_000,
                    "stopped at instruction " + stoppedAt + ", well before the end at " + machine.cpu().instructions());
        }
        assertEquals(Guests.expectedTranscript("compute"), serial.toString(StandardCharsets.ISO_8859_1));
    }

    /** One debugging session; each stop as "instructions rip rcx event". */
    private static List<String> session(ExecutionMode mode, long inLoop, long afterLoop) throws Exception {
        List<String> stops = new ArrayList<>();
        ByteArrayOutputStream serial = new ByteArrayOutputStream();
        try (Machine machine = new Machine(Machine.Config.defaults(serial))) {
            machine.boot(KernelImages.read(Guests.image("compute"), OptionalLong.empty(), OptionalLong.empty()), null);
            machine.cpu().setExecutionMode(mode);
            machine.cpu().setFastModeFrom(0); // fast from the first instruction (the default waits 50,000)
            MachineDebugTarget target = new MachineDebugTarget(machine);
            target.insertBreakpoint(inLoop);
            stops.add(stop(machine, target, target.resume()));
            assertEquals(mode, machine.cpu().executionMode(), "continue runs in the mode asked for");
            stops.add(stop(machine, target, target.resume()));
            stops.add(stop(machine, target, target.step()));
            target.removeBreakpoint(inLoop);
            target.writeRegister(Register.RCX, 5); // five more iterations (precise mode would take seconds for 20 M)
            target.insertBreakpoint(afterLoop);
            stops.add(stop(machine, target, target.resume()));
            assertEquals(mode, machine.cpu().executionMode(), "stepping does not end fast mode");
            target.removeBreakpoint(afterLoop);
            StopEvent end = target.resume();
            assertInstanceOf(StopEvent.Exited.class, end);
            stops.add(stop(machine, target, end));
        }
        stops.add(serial.toString(StandardCharsets.ISO_8859_1)); // the checksum printed after the loop
        return stops;
    }

    private static String stop(Machine machine, MachineDebugTarget target, StopEvent event) {
        return machine.cpu().instructions() + " " + Long.toHexString(target.readRegister(Register.RIP)) + " "
                + Long.toHexString(target.readRegister(Register.RCX)) + " " + event;
    }

    private static long parse(String stop) {
        return Long.parseLong(stop.substring(0, stop.indexOf(' ')));
    }

    private static long addressOf(String elf, String label, String mnemonic) throws Exception {
        Process p = new ProcessBuilder("objdump", "-d", elf).redirectErrorStream(true).start();
        String dump = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        int at = dump.indexOf("<" + label + ">:");
        Matcher m = Pattern.compile("\\n\\s+([0-9a-f]+):\\s+[0-9a-f ]+\\s+" + mnemonic).matcher(dump);
        if (at < 0 || !m.find(at)) {
            throw new AssertionError("no " + mnemonic + " after " + label + " in " + elf);
        }
        return Long.parseLong(m.group(1), 16);
    }
}
