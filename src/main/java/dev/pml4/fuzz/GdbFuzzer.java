package dev.pml4.fuzz;

import dev.pml4.debug.MachineDebugTarget;
import dev.pml4.debug.gdb.GdbServer;
import dev.pml4.machine.KernelImages;
import dev.pml4.machine.Machine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.OptionalLong;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Random and mutated gdb remote packets against the stub of a real machine: sessions of
 * {@link #PACKETS_PER_SESSION} packets, each on a fresh machine running a guest kernel and a
 * {@link GdbServer} on a free loopback port. Every packet must be answered or dropped and the stub
 * must keep serving; a session must end, once the client goes, the way the server says it does
 * (the run's documented status, or killed), never in an exception, a failed target, or a hang.
 */
public final class GdbFuzzer {
    static final int PACKETS_PER_SESSION = 50;
    private static final String[] REQUESTS = {"?", "g", "qC", "qfThreadInfo", "qsThreadInfo", "qAttached", "vCont?",
            "qSupported:swbreak+;hwbreak+;xmlRegisters=i386", "qXfer:features:read:target.xml:%x,%x", "m%x,%x",
            "M%x,%x:%s", "X%x,%x:%s", "p%x", "P%x=%s", "G%s", "Z0,%x,1", "z0,%x,1", "Z1,%x,1", "z1,%x,1", "Z2,%x,%x",
            "z2,%x,%x", "Z3,%x,%x", "Z4,%x,%x", "Hg%x", "Hc%x", "T%x", "s", "c", "vCont;s", "vCont;c", "qRcmd,%s",
            "qOffsets", "qSymbol::", "vMustReplyEmpty", "qTStatus", "D", "k", "!", "vKill;1"};
    private static final String[] MONITOR = {"walk 0x100000", "walk 0xffffffffffffffff", "pt", "tlb", "idt",
            "catch pf", "catch 300", "regs", "walk", "help", "walk -1", "pt 0x1000 9", ""};
    private static final String ALPHABET = "?gGpPmMXZzHTqQvcsk0123456789abcdefABCDEF,:;=-}#$*+ \u0000\u00ff";

    private final long seed;
    private final Path kernel;
    private final Watchdog watchdog;

    public GdbFuzzer(long seed, Path kernel, Watchdog watchdog) {
        this.seed = seed;
        this.kernel = kernel;
        this.watchdog = watchdog;
    }

    public FuzzTally run(long packets) throws Exception {
        FuzzTally tally = new FuzzTally("gdb (seed " + seed + ")");
        Random r = new Random(seed);
        long sent = 0;
        for (int session = 0; sent < packets; session++) {
            sent += session(session, (int) Math.min(PACKETS_PER_SESSION, packets - sent), r, tally);
        }
        return tally;
    }

    /** One machine, one server, one client; returns the packets sent. */
    private int session(int number, int packets, Random r, FuzzTally tally) throws Exception {
        String name = "session " + number + " (seed " + seed + ")";
        CompletableFuture<Integer> port = new CompletableFuture<>();
        AtomicReference<String> ended = new AtomicReference<>();
        Thread owner = Thread.ofPlatform().name("pml4-fuzz-gdb").start(() -> {
            try (Machine machine = new Machine(Machine.Config.defaults(OutputStream.nullOutputStream())
                    .withInstructionLimit(1_000_000).withWarnings(w -> { }))) {
                machine.boot(KernelImages.read(kernel, OptionalLong.empty(), OptionalLong.empty()), null);
                var config = GdbServer.Config.defaults().withPort(0).withOnDisconnect(GdbServer.OnDisconnect.KILL);
                try (GdbServer server = GdbServer.listen(new MachineDebugTarget(machine), config)) {
                    port.complete(server.port());
                    ended.set(switch (server.serve()) {
                        case GdbServer.Outcome.Exited e -> ImageFuzzer.documented(e.status()) ? "ok" : "status " + e.status() + ": " + e.description();
                        case GdbServer.Outcome.Killed k -> "ok";
                        case GdbServer.Outcome.Closed c -> "closed: " + c.why();
                    });
                }
            } catch (Throwable t) {
                port.completeExceptionally(t);
                StringWriter trace = new StringWriter();
                t.printStackTrace(new PrintWriter(trace));
                ended.set("exception: " + trace);
            }
        });
        int sent = 0;
        watchdog.start(name);
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port.get(10, TimeUnit.SECONDS))) {
            socket.setSoTimeout(200);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            out.write(frame("QStartNoAckMode"));
            reply(in);
            for (; sent < packets; sent++) {
                byte[] packet = packet(r);
                try {
                    out.write(packet);
                    out.flush();
                } catch (IOException e) {
                    tally.count("session ended by the stub");
                    sent++;
                    break;
                }
                String reply = reply(in);
                tally.count(reply);
                if (reply.equals("connection closed")) {
                    sent++;
                    break;
                }
            }
        } catch (IOException e) {
            // the stub closed the connection under us (after k, D or the run's end): the session is over
        } finally {
            owner.join(TimeUnit.SECONDS.toMillis(20));
            watchdog.stop();
        }
        if (owner.isAlive()) {
            tally.fail("hang", name + ": the stub did not end its run after the client went");
        } else if (!"ok".equals(ended.get())) {
            tally.fail("stub failed", name + ": " + ended.get());
        }
        return Math.max(sent, 1);
    }

    /** A request from the corpus, with random numbers; or mutated; or raw noise; or broken framing. */
    static byte[] packet(Random r) {
        String request = request(r);
        int choice = r.nextInt(10);
        if (choice < 4) {
            return frame(request);
        }
        if (choice < 8) {
            StringBuilder b = new StringBuilder(request);
            for (int m = 1 + r.nextInt(4); m > 0; m--) {
                int at = b.isEmpty() ? 0 : r.nextInt(b.length() + 1);
                char c = ALPHABET.charAt(r.nextInt(ALPHABET.length()));
                switch (r.nextInt(3)) {
                    case 0 -> b.insert(at, c);
                    case 1 -> { if (at < b.length()) b.setCharAt(at, c); }
                    default -> { if (at < b.length()) b.deleteCharAt(at); }
                }
            }
            return frame(b.toString());
        }
        if (choice == 8) {
            byte[] noise = new byte[1 + r.nextInt(200)];
            r.nextBytes(noise);
            return noise;
        }
        return switch (r.nextInt(4)) {
            case 0 -> ("$" + request + "#zz").getBytes(StandardCharsets.ISO_8859_1); // bad checksum
            case 1 -> ("$" + request).getBytes(StandardCharsets.ISO_8859_1);         // no trailer yet
            case 2 -> frame("m0," + "f".repeat(1 + r.nextInt(40)));                    // huge numbers
            default -> frame("X100000," + Integer.toHexString(0x4000) + ":" + "a".repeat(r.nextInt(70_000)));
        };
    }

    private static String request(Random r) {
        String template = REQUESTS[r.nextInt(REQUESTS.length)];
        Object[] args = new Object[4];
        for (int i = 0; i < args.length; i++) {
            args[i] = number(r);
        }
        if (template.startsWith("qRcmd")) {
            args[0] = HexFormat.of().formatHex(MONITOR[r.nextInt(MONITOR.length)].getBytes(StandardCharsets.ISO_8859_1));
        } else if (template.contains("%s")) {
            byte[] data = new byte[r.nextInt(64)];
            r.nextBytes(data);
            String hex = HexFormat.of().formatHex(data);
            long count = template.startsWith("P") || template.startsWith("G") ? 0 : data.length;
            return template.startsWith("P") ? String.format(template, number(r), hex)
                    : template.startsWith("G") ? String.format(template, hex)
                    : String.format(template, number(r), r.nextBoolean() ? count : number(r), hex);
        }
        return String.format(template, args);
    }

    private static long number(Random r) {
        return switch (r.nextInt(5)) {
            case 0 -> r.nextInt(64);
            case 1 -> 0x100000 + r.nextInt(0x2000);
            case 2 -> r.nextLong();
            case 3 -> 0x1000L * r.nextInt(1 << 16);
            default -> -1L;
        };
    }

    static byte[] frame(String data) {
        byte[] body = data.getBytes(StandardCharsets.ISO_8859_1);
        int sum = 0;
        for (byte b : body) {
            sum += b & 0xff;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(body.length + 4);
        out.write('$');
        out.writeBytes(body);
        out.writeBytes(String.format("#%02x", sum & 0xff).getBytes(StandardCharsets.ISO_8859_1));
        return out.toByteArray();
    }

    /** The kind of the next reply packet, or "no reply" after a short wait. */
    private static String reply(InputStream in) throws IOException {
        StringBuilder body = new StringBuilder();
        boolean inPacket = false;
        int trailer = -1;
        try {
            while (true) {
                int c = in.read();
                if (c < 0) {
                    return "connection closed";
                }
                if (!inPacket) {
                    inPacket = c == '$';
                    continue;
                }
                if (trailer >= 0) {
                    if (++trailer == 2) {
                        return kind(body.toString());
                    }
                } else if (c == '#') {
                    trailer = 0;
                } else if (body.length() < 64) {
                    body.append((char) c);
                }
            }
        } catch (SocketTimeoutException e) {
            return "no reply";
        }
    }

    private static String kind(String body) {
        if (body.isEmpty()) {
            return "reply: empty (unsupported)";
        }
        if (body.equals("OK")) {
            return "reply: OK";
        }
        return switch (body.charAt(0)) {
            case 'E' -> "reply: error";
            case 'S', 'T' -> "reply: stopped";
            case 'W', 'X' -> "reply: run ended";
            case 'O' -> body.length() > 1 && body.charAt(1) != 'K' ? "reply: console output" : "reply: data";
            default -> "reply: data";
        };
    }
}
