package dev.pml4.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pml4.guest.Guests;
import dev.pml4.machine.ImageRejectedException;
import dev.pml4.machine.KernelImages;
import dev.pml4.machine.Machine;
import dev.pml4.mmu.Tlb;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.List;
import java.util.OptionalLong;

/** The tracer shows what happened, in order, the same every time, and changes nothing. */
class TracerTest {
    record Traced(String serial, int status, long instructions, String stats, String trace) {
    }

    static Traced run(String guest, TraceOptions options) throws ImageRejectedException {
        ByteArrayOutputStream serial = new ByteArrayOutputStream();
        try (Machine m = new Machine(Machine.Config.defaults(serial))) {
            m.boot(KernelImages.read(Guests.image(guest), OptionalLong.empty(), OptionalLong.empty()), null);
            StringWriter trace = new StringWriter();
            if (options != null) {
                m.trace(options, trace);
            }
            Machine.RunResult r = m.run();
            String stats = m.mmu().walks() + " " + m.mmu().tlb().statistics(Tlb.Kind.INSTRUCTION) + " " + m.mmu().tlb().statistics(Tlb.Kind.DATA);
            return new Traced(serial.toString(StandardCharsets.ISO_8859_1), r.exitStatus(), r.instructions(), stats, trace.toString());
        }
    }

