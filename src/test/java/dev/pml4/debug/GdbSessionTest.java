package dev.pml4.debug;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pml4.debug.gdb.GdbServer;
import dev.pml4.debug.gdb.GdbServer.Config;
import dev.pml4.debug.gdb.GdbServer.OnDisconnect;
import dev.pml4.debug.gdb.GdbServer.Outcome;

import java.net.InetAddress;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

/** How a session starts and ends: ports, kill, detach, disconnects, Ctrl-C, close, and who calls the target. */
class GdbSessionTest {

    /** A program that never ends by itself: jmp $. */
    static FakeTarget looping() {
        FakeTarget t = FakeTarget.standard();
        t.poke(FakeTarget.ENTRY, FakeTarget.bytes("ebfe"));
        return t;
    }

    @Test
    void defaultsAreLoopbackOnGdbsUsualPort() {
        Config d = Config.defaults();
        assertEquals(InetAddress.getLoopbackAddress(), d.address());
        assertEquals(1234, d.port());
        assertEquals(OnDisconnect.CONTINUE, d.onDisconnect());
        assertThrows(IllegalArgumentException.class, () -> d.withPort(65536));
        assertThrows(IllegalArgumentException.class, () -> d.withPort(-1));
    }

    @Test
    void portZeroListensOnAnEphemeralLoopbackPort() throws Exception {
        try (Harness h = new Harness()) {
            assertTrue(h.server.port() > 0);
            assertTrue(h.server.address().getAddress().isLoopbackAddress());
        }
    }

    @Test
    void aTakenPortIsAnIOExceptionAtListen() throws Exception {
        try (Harness h = new Harness()) {
            assertThrows(java.io.IOException.class,
                    () -> GdbServer.listen(new FakeTarget(), Config.defaults().withPort(h.server.port())));
        }
    }

