package dev.pml4.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pml4.guest.Guests;
import dev.pml4.machine.KernelImages;
import dev.pml4.machine.Machine;
import dev.pml4.mmu.TlbCoherenceChecker;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.OutputStream;
import java.io.StringWriter;
import java.util.EnumSet;
import java.util.List;
import java.util.OptionalLong;

/**
 * {@code --trace-ring N} writes exactly the last N lines that {@code --trace} writes for the same
 * run, though it formats them only at the end, from raw values recorded as the guest ran.
 */
class TraceRingTest {
    record Run(int status, long instructions, String trace) {
    }

    static Run run(String guest, long limit, boolean checkTlb, TraceOptions options) throws Exception {
        Machine.Config config = Machine.Config.defaults(OutputStream.nullOutputStream());
        if (limit > 0) {
            config = config.withInstructionLimit(limit);
        }
        try (Machine m = new Machine(config)) {
            if (checkTlb) {
                m.checkTlb(TlbCoherenceChecker.Mode.REPORT);
            }
            m.boot(KernelImages.read(Guests.image(guest), OptionalLong.empty(), OptionalLong.empty()), null);
            StringWriter trace = new StringWriter();
            if (options != null) {
                m.trace(options, trace);
            }
            Machine.RunResult r = m.run();
            return new Run(r.exitStatus(), r.instructions(), trace.toString());
        }
    }

    /**
     * Guests that fault to the end (triple faults, #PF and #UD without a handler), and guests
     * stopped by the instruction limit one instruction before their end (status 6): 64-bit,
     * 32-bit paging, Multiboot in protected mode, timer interrupts, CPL 3, code remapped under
     * the TLB, the TLB checker's findings.
     */
    @ParameterizedTest(name = "{0} {1} last {2}")
    @CsvSource(delimiter = '|', textBlock = """
            idt_triple   | TEXT  | 5000  | false
            idt_triple   | JSONL | 700   | false
            pagefault    | TEXT  | 300   | false
            tlb_wp       | TEXT  | 2000  | false
            ud_noidt     | JSONL | 100   | false
            mb1_elf32    | TEXT  | 20000 | false
            mb1_elf32    | JSONL | 3000  | false
            paging32     | TEXT  | 4000  | false
            idt_preempt  | TEXT  | 30000 | false
            idt_user     | JSONL | 5000  | false
            tlbbug_code  | TEXT  | 3000  | false
            tlbbug_unmap | TEXT  | 1500  | true
            hello        | TEXT  | 1     | false
            """)
    void theRingWritesTheLastLinesOfTheTrace(String guest, TraceOptions.Format format, int lines, boolean checkTlb) throws Exception {
        Run plain = run(guest, 0, checkTlb, null);
        long limit = plain.status() == 4 ? 0 : plain.instructions() - 1; // a guest that ends well ends at the limit
        Run full = run(guest, limit, checkTlb, new TraceOptions(format, EnumSet.allOf(TraceOptions.Kind.class), 1, 0, -1, false, 0));
        Run ring = run(guest, limit, checkTlb, new TraceOptions(format, EnumSet.allOf(TraceOptions.Kind.class), 1, 0, -1, false, lines));
        assertTrue(ring.status() == 4 || ring.status() == 6, "a run that ends badly: " + ring.status());
        assertEquals(full.status(), ring.status());
        assertEquals(full.instructions(), ring.instructions());
        List<String> all = full.trace().lines().toList();
        assertTrue(all.size() > lines, "the ring is shorter than the trace: " + all.size());
        List<String> last = all.subList(all.size() - lines, all.size());
        assertEquals(String.join("\n", last) + "\n", ring.trace());
    }

    /** A ring larger than the whole trace keeps all of it; --trace-from and --trace-on-fault apply as they do to the stream. */
    @ParameterizedTest(name = "{0} from {1}, on fault {2}")
    @CsvSource(delimiter = '|', textBlock = """
            idt_triple | 1     | false
            idt_triple | 12000 | false
            idt_triple | 1     | true
            """)
    void aLargeRingKeepsWhatTheStreamWrites(String guest, long from, boolean onFault) throws Exception {
        Run full = run(guest, 0, false, new TraceOptions(TraceOptions.Format.TEXT, EnumSet.allOf(TraceOptions.Kind.class), from, 0, -1, onFault, 0));
        Run ring = run(guest, 0, false, new TraceOptions(TraceOptions.Format.TEXT, EnumSet.allOf(TraceOptions.Kind.class), from, 0, -1, onFault, 10_000_000));
        assertEquals(4, ring.status());
        assertTrue(!full.trace().isEmpty());
        assertEquals(full.trace(), ring.trace());
    }
}