    /** Walk events name each mode's levels as the SDM does (a PAE PDPTE is where its register was loaded from). */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', textBlock = """
            paging32    | walk D write 0x401000: PDE@0x109004=0x10a023 PTE@0x10a004=0x0 -> #PF
            paging_pae  | walk D read 0x40100000: PDPTE@0x109028=0x0 -> #PF
            paging_la57 | walk D write 0x1000000001000: PML5E@0x109008=0x10d023 PML4E@0x10d000=0x10e023 PDPTE@0x10e000=0x10f023 PDE@0x10f000=0x110023 PTE@0x110008=0x0 -> #PF
            """)
    void walkEventsNameTheLevelsOfEachMode(String guest, String line) throws Exception {
        String trace = run(guest, new TraceOptions(TraceOptions.Format.TEXT, java.util.Set.of(TraceOptions.Kind.WALK), 1, 0, -1, false, 0)).trace();
        assertTrue(trace.lines().anyMatch(l -> l.strip().startsWith(line)), trace.lines().limit(40).toList().toString());
    }

    @Test
    void tracingChangesNothingTheGuestSees() throws Exception {
        Traced plain = run("idt_basic", null);
        Traced traced = run("idt_basic", TraceOptions.all(TraceOptions.Format.TEXT));
        assertEquals(plain.serial(), traced.serial());
        assertEquals(plain.status(), traced.status());
        assertEquals(plain.instructions(), traced.instructions());
        assertEquals(plain.stats(), traced.stats());
        assertTrue(traced.trace().lines().count() > plain.instructions(), "one line per instruction at least");
    }

    @Test
    void sameGuestSameTraceByteForByte() throws Exception {
        for (TraceOptions.Format f : TraceOptions.Format.values()) {
            assertEquals(run("idt_basic", TraceOptions.all(f)).trace(), run("idt_basic", TraceOptions.all(f)).trace());
        }
    }

    /** The faulting instruction, the failed walk with each level, the delivery with its frame, the handler, its IRETQ. */
    @Test
    void aPageFaultReadsInOrder() throws Exception {
        List<String> lines = run("idt_basic", TraceOptions.all(TraceOptions.Format.TEXT)).trace().lines().toList();
        int fault = indexOf(lines, 0, "mov rbx, qword ptr [rax]", "[#PF]");
        int walk = indexOf(lines, fault, "walk D read 0x10000000000: PML4E@0x1010=0x0 -> #PF(0x0): PML4E not present");
        int deliver = indexOf(lines, walk, "deliver #PF(0x0) CR2=0x10000000000", "<h_pf> at CPL 0, frame at", "error=0x0 rip=0x100225 cs=0x8");
        int handler = indexOf(lines, deliver, " h_pf ", "push rsi");
        int iretq = indexOf(lines, handler, "iretq");
        int resumed = indexOf(lines, iretq, "0000000000100228");
        assertEquals(fault + 1, walk);
        assertEquals(walk + 1, deliver);
        assertEquals(deliver + 1, handler);
        assertTrue(resumed == iretq + 1, lines.get(iretq + 1));
    }

    /** Demand paging: the fault, the failed walk, the delivery, the handler, its INVLPG, the IRETQ, the retry that walks and succeeds. */
    @Test
    void aDemandPagingFaultIsRetried() throws Exception {
        List<String> lines = run("idt_demand", TraceOptions.all(TraceOptions.Format.TEXT)).trace().lines().toList();
        int fault = indexOf(lines, 0, "[#PF]");
        String faultRip = lines.get(fault).strip().split("\\s+")[1];
        int walk = indexOf(lines, fault, "walk D ", "-> #PF(0x");
        int deliver = indexOf(lines, walk, "deliver #PF(", "frame at", "rip=0x" + Long.toHexString(Long.parseLong(faultRip, 16)));
        int invlpg = indexOf(lines, deliver, "invlpg ");
        int iretq = indexOf(lines, invlpg, "iretq");
        assertEquals(fault + 1, walk);
        assertEquals(walk + 1, deliver);
        assertTrue(lines.get(iretq + 1).contains(faultRip), "the retry: " + lines.get(iretq + 1));
        assertTrue(lines.get(iretq + 2).contains("walk D ") && lines.get(iretq + 2).contains("->") && !lines.get(iretq + 2).contains("#PF"),
                "the retry's walk succeeds: " + lines.get(iretq + 2));
    }

    @Test
    void jsonLinesAreOneObjectPerLine() throws Exception {
        String trace = run("idt_basic", TraceOptions.all(TraceOptions.Format.JSONL)).trace();
        for (String line : trace.lines().toList()) {
            assertTrue(line.startsWith("{\"type\":\"") && line.endsWith("}"), line);
        }
        assertTrue(trace.contains("{\"type\":\"exception\",\"n\":"));
        assertTrue(trace.contains("\"type\":\"walk\""));
        assertTrue(trace.contains("\"type\":\"cr\""));
        assertTrue(trace.contains("\"type\":\"io\""));
    }

    @Test
    void theRingKeepsTheLastLinesAndWritesThemOnlyWhenTheRunEndsBadly() throws Exception {
        TraceOptions ring = new TraceOptions(TraceOptions.Format.TEXT, EnumSet.allOf(TraceOptions.Kind.class), 1, 0, -1, false, 5);
        Traced bad = run("pagefault", ring);
        assertEquals(4, bad.status());
        List<String> lines = bad.trace().lines().toList();
        assertEquals(5, lines.size(), bad.trace());
        assertTrue(lines.stream().anyMatch(l -> l.contains("deliver") || l.contains("#PF")), bad.trace());
        assertEquals("", run("hello", ring).trace());
    }

    @Test
    void filtersByKindAndRange() throws Exception {
        TraceOptions exceptions = new TraceOptions(TraceOptions.Format.TEXT, EnumSet.of(TraceOptions.Kind.EXCEPTION), 1, 0, -1, false, 0);
        List<String> lines = run("idt_basic", exceptions).trace().lines().toList();
        assertEquals(7, lines.size(), String.join("\n", lines)); // #BP #DE #GP #PF INT 0x80 #GP #PF, as idt_basic.expected lists them
        assertTrue(lines.stream().allMatch(l -> l.strip().startsWith("deliver ")));
        TraceOptions fromFault = new TraceOptions(TraceOptions.Format.TEXT, EnumSet.of(TraceOptions.Kind.INSN), 1, 0, -1, true, 0);
        String t = run("idt_basic", fromFault).trace();
        assertTrue(t.lines().findFirst().orElseThrow().contains("int3"), t.lines().findFirst().orElse(""));
    }

    /** With --check-tlb, a stale use is a stale line after the instruction that makes it, in both formats. */
    @Test
    void aStaleUseIsTraced() throws Exception {
        for (TraceOptions.Format f : TraceOptions.Format.values()) {
            TraceOptions options = new TraceOptions(f, EnumSet.of(TraceOptions.Kind.INSN, TraceOptions.Kind.STALE), 1, 0, -1, false, 0);
            try (Machine m = new Machine(Machine.Config.defaults(java.io.OutputStream.nullOutputStream()))) {
                m.checkTlb(dev.pml4.mmu.TlbCoherenceChecker.Mode.REPORT);
                m.boot(KernelImages.read(Guests.image("tlbbug_unmap"), OptionalLong.empty(), OptionalLong.empty()), null);
                StringWriter trace = new StringWriter();
                m.trace(options, trace);
                m.run();
                List<String> lines = trace.toString().lines().toList();
                var use = m.tlbCheck().staleUses().getFirst();
                if (f == TraceOptions.Format.TEXT) {
                    int at = indexOf(lines, 0, "stale use: read 0x8000000000 through D 4 KiB 0x8000000000->0x", "fresh walk: #PF(0x0) PTE not present",
                            "<unmap>: PTE@0x");
                    assertTrue(lines.get(at - 1).strip().startsWith(use.instruction() + "  ") && lines.get(at - 1).contains("read_unmapped"),
                            lines.get(at - 1));
                } else {
                    int at = indexOf(lines, 0, "{\"type\":\"stale\",\"n\":" + use.instruction() + ",\"finding\":\"stale-use\",\"access\":\"read\",\"address\":\"0x8000000000\"",
                            "\"fresh\":{\"result\":\"fault\",\"error\":\"0x0\",\"reason\":\"PTE not present\"}",
                            "\"write\":{\"n\":" + use.write().instruction() + ",", "\"sym\":\"unmap\",\"level\":\"PTE\"", "\"new\":\"0x0\"");
                    assertTrue(lines.get(at - 1).contains("\"type\":\"insn\",\"n\":" + use.instruction() + ","), lines.get(at - 1));
                }
            }
        }
    }

    private static int indexOf(List<String> lines, int from, String... parts) {
        for (int i = from; i < lines.size(); i++) {
            String l = lines.get(i);
            boolean all = true;
            for (String p : parts) {
                all &= l.contains(p);
            }
            if (all) {
                return i;
            }
        }
        throw new AssertionError("no line after " + from + " with " + List.of(parts));
    }
}
