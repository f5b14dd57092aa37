package dev.pml4.debug;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each command of the stub against {@link FakeTarget#standard()} over a loopback socket: first a
 * table of one request and its reply on a fresh session (well-formed and hostile alike), then the
 * commands whose meaning is in a sequence.
 */
class GdbCommandsTest {
    static final String STOPPED_AT_ENTRY = "T0506:0000000000000000;07:f07f000000000000;10:0000100000000000;thread:1;";
    static final int REGISTER_HEX = 2 * (16 * 8 + 8 + 4 + 6 * 4 + 8 * 10 + 8 * 4 + 2 * 8 + 3 * 8 + 3 * 4);

    static String le(long v, int bytes) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < bytes; i++) {
            sb.append(String.format("%02x", (v >>> (8 * i)) & 0xff));
        }
        return sb.toString();
    }

    static Arguments ask(String request, String reply) {
        return Arguments.of(request, reply);
    }

    static Stream<Arguments> table() {
        return Stream.of(
                // Queries and thread housekeeping.
                ask("?", STOPPED_AT_ENTRY),
                ask("qSupported", "PacketSize=4000;qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+;vContSupported+"),
                ask("qC", "QC1"),
                ask("qfThreadInfo", "m1"),
                ask("qsThreadInfo", "l"),
                ask("qAttached", "1"),
                ask("qAttached:1", "1"),
                ask("Hg0", "OK"),
                ask("Hg1", "OK"),
                ask("Hc-1", "OK"),
                ask("Hg2", "E01"),
                ask("Hx1", "E01"),
                ask("H", "E01"),
                ask("T1", "OK"),
                ask("T2", "E01"),
                ask("vCont?", "vCont;c;C;s;S"),
                // Unknown or unsupported: the empty reply.
                ask("vMustReplyEmpty", ""),
                ask("qTStatus", ""),
                ask("qOffsets", ""),
                ask("!", ""),
                ask("R00", ""),
                ask("vRun;", ""),
                ask("qXfer:threads:read::0,1000", ""),
                ask("Z5,100000,1", ""),
                ask("z9,100000,1", ""),
                ask("gg", ""),
                ask("\u0001\u0002\u0003", ""),
                // Registers, by gdb number: 16 rip, 17 eflags (4 bytes), 18 cs, 24 st0, 42 cr0, 44 cr3, 47 efer.
                ask("p10", le(FakeTarget.ENTRY, 8)),
                ask("p7", le(0x7ff0, 8)),
                ask("p11", "02000000"),
                ask("p12", "08000000"),
                ask("p18", "xx".repeat(10)),
                ask("p20", "xx".repeat(4)),
                ask("p2a", "11000180"),
                ask("p2c", le(FakeTarget.CR3, 8)),
                ask("p2f", "00050000"),
                ask("p30", "E01"),
                ask("pffffffffffffffff", "E01"),
                ask("p", "E01"),
                ask("pzz", "E01"),
                ask("p10000000000000000", "E01"),
                ask("P10=" + le(0x100010, 8), "OK"),
                ask("P2a=11000180", "OK"),                 // unchanged: nothing written
                ask("P2a=00000080", "E02"),                // PG without PE: the target refuses
                ask("P18=" + "00".repeat(10), "E02"),      // st0 is not the target's
                ask("P10=00", "E01"),
                ask("P10", "E01"),
                ask("P=00", "E01"),
                ask("P99=" + le(0, 8), "E01"),
                ask("P10=" + "zz".repeat(8), "E01"),
                ask("G00", "E01"),
                ask("G" + "0".repeat(REGISTER_HEX + 2), "E01"),
                ask("G" + "zz".repeat(REGISTER_HEX / 2), "E01"),
                // Memory at virtual addresses; 0x1000-0x3fff, 0x7000 and 0x100000 are mapped.
                ask("m1000,8", "8877665544332211"),
                ask("m1008,8", "00ffeeddccbbaa99"),
                ask("m100010,4", "9048ffc0"),
                ask("m3ffc,8", "00000000"),                // the rest runs into an unmapped page
                ask("m5000000,4", "E14"),
                ask("mffffffffffffffff,10", "E14"),       // capped at the top of the address space
                ask("m1000", "E01"),
                ask("m,8", "E01"),
                ask("mzz,8", "E01"),
                ask("m1000,zz", "E01"),
                ask("m1000,-1", "E01"),
                ask("m11111111111111111,1", "E01"),
                ask("M2000,2:abcd", "OK"),
                ask("M2000,0:", "OK"),
                ask("M5000000,1:00", "E14"),
                ask("M3fff,2:0102", "E14"),                // half mapped: not all written
                ask("M2000,2:abc", "E01"),
                ask("M2000,3:abcd", "E01"),
                ask("M2000,2:zzzz", "E01"),
                ask("M2000,2", "E01"),
                ask("Mffffffffffffffff,2:0000", "E01"),   // would wrap around
                ask("M2000,ffffffff:00", "E01"),
                ask("X2000,0:", "OK"),
                ask("X2000,1:a", "OK"),
                ask("X2000,2:a", "E01"),
                ask("X2000,1", "E01"),
                ask("X2000,1:}", "E01"),                   // dangling escape
                ask("Xzz,1:a", "E01"),
                // Breakpoints and watchpoints.
                ask("Z0,100010,1", "OK"),
                ask("Z1,100010,1", "OK"),
                ask("z0,100010,1", "OK"),                  // none there: still OK
                ask("Z2,2000,8", "OK"),
                ask("Z3,2000,4", "OK"),
                ask("Z4,2000,1", "OK"),
                ask("z2,2000,8", "OK"),
                ask("Z2,2000,10", "E02"),                  // the fake watches at most 8 bytes
                ask("Z2,2000,0", "E01"),
                ask("Z2,2000,80000000", "E01"),
                ask("Z0,100010,1;X2,0a", "OK"),            // conditions are ignored
                ask("Z0,zz,1", "E01"),
                ask("Z0,100010", "E01"),
                ask("Z0", "E01"),
                ask("Z,1,1", "E01"),
                ask("Z00,1,1", "E01"),
                // Resuming: s steps one nop; c runs the program to its end (exit status al = 0xf0).
                ask("s", "T0506:0000000000000000;07:f07f000000000000;10:0100100000000000;thread:1;"),
                ask("s100011", "T0506:0000000000000000;07:f07f000000000000;10:1400100000000000;thread:1;"),
                ask("S05", "T0506:0000000000000000;07:f07f000000000000;10:0100100000000000;thread:1;"),
                ask("vCont;s:1;c", "T0506:0000000000000000;07:f07f000000000000;10:0100100000000000;thread:1;"),
                ask("vCont;s:1", "T0506:0000000000000000;07:f07f000000000000;10:0100100000000000;thread:1;"),
                ask("vCont;S05:-1", "T0506:0000000000000000;07:f07f000000000000;10:0100100000000000;thread:1;"),
                ask("vCont;c:2", "E01"),
                ask("vCont;t", "E01"),
                ask("vCont;r100000,100010", "E01"),
                ask("vCont;", "E01"),
                ask("vCont;cx", "E01"),
                ask("vCont;Czz", "E01"),
                ask("vCont", ""),
                ask("Czz", "E01"),
                ask("c10000000000000000", "E01"),
                // Target description: a missing or unknown annex, a hostile offset.
                ask("qXfer:features:read:other.xml:0,100", "E00"),
                ask("qXfer:features:read:target.xml:ffffff,100", "l"),
                ask("qXfer:features:read:target.xml:zz,100", "E01"),
                ask("qXfer:features:read:target.xml:0", "E01"),
                ask("qXfer:features:read:target.xml", "E01"),
                // Monitor: the command is hex.
                ask("qRcmd,zz", "E01"),
                ask("qRcmd,6", "E01"));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("table")
    void request(String request, String reply) throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            assertEquals(reply, c.request(request));
            // The session is still fine afterwards.
            assertEquals("QC1", c.request("qC"));
        }
    }

    @Test
    void gReadsEveryRegisterInGdbsOrder() throws Exception {
        try (Harness h = new Harness()) {
            h.target.setRegister(Register.RAX, 0x1111);
            h.target.setRegister(Register.R15, 0xf15);
            h.target.setRegister(Register.GS_BASE, 0xffff_8000_0000_0000L);
            h.target.setRegister(Register.EFER, 0xd01);
            RspClient c = h.connect();
            String g = c.request("g");
            assertEquals(REGISTER_HEX, g.length());
            assertEquals(le(0x1111, 8), g.substring(0, 16));
            assertEquals(le(0xf15, 8), g.substring(15 * 16, 16 * 16));
            assertEquals(le(FakeTarget.ENTRY, 8), g.substring(16 * 16, 17 * 16));
            int x87 = 17 * 16 + 8 + 6 * 8;
            assertEquals("xx".repeat(8 * 10 + 8 * 4), g.substring(x87, x87 + 2 * (8 * 10 + 8 * 4)));
            int gsBase = x87 + 2 * (8 * 10 + 8 * 4) + 16;
            assertEquals(le(0xffff_8000_0000_0000L, 8), g.substring(gsBase, gsBase + 16));
            assertEquals("010d0000", g.substring(g.length() - 8));
        }
    }

    @Test
    void gWritesOnlyTheRegistersThatChanged() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            String g = c.request("g");
            String changed = le(42, 8) + g.substring(16, 16 * 16) + le(0x100020, 8) + g.substring(17 * 16);
            h.target.calls.clear();
            assertEquals("OK", c.request("G" + changed));
            assertEquals(42, h.target.register(Register.RAX));
            assertEquals(0x100020, h.target.register(Register.RIP));
            assertEquals(List.of("writeRegister RAX 0x2a", "writeRegister RIP 0x100020"),
                    h.target.calls.stream().filter(s -> s.startsWith("write")).toList());
            // A refused value: the reply is an error, and the session goes on.
            String badCr0 = g.substring(0, g.length() - 2 * (8 * 3 + 4 * 3)) + "00000080" + g.substring(g.length() - 2 * (8 * 2 + 4 * 2) - 16);
            assertEquals(REGISTER_HEX, badCr0.length());
            assertEquals("E02", c.request("G" + badCr0));
            assertEquals("QC1", c.request("qC"));
        }
    }

    @Test
    void pWritesWhatPReads() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            assertEquals("OK", c.request("P2c=" + le(0xa000, 8)));
            assertEquals(0xa000, h.target.register(Register.CR3));
            assertEquals(le(0xa000, 8), c.request("p2c"));
            // eflags is 32 bits in gdb: the upper half of RFLAGS stays as it was.
            h.target.setRegister(Register.EFLAGS, 0x1_0000_0002L);
            assertEquals("OK", c.request("P11=02020000"));
            assertEquals(0x1_0000_0202L, h.target.register(Register.EFLAGS));
        }
    }

    @Test
    void memoryWritesLandAndReadBack() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            assertEquals("OK", c.request("M2000,4:deadbeef"));
            assertEquals("deadbeef", c.request("m2000,4"));
            // X carries binary: '#', '$', '}' and '*' arrive escaped, 0x03 and 0x00 as they are.
            byte[] data = {'#', '$', '}', '*', 0x03, 0x00, (byte) 0xff, 'a'};
            StringBuilder x = new StringBuilder("X2100,8:");
            for (byte b : data) {
                if (b == '#' || b == '$' || b == '}' || b == '*') {
                    x.append('}').append((char) (b ^ 0x20));
                } else {
                    x.append((char) (b & 0xff));
                }
            }
            assertEquals("OK", c.request(x.toString()));
            assertEquals("23247d2a0300ff61", c.request("m2100,8"));
        }
    }

    @Test
    void mIsCappedToWhatFitsInAPacket() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            String r = c.request("m1000,ffffffffffffffff");
            assertTrue(r.length() > 0 && r.length() <= 0x4000, "length " + r.length());
            assertEquals("8877665544332211", r.substring(0, 16));
        }
    }

    @Test
    void targetXmlReadsInChunks() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            StringBuilder xml = new StringBuilder();
            int offset = 0;
            while (true) {
                String r = c.request("qXfer:features:read:target.xml:" + Integer.toHexString(offset) + ",100");
                assertTrue(r.startsWith("m") || r.startsWith("l"), r);
                xml.append(r.substring(1));
                offset += r.length() - 1;
                if (r.startsWith("l")) {
                    break;
                }
            }
            assertTrue(xml.toString().startsWith("<?xml"), xml.toString());
            assertTrue(xml.toString().endsWith("</target>\n"));
        }
    }

    @Test
    void breakpointsStopBeforeTheInstruction() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            c.request("qSupported:swbreak+;hwbreak+");
            assertEquals("OK", c.request("Z0,100010,1"));
            assertEquals("OK", c.request("Z1,100014,1"));
            assertEquals("T05swbreak:;06:0000000000000000;07:f07f000000000000;10:1000100000000000;thread:1;", c.request("c"));
            assertEquals("T05hwbreak:;06:0000000000000000;07:f07f000000000000;10:1400100000000000;thread:1;", c.request("vCont;c"));
            assertEquals(1, h.target.register(Register.RAX));
            assertEquals(c.request("?"), "T05hwbreak:;06:0000000000000000;07:f07f000000000000;10:1400100000000000;thread:1;");
        }
    }

    @Test
    void withoutSwbreakFromGdbTheReasonIsLeftOut() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            c.request("qSupported:multiprocess+");
            assertEquals("OK", c.request("Z0,100010,1"));
            assertEquals("T0506:0000000000000000;07:f07f000000000000;10:1000100000000000;thread:1;", c.request("c"));
        }
    }

    @Test
    void breakpointsAreIdempotent() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            for (String p : List.of("Z0,100010,1", "Z0,100010,1", "Z1,100010,1", "z0,100010,1", "z0,100010,1")) {
                assertEquals("OK", c.request(p));
            }
            assertEquals(java.util.Set.of(0x100010L), h.target.breakpoints()); // the hardware one is left
            assertEquals("OK", c.request("z1,100010,1"));
            assertEquals(java.util.Set.of(), h.target.breakpoints());
            assertEquals(List.of("insertBreakpoint 0x100010", "removeBreakpoint 0x100010"),
                    h.target.calls.stream().filter(s -> s.contains("Breakpoint")).toList());
        }
    }

    @Test
    void aBreakpointTheTargetRefusesIsAnError() throws Exception {
        FakeTarget t = FakeTarget.standard();
        t.maxBreakpoints = 1;
        try (Harness h = new Harness(t)) {
            RspClient c = h.connect();
            assertEquals("OK", c.request("Z0,100010,1"));
            assertEquals("E02", c.request("Z0,100011,1"));
            assertEquals("OK", c.request("z0,100011,1"));
        }
    }

    @Test
    void watchpointsReportTheAddressAndKind() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            assertEquals("OK", c.request("Z2,2000,8"));
            assertEquals("T05watch:2000;06:0000000000000000;07:f07f000000000000;10:1c00100000000000;thread:1;", c.request("c"));
            assertEquals(1, h.target.peek64(0x2000)); // after the write, like a data breakpoint
            assertEquals("OK", c.request("z2,2000,8"));
            assertEquals("OK", c.request("Z3,3004,4"));
            assertEquals("T05rwatch:3004;06:0000000000000000;07:f07f000000000000;10:2400100000000000;thread:1;", c.request("c"));
            assertEquals("OK", c.request("z3,3004,4"));
            assertEquals(0, h.target.watchpointCount());
        }
    }

    @Test
    void anAccessWatchpointFiresOnReadsAndWrites() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            assertEquals("OK", c.request("Z4,2000,8"));
            assertEquals("OK", c.request("Z4,3000,8"));
            assertTrue(c.request("c").startsWith("T05awatch:2000;"));
            assertTrue(c.request("c").startsWith("T05awatch:3000;"));
        }
    }

    @Test
    void runningToTheEndSaysWhyAndReportsTheStatus() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            assertEquals(List.of("O" + RspClient.hex("pml4: the guest halted with interrupts off at RIP 0x100103\n"), "Wf0"),
                    c.exchange("c"));
            // Afterwards: the same end, and nothing to read.
            assertEquals("Wf0", c.request("?"));
            assertEquals("Wf0", c.request("c"));
            assertEquals("Wf0", c.request("s"));
            assertEquals("E02", c.request("g"));
            assertEquals("E02", c.request("m1000,8"));
            assertEquals("E02", c.request("Z0,100000,1"));
        }
    }

    @Test
    void aCaughtExceptionStopsWithItsSignal() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            assertEquals(List.of("O" + RspClient.hex("caught exceptions: #UD (6)\n"), "OK"), c.exchange("qRcmd," + RspClient.hex("catch ud")));
            assertEquals(java.util.Set.of(6), h.target.caught());
            assertEquals(List.of("O" + RspClient.hex("pml4: exception #UD (6) caught before delivery\n"),
                    "T0406:0000000000000000;07:f07f000000000000;10:2400100000000000;thread:1;"), c.exchange("c"));
            // Continuing delivers it to the guest's handler, which ends the run.
            List<String> end = c.exchange("C04");
            assertEquals("Wf0", end.get(end.size() - 1)); // the handler ran: inc rax; hlt
        }
    }

    static Stream<Arguments> signals() {
        return Stream.of(
                Arguments.of("0f0b", "6", "T04", ""),                          // ud2: #UD, SIGILL
                Arguments.of("48890425" + "00000050", "14", "T0b", ", error code 0x2"),  // write to unmapped: #PF, SIGSEGV
                Arguments.of("488b0425" + "00000050", "pf", "T0b", ", error code 0x0"),
                Arguments.of("cc", "#BP", "T05", ""));                          // int3: #BP, SIGTRAP
    }

    @ParameterizedTest(name = "{0} caught as {1}: {2}")
    @MethodSource("signals")
    void exceptionsMapToSignals(String code, String vector, String signal, String errorCode) throws Exception {
        FakeTarget t = FakeTarget.standard();
        t.poke(FakeTarget.ENTRY, FakeTarget.bytes(code));
        try (Harness h = new Harness(t)) {
            RspClient c = h.connect();
            c.exchange("qRcmd," + RspClient.hex("catch " + vector));
            List<String> stop = c.exchange("c");
            assertEquals(2, stop.size(), stop.toString());
            assertTrue(RspClient.unhex(stop.get(0).substring(1)).contains(errorCode + " caught"), RspClient.unhex(stop.get(0).substring(1)));
            assertTrue(stop.get(1).startsWith(signal + "06:"), stop.get(1));
        }
    }

    @Test
    void catchAndUncatch() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            assertEquals("caught exceptions: none\n", monitor(c, "catch"));
            assertEquals("caught exceptions: #DE (0), #GP (13), #PF (14)\n", monitor(c, "catch 14 0xd #de"));
            assertEquals("caught exceptions: #DE (0), #PF (14)\n", monitor(c, "uncatch gp"));
            assertEquals("not an exception vector: \"32\" (0..31, 0x0..0x1f, or a name such as #PF)\n", monitor(c, "catch 32"));
            assertEquals("not an exception vector: \"pagefault\" (0..31, 0x0..0x1f, or a name such as #PF)\n", monitor(c, "catch pagefault"));
            assertEquals(java.util.Set.of(0, 14), h.target.caught());
            assertTrue(monitor(c, "catch all").contains("#XM (19)"));
            assertEquals(32, h.target.caught().size());
            assertEquals("caught exceptions: none\n", monitor(c, "uncatch all"));
            assertEquals("caught exceptions: none\n", monitor(c, "catch none"));
            assertEquals("usage: monitor uncatch VEC... | all\n", monitor(c, "uncatch"));
        }
    }

    static String monitor(RspClient c, String command) throws Exception {
        List<String> packets = c.exchange("qRcmd," + RspClient.hex(command));
        assertEquals("OK", packets.get(packets.size() - 1));
        StringBuilder out = new StringBuilder();
        for (String p : packets.subList(0, packets.size() - 1)) {
            assertTrue(p.startsWith("O"), p);
            out.append(RspClient.unhex(p.substring(1)));
        }
        return out.toString();
    }

    @Test
    void monitorCommandsGoToTheTarget() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            assertEquals("""
                    walk of 0x1000 with CR3=0x9000
                      PML4E[0] -> PDPTE[0] -> PDE[0] -> PTE[1]
                      0x1000 -> physical 0x1000 (4 KiB page)
                    """, monitor(c, "walk 0x1000"));
            assertEquals("unknown command: frobnicate\n", monitor(c, "frobnicate"));
            assertEquals("error: the monitor failed on purpose\n", monitor(c, "fail"));
            String help = monitor(c, "help");
            assertTrue(help.contains("monitor catch VEC...") && help.contains("monitor walk ADDR"), help);
            assertEquals(help, monitor(c, ""));
            assertTrue(h.target.calls.contains("monitor walk 0x1000"));
        }
    }

    @Test
    void longMonitorOutputIsSplitIntoConsolePackets() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            List<String> packets = c.exchange("qRcmd," + RspClient.hex("big 40000"));
            assertTrue(packets.size() > 3, "" + packets.size());
            for (String p : packets) {
                assertTrue(p.length() <= 0x4000);
            }
            assertEquals("0123456789abcdef".repeat(2500) + "\n", monitor(c, "big 40000"));
        }
    }

    @Test
    void continueAndStepMayGiveAnAddress() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            assertEquals("OK", c.request("Z0,100014,1"));
            assertTrue(c.request("c100011").contains("10:1400100000000000;"));
            assertEquals(1, h.target.register(Register.RAX));
            assertTrue(c.request("S05;100011").contains("10:1400100000000000;"));
            assertEquals(2, h.target.register(Register.RAX));
            assertFalse(h.target.killed());
        }
    }
}
