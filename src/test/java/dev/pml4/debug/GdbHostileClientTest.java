package dev.pml4.debug;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pml4.debug.gdb.GdbServer.OnDisconnect;
import dev.pml4.debug.gdb.GdbServer.Outcome;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * Clients that are not gdb: random bytes, random packets, floods, abrupt goodbyes. The stub must
 * answer or drop, keep serving, and end its session the way the configuration says. Every loop
 * here is bounded and seeded.
 */
class GdbHostileClientTest {

    @Test
    void randomNoiseIsSkippedAndTheNextPacketAnswered() throws Exception {
        Random r = new Random(1);
        byte[] noise = new byte[256 * 1024];
        r.nextBytes(noise);
        for (int i = 0; i < noise.length; i++) {
            if (noise[i] == '$' || noise[i] == 3) {
                noise[i] = '#'; // no packet can start, and no Ctrl-C: everything here is noise, '+' or '-'
            }
        }
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            c.sendRaw(noise);
            c.sendRaw("xx"); // ends a trailer the noise may have opened
            c.sendRaw(RspClient.frame("qC"));
            // '-' in the noise asks for a retransmission of nothing: no reply, and then our answer.
            assertEquals("QC1", c.readPacket());
            assertEquals("m1", c.request("qfThreadInfo"));
        }
    }

    /**
     * Packets with good framing whose contents are valid requests, mutated at random: every one is
     * answered, none ends the session, and nothing in the stub throws.
     */
    @Test
    void mutatedPacketsAreAllAnswered() throws Exception {
        Random r = new Random(2);
        String alphabet = "?gGpPmMXZzHTqQv0123456789abcdefABCDEF,:;=-}xX+ \u0000\u00ff";
        String[] valid = {"m1000,8", "m100000,20", "M2000,4:deadbeef", "X2000,2:ab", "p10", "p2c", "P10=0000100000000000",
                "P2c=0090000000000000", "Z0,100010,1", "z0,100010,1", "Z1,100011,1", "z1,100011,1", "Z2,2000,8", "z2,2000,8",
                "Z3,3000,4", "z3,3000,4", "Hg0", "Hc-1", "T1", "g", "qC", "?", "vCont?", "qfThreadInfo", "qAttached",
                "qXfer:features:read:target.xml:0,100", "qRcmd," + RspClient.hex("walk 0x1000"),
                "qRcmd," + RspClient.hex("catch pf"), "qSupported:swbreak+;hwbreak+"};
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            c.startNoAck();
            java.util.Map<String, Integer> kinds = new java.util.TreeMap<>();
            for (int i = 0; i < 5000; i++) {
                StringBuilder p = new StringBuilder(valid[r.nextInt(valid.length)]);
                int mutations = r.nextInt(4);
                for (int m = 0; m < mutations && !p.isEmpty(); m++) {
                    int at = r.nextInt(p.length());
                    char ch = alphabet.charAt(r.nextInt(alphabet.length()));
                    switch (r.nextInt(5)) {
                        case 0 -> p.setCharAt(at, ch);
                        case 1 -> p.insert(at, ch);
                        case 2 -> p.deleteCharAt(at);
                        case 3 -> p.setLength(at);
                        default -> p.insert(at, p.substring(at, Math.min(p.length(), at + 1 + r.nextInt(20))).repeat(1 + r.nextInt(30)));
                    }
                }
                String packet = p.toString();
                // Not kill or detach, which end the session, nor resume, which would run the
                // program to its end and leave nothing to poke at (resuming has its own tests).
                if (packet.isEmpty() || "kDcsCS".indexOf(packet.charAt(0)) >= 0 || packet.startsWith("vCont;")
                        || packet.contains("$") || packet.contains("#")) {
                    continue;
                }
                c.sendRaw(RspClient.frame(packet));
                String reply = c.readPacket();
                while (reply.startsWith("O") && !reply.equals("OK")) { // monitor output comes first
                    reply = c.readPacket();
                }
                kinds.merge(reply.length() <= 3 ? reply : "data", 1, Integer::sum);
            }
            c.sendRaw(RspClient.frame("qC"));
            assertEquals("QC1", c.readPacket());
            // The fuzz reached past the parser: many requests worked, many were malformed.
            assertTrue(kinds.getOrDefault("OK", 0) > 300 && kinds.getOrDefault("E01", 0) > 300
                    && kinds.getOrDefault("data", 0) > 300, kinds.toString());
            assertFalse(h.target.killed());
            // Refusals by the target are fine; an exception means the stub itself tripped.
            assertFalse(h.log.stream().anyMatch(l -> l.contains("Exception")), h.log.toString());
        }
    }

    @Test
    void aFloodOfRequestsWithoutReadingThenAResetEndsTheSession() throws Exception {
        try (Harness h = new Harness(FakeTarget.standard(), OnDisconnect.KILL)) {
            RspClient c = h.connect();
            byte[] request = RspClient.frame("m1000,1ff0").getBytes(StandardCharsets.ISO_8859_1);
            ByteArrayOutputStream flood = new ByteArrayOutputStream();
            for (int i = 0; i < 200; i++) {
                flood.write(request);
            }
            // The stub's replies (8 KiB each) fill the socket buffers: it blocks writing, we stop reading.
            for (int i = 0; i < 10; i++) {
                c.sendRaw(flood.toByteArray());
            }
            c.socket.setSoLinger(true, 0);
            c.close();
            assertInstanceOf(Outcome.Killed.class, h.outcome());
        }
    }

    @Test
    void aClientThatLeavesMidPacket() throws Exception {
        try (Harness h = new Harness(FakeTarget.standard(), OnDisconnect.CONTINUE)) {
            RspClient c = h.connect();
            c.sendRaw("$M1000,4:dead");
            c.close();
            assertEquals(0xf0, ((Outcome.Exited) h.outcome()).status());
            assertEquals(0x1122334455667788L, h.target.peek64(0x1000)); // the half packet wrote nothing
        }
    }

    @Test
    void aClientThatConnectsAndLeavesAtOnce() throws Exception {
        try (Harness h = new Harness(FakeTarget.standard(), OnDisconnect.KILL)) {
            h.connect().close();
            assertInstanceOf(Outcome.Killed.class, h.outcome());
        }
    }

    @Test
    void hugeLengthsAreRefusedOrCapped() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            assertEquals("E01", c.request("M1000,7fffffff:00"));
            assertEquals("E01", c.request("X1000,ffffffffffffffff:a"));
            assertEquals("E01", c.request("Z2,1000,ffffffffffffffff"));
            assertTrue(c.request("m0,ffffffffffffffff").equals("E14")); // capped, then unmapped at 0
            String xml = c.request("qXfer:features:read:target.xml:0,ffffffffffffffff");
            assertTrue(xml.startsWith("l<?xml"), xml.substring(0, 20));
            assertEquals("QC1", c.request("qC"));
        }
    }

    @Test
    void ctrlCFloodWhileStoppedIsHarmless() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            byte[] ctrlC = new byte[10_000];
            java.util.Arrays.fill(ctrlC, (byte) 3);
            c.sendRaw(ctrlC);
            assertEquals("QC1", c.request("qC"));
            assertFalse(h.target.calls.contains("interrupt"));
            // ... and a stray one does not stop the next run early.
            assertTrue(c.exchange("c").getLast().startsWith("W"));
        }
    }
}