    @Test
    void killEndsTheRunAndTheConnection() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            c.send("k");
            assertTrue(c.closedByStub());
            assertInstanceOf(Outcome.Killed.class, h.outcome());
            assertTrue(h.target.killed());
        }
    }

    @Test
    void detachForgetsBreakpointsAndLetsTheRunFinish() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            assertEquals("OK", c.request("Z0,100010,1"));
            assertEquals("OK", c.request("Z2,2000,8"));
            c.exchange("qRcmd," + RspClient.hex("catch ud"));
            assertEquals("OK", c.request("D"));
            assertTrue(c.closedByStub());
            assertEquals(new Outcome.Exited(0xf0, "the guest halted with interrupts off at RIP 0x100103"), h.outcome());
            assertEquals(Set.of(), h.target.breakpoints());
            assertEquals(0, h.target.watchpointCount());
            assertEquals(Set.of(), h.target.caught());
            assertFalse(h.target.killed());
        }
    }

    @Test
    void detachWithAPidToo() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            assertEquals("OK", c.request("D;1"));
            assertInstanceOf(Outcome.Exited.class, h.outcome());
        }
    }

    @Test
    void aDisconnectUnderContinueLetsTheRunFinish() throws Exception {
        try (Harness h = new Harness(FakeTarget.standard(), OnDisconnect.CONTINUE)) {
            RspClient c = h.connect();
            assertEquals("OK", c.request("Z0,100010,1"));
            c.close();
            assertEquals(0xf0, ((Outcome.Exited) h.outcome()).status());
            assertFalse(h.target.killed());
            assertTrue(h.log.contains("gdb went away; the run goes on"), h.log.toString());
        }
    }

    @Test
    void aDisconnectUnderKillEndsTheRun() throws Exception {
        try (Harness h = new Harness(FakeTarget.standard(), OnDisconnect.KILL)) {
            RspClient c = h.connect();
            c.close();
            assertInstanceOf(Outcome.Killed.class, h.outcome());
            assertTrue(h.target.killed());
        }
    }

    @Test
    void aDisconnectWhileRunningUnderKillInterruptsAndKills() throws Exception {
        try (Harness h = new Harness(looping(), OnDisconnect.KILL)) {
            RspClient c = h.connect();
            c.send("c");
            h.awaitRunning();
            c.socket.setSoLinger(true, 0); // a reset, not a goodbye
            c.close();
            assertInstanceOf(Outcome.Killed.class, h.outcome());
            assertTrue(h.target.calls.contains("interrupt"));
            assertTrue(h.target.killed());
        }
    }

    @Test
    void aDisconnectWhileRunningUnderContinueLetsItRun() throws Exception {
        try (Harness h = new Harness(looping(), OnDisconnect.CONTINUE)) {
            RspClient c = h.connect();
            assertEquals("OK", c.request("Z0,100010,1"));
            c.send("c");
            h.awaitRunning();
            c.close();
            Thread.sleep(300);
            assertFalse(h.outcome.isDone());
            assertFalse(h.target.killed());
            // jmp $ becomes jmp 0x100010: the breakpoint there stops the guest with nobody to
            // tell, so the stub forgets its breakpoints and resumes, and the program runs to its end.
            h.target.poke(FakeTarget.ENTRY, FakeTarget.bytes("eb0e"));
            assertEquals(0xf0, ((Outcome.Exited) h.outcome()).status());
            assertEquals(Set.of(), h.target.breakpoints());
            assertTrue(h.target.calls.contains("removeBreakpoint 0x100010"));
        }
    }

    @Test
    void ctrlCInterruptsARunningGuest() throws Exception {
        try (Harness h = new Harness(looping())) {
            RspClient c = h.connect();
            for (int i = 0; i < 3; i++) {
                c.send("c");
                h.awaitRunning();
                c.sendRaw(new byte[] {3});
                assertEquals("T0206:0000000000000000;07:f07f000000000000;10:0000100000000000;thread:1;", c.readPacket());
            }
            assertEquals("T0206:0000000000000000;07:f07f000000000000;10:0000100000000000;thread:1;", c.request("?"));
            // After Ctrl-C the guest can be stepped as usual.
            assertEquals("T0506:0000000000000000;07:f07f000000000000;10:0000100000000000;thread:1;", c.request("s"));
        }
    }

    @Test
    void packetsSentWhileRunningWaitTheirTurnUpToALimit() throws Exception {
        try (Harness h = new Harness(looping())) {
            RspClient c = h.connect();
            c.startNoAck();
            c.sendRaw(RspClient.frame("c"));
            h.awaitRunning();
            c.sendRaw(RspClient.frame("qC").repeat(1000));
            c.sendRaw(new byte[] {3});
            assertTrue(c.readPacket().startsWith("T02"));
            for (int i = 0; i < 64; i++) {
                assertEquals("QC1", c.readPacket());
            }
            c.sendRaw(RspClient.frame("qfThreadInfo"));
            assertEquals("m1", c.readPacket());
        }
    }

    @Test
    void theRunEndingWhileAttachedIsTheOutcome() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            c.exchange("c");
            c.close();
            assertEquals(0xf0, ((Outcome.Exited) h.outcome()).status());
            assertFalse(h.target.killed());
        }
    }

    @Test
    void killAfterTheRunEndedReportsTheEnd() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            c.exchange("c");
            c.send("k");
            assertTrue(c.closedByStub());
            assertEquals(0xf0, ((Outcome.Exited) h.outcome()).status());
            assertFalse(h.target.killed());
        }
    }

    @Test
    void oneClientAtATime() throws Exception {
        try (Harness h = new Harness()) {
            RspClient first = h.connect();
            assertEquals("QC1", first.request("qC"));
            try (RspClient second = new RspClient(h.server.port())) {
                assertTrue(second.closedByStub());
            }
            assertEquals("QC1", first.request("qC"));
            assertTrue(h.log.stream().anyMatch(l -> l.startsWith("refused a second gdb")), h.log.toString());
        }
    }

    @Test
    void closeWhileWaitingForGdb() throws Exception {
        try (Harness h = new Harness()) {
            h.server.close();
            assertInstanceOf(Outcome.Closed.class, h.outcome());
            assertThrows(IllegalStateException.class, h.server::serve);
        }
    }

    @Test
    void closeWhileTheGuestRunsInterruptsIt() throws Exception {
        try (Harness h = new Harness(looping())) {
            RspClient c = h.connect();
            c.send("c");
            h.awaitRunning();
            h.server.close();
            assertInstanceOf(Outcome.Closed.class, h.outcome());
            assertTrue(h.target.calls.contains("interrupt"));
            assertFalse(h.target.killed());
        }
    }

    @Test
    void everyTargetCallButInterruptComesFromTheServingThread() throws Exception {
        try (Harness h = new Harness(looping())) {
            RspClient c = h.connect();
            c.request("g");
            c.request("m1000,8");
            c.request("Z0,100010,1");
            c.send("c");
            h.awaitRunning();
            c.sendRaw(new byte[] {3});
            c.readPacket();
            c.exchange("qRcmd," + RspClient.hex("walk 0x1000"));
            c.send("k");
            h.outcome();
            assertEquals(Set.of(h.owner), h.target.callers);
            assertTrue(h.target.calls.contains("interrupt"));
        }
    }

    @Test
    void aTargetThatThrowsGetsErrorRepliesAndTheSessionGoesOn() throws Exception {
        DebugTarget broken = (DebugTarget) java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {DebugTarget.class}, (proxy, method, args) -> {
                    if (method.getName().equals("interrupt")) {
                        return null;
                    }
                    throw new IllegalStateException("broken " + method.getName());
                });
        List<String> log = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        try (GdbServer server = GdbServer.listen(broken, Config.defaults().withPort(0).withLog(log::add))) {
            java.util.concurrent.CompletableFuture<Outcome> outcome = new java.util.concurrent.CompletableFuture<>();
            Thread.ofPlatform().daemon().start(() -> outcome.complete(server.serve()));
            try (RspClient c = new RspClient(server.port())) {
                assertEquals("T05thread:1;", c.request("?"));
                for (String p : List.of("g", "p10", "P10=0000000000000000", "m1000,8", "M1000,1:00", "X1000,1:a",
                        "Z0,1,1", "Z2,1,1")) {
                    assertEquals("E02", c.request(p), p);
                }
                assertEquals("OK", c.request("z0,1,1")); // never inserted: nothing to ask the target
                assertEquals(List.of("O" + RspClient.hex("pml4: the target failed: java.lang.IllegalStateException: broken resume\n"), "E02"),
                        c.exchange("c"));
                assertEquals("error: broken monitor\n", GdbCommandsTest.monitor(c, "walk 1"));
                assertEquals("error: broken catchExceptions\n", GdbCommandsTest.monitor(c, "catch pf"));
                assertEquals("QC1", c.request("qC"));
                c.send("k"); // kill throws too: the session still ends
            }
            assertInstanceOf(Outcome.Killed.class, outcome.get(10, java.util.concurrent.TimeUnit.SECONDS));
        }
    }
}
