package dev.pml4.debug;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pml4.debug.gdb.GdbServer.Outcome;

import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Packet framing, byte for byte over a loopback socket: what the stub acknowledges, what it
 * answers, and that nothing a client sends, however broken, stops it from answering the next
 * packet or from ending the session cleanly.
 */
class GdbFramingTest {
    static final int PACKET_SIZE = 0x4000;

    static String framed(String payload) {
        return RspClient.frame(payload);
    }

    static Stream<Arguments> cases() {
        String qC = framed("qC");
        return Stream.of(
                Arguments.of("a packet is acked and answered", qC, "+", List.of("QC1")),
                Arguments.of("the empty packet gets the empty reply", "$#00", "+", List.of("")),
                Arguments.of("two packets back to back", framed("qfThreadInfo") + qC, "++", List.of("m1", "QC1")),
                Arguments.of("checksum digits in upper case", "$qC#B4", "+", List.of("QC1")),
                Arguments.of("a wrong checksum is nacked, not answered", "$qC#b5", "-", List.of()),
                Arguments.of("a checksum that is not hex is nacked", "$qC#zz", "-", List.of()),
                Arguments.of("a checksum cut short by the end of the stream", "$qC#b", "", List.of()),
                Arguments.of("a packet without a trailer", "$qC", "", List.of()),
                Arguments.of("a lone '$'", "$", "", List.of()),
                Arguments.of("acks and nacks with nothing sent yet", "+-+-", "", List.of()),
                Arguments.of("Ctrl-C while stopped is ignored", "\u0003", "", List.of()),
                Arguments.of("noise before a packet is skipped", "hello\r\n\u0000\u00ff}*#" + qC, "+", List.of("QC1")),
                Arguments.of("a '$' inside a packet starts it over", "$garbage$m" + qC, "+", List.of("QC1")),
                Arguments.of("a trailer without a packet is noise", "#00" + qC, "+", List.of("QC1")),
                Arguments.of("an unknown command gets the empty reply", framed("\u00ff\u0001zz"), "+", List.of("")),
                Arguments.of("a packet of exactly PacketSize", framed("M01000,1ffa:" + "ab".repeat(0x1ffa)), "+", List.of("OK")),
                Arguments.of("a packet one over PacketSize", framed("q" + "x".repeat(PACKET_SIZE)), "+", List.of("E01")),
                Arguments.of("a megabyte with a bad checksum", "$" + "m".repeat(1 << 20) + "#01", "-", List.of()),
                Arguments.of("a megabyte with a good checksum", framed("m".repeat(1 << 20)), "+", List.of("E01")),
                Arguments.of("an oversized packet, then a good one", framed("q".repeat(PACKET_SIZE + 1)) + qC, "++", List.of("E01", "QC1")),
                Arguments.of("a bad packet, then a good one", "$qC#00" + qC, "-+", List.of("QC1")),
                Arguments.of("binary zeros and high bytes inside a packet", framed("\u0000\u0080\u00ff"), "+", List.of("")),
                Arguments.of("nothing at all", "", "", List.of()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void framing(String name, String input, String acks, List<String> packets) throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            c.sendRaw(input);
            c.socket.shutdownOutput();
            RspClient.Transcript t = c.readToEnd();
            assertEquals(acks, t.acks(), "acks");
            assertEquals(packets, t.packets(), "packets");
            // However the input ended, the session ends cleanly and the run goes on to its end.
            assertInstanceOf(Outcome.Exited.class, h.outcome());
        }
    }

    @Test
    void aNackResendsTheLastPacket() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            assertEquals("QC1", c.request("qC"));
            c.sendRaw("-");
            assertEquals("QC1", c.readPacket());
            c.sendRaw("-");
            assertEquals("QC1", c.readPacket());
            assertEquals("m1", c.request("qfThreadInfo"));
        }
    }

    @Test
    void endlessNacksGetAFewRetransmissionsAndThenSilence() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            assertEquals("QC1", c.request("qC"));
            c.sendRaw("-".repeat(1000));
            for (int i = 0; i < 8; i++) {
                assertEquals("QC1", c.readPacket());
            }
            assertTrue(c.silentFor(300));
            assertEquals("m1", c.request("qfThreadInfo"));
        }
    }

    @Test
    void noAckModeStopsAcksBothWays() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            assertEquals("PacketSize=4000;qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+;vContSupported+",
                    c.request("qSupported:multiprocess+;swbreak+;hwbreak+;vContSupported+"));
            c.startNoAck();
            c.sendRaw("+"); // gdb acks the OK; the stub must not mind
            // No '+' precedes the reply now, and a '-' resends nothing.
            c.sendRaw(framed("qC"));
            assertEquals("QC1", c.readPacket());
            c.sendRaw("-");
            assertTrue(c.silentFor(200));
            // A bad checksum cannot be nacked any more: it is answered E01.
            c.sendRaw("$qC#00");
            assertEquals("E01", c.readPacket());
            c.sendRaw(framed("qfThreadInfo"));
            assertEquals("m1", c.readPacket());
        }
    }

    @Test
    void onlyTheExactPacketSwitchesAckModeOff() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            assertEquals("", c.request("QStartNoAckModeX"));
            assertEquals("QC1", c.request("qC")); // still acked: request() checks the '+'
        }
    }
}
