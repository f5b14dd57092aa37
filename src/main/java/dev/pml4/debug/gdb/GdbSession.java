package dev.pml4.debug.gdb;

import dev.pml4.debug.DebugTarget;
import dev.pml4.debug.DebugTargetException;
import dev.pml4.debug.Register;
import dev.pml4.debug.StopEvent;
import dev.pml4.debug.WatchKind;
import dev.pml4.debug.gdb.GdbServer.OnDisconnect;
import dev.pml4.debug.gdb.GdbServer.Outcome;
import dev.pml4.debug.gdb.PacketReader.Frame;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * One gdb connection: a reader thread that frames the input, acknowledges packets and forwards
 * Ctrl-C, and the command loop on the owner thread that answers packets and runs the target.
 *
 * <p>Error replies: {@code E01} a malformed packet (bad hex, a missing field, a length out of
 * range, a bad checksum in no-ack mode, an oversized packet); {@code E02} the target refused or
 * failed; {@code E14} (EFAULT) memory that is not mapped. An empty reply means "not supported".
 */
final class GdbSession {

    /** The largest packet gdb may send us, which we announce; replies stay under it too. */
    static final int PACKET_SIZE = 0x4000;
    /** The most bytes one {@code m}, {@code M} or {@code X} moves: its hex fits a packet. */
    static final int MAX_TRANSFER = (PACKET_SIZE - 32) / 2;
    /** Packets that may wait while the target runs; more are dropped (gdb sends none in all-stop). */
    static final int QUEUE_LIMIT = 64;
    /** Consecutive retransmissions of one packet on gdb's '-'. */
    static final int RESEND_LIMIT = 8;

    static final String E_MALFORMED = "E01";
    static final String E_TARGET = "E02";
    static final String E_FAULT = "E14";

    /** The only thread gdb sees. */
    private static final String THREAD = "1";

    private enum BreakType { SOFTWARE, HARDWARE }

    private record Watch(long address, int length, WatchKind kind) {}

    /** What the command loop does after a reply. */
    private enum Ending { NONE, KILL, DETACH }

    private final Socket socket;
    private final DebugTarget target;
    private final OnDisconnect onDisconnect;
    private final Consumer<String> log;
    private final PacketReader reader;
    private final PacketWriter writer;
    private final LinkedBlockingQueue<Frame> queue = new LinkedBlockingQueue<>();

    private volatile boolean running;
    private volatile boolean closed;
    private volatile long dropped;

    // Owner-thread state.
    private final Map<Long, EnumSet<BreakType>> breakpoints = new LinkedHashMap<>();
    private final Set<Watch> watchpoints = new LinkedHashSet<>();
    private final TreeSet<Integer> caught = new TreeSet<>();
    /** monitor catch stale is on (the TLB checker stops before a stale use). */
    private boolean catchingStale;
    private StopEvent lastStop;
    private StopEvent.Exited exited;
    private boolean gdbSwbreak;
    private boolean gdbHwbreak;
    private Ending ending = Ending.NONE;
    private long malformed;
    private int notes;
    private static final int NOTE_LIMIT = 50;

    GdbSession(Socket socket, DebugTarget target, OnDisconnect onDisconnect, Consumer<String> log) throws IOException {
        this.socket = socket;
        this.target = target;
        this.onDisconnect = onDisconnect;
        this.log = log;
        socket.setTcpNoDelay(true);
        this.reader = new PacketReader(new BufferedInputStream(socket.getInputStream()), PACKET_SIZE);
        this.writer = new PacketWriter(socket.getOutputStream());
    }

    /** From any thread: ends the session; a running target is interrupted. */
    void close() {
        closed = true;
        closeSocket();
        if (running) {
            target.interrupt();
        }
        queue.add(new Frame.End());
    }

    // ---- the reader thread ----------------------------------------------------------------------

    private void readLoop() {
        try {
            while (true) {
                Frame f = reader.next();
                switch (f) {
                    case Frame.Ack a -> { }
                    case Frame.Nack n -> writer.resend(RESEND_LIMIT);
                    case Frame.Interrupt i -> {
                        if (running) {
                            target.interrupt();
                        }
                    }
                    case Frame.BadChecksum b -> {
                        if (writer.isNoAckMode()) {
                            enqueue(f);
                        } else {
                            writer.nack();
                        }
                    }
                    case Frame.Oversized o -> {
                        writer.ack();
                        enqueue(f);
                    }
                    case Frame.Packet p -> {
                        writer.ack();
                        if (p.text().equals("QStartNoAckMode")) {
                            writer.noAckMode();
                        }
                        enqueue(f);
                    }
                    case Frame.End e -> {
                        disconnected();
                        return;
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            disconnected();
        }
    }

    private void enqueue(Frame f) {
        if (queue.size() >= QUEUE_LIMIT) {
            dropped++;
            return;
        }
        queue.add(f);
    }

    private void disconnected() {
        if (running && onDisconnect == OnDisconnect.KILL) {
            target.interrupt();
        }
        queue.add(new Frame.End());
    }

    // ---- the command loop (owner thread) --------------------------------------------------------

    Outcome run() {
        Thread readerThread = Thread.ofPlatform().daemon().name("gdb-reader").start(this::readLoop);
        try {
            while (true) {
                Frame f;
                try {
                    f = queue.take();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return new Outcome.Closed("the serving thread was interrupted");
                }
                if (closed) {
                    // Whatever gdb sent before close() stays unanswered: nothing may run now.
                    return new Outcome.Closed("the server was closed");
                }
                switch (f) {
                    case Frame.End e -> {
                        return disconnectedOutcome();
                    }
                    case Frame.BadChecksum b -> {
                        malformed++;
                        send(E_MALFORMED);
                    }
                    case Frame.Oversized o -> {
                        malformed++;
                        send(E_MALFORMED);
                    }
                    case Frame.Packet p -> {
                        String reply = answer(p.payload());
                        if (reply != null) {
                            send(reply);
                        }
                        if (ending == Ending.KILL) {
                            closeSocket();
                            if (exited != null) {
                                return new Outcome.Exited(exited.status(), exited.description());
                            }
                            log.accept("gdb killed the run");
                            return new Outcome.Killed();
                        }
                        if (ending == Ending.DETACH) {
                            log.accept("gdb detached; the run goes on");
                            closeSocket();
                            return runOn();
                        }
                    }
                    default -> { }
                }
            }
        } finally {
            closeSocket();
            readerThread.interrupt();
            if (malformed > 0 || dropped > 0 || reader.noise() > 0) {
                log.accept(String.format("gdb session: %d malformed packets answered E01, %d packets dropped, %d noise bytes skipped",
                        malformed, dropped, reader.noise()));
            }
        }
    }

    private Outcome disconnectedOutcome() {
        if (closed) {
            return new Outcome.Closed("the server was closed");
        }
        if (exited != null) {
            return new Outcome.Exited(exited.status(), exited.description());
        }
        if (onDisconnect == OnDisconnect.KILL) {
            log.accept("gdb went away; the run is killed");
            try {
                target.kill();
            } catch (RuntimeException e) {
                log.accept("killing the target failed: " + e);
            }
            return new Outcome.Killed();
        }
        log.accept("gdb went away; the run goes on");
        return runOn();
    }

    /** After a detach or a disconnect: no more debugging state, the guest runs to its end. */
    private Outcome runOn() {
        try {
            for (Long address : breakpoints.keySet()) {
                target.removeBreakpoint(address);
            }
            breakpoints.clear();
            for (Watch w : watchpoints) {
                target.removeWatchpoint(w.address(), w.length(), w.kind());
            }
            watchpoints.clear();
            if (!caught.isEmpty()) {
                caught.clear();
                target.catchExceptions(Set.of());
            }
            if (catchingStale) {
                catchingStale = false;
                target.catchStaleUses(false);
            }
            if (exited != null) {
                return new Outcome.Exited(exited.status(), exited.description());
            }
            while (!closed) {
                StopEvent e = runTarget(false);
                if (e instanceof StopEvent.Exited x) {
                    return new Outcome.Exited(x.status(), x.description());
                }
                if (e instanceof StopEvent.Interrupted && closed) {
                    break;
                }
            }
            return new Outcome.Closed("the server was closed");
        } catch (RuntimeException e) {
            log.accept("the target failed while running on: " + e);
            return new Outcome.Closed("the target failed: " + e);
        }
    }

    private StopEvent runTarget(boolean step) {
        running = true;
        try {
            return step ? target.step() : target.resume();
        } finally {
            running = false;
        }
    }

    private void send(String payload) {
        try {
            writer.send(payload);
        } catch (IOException e) {
            closeSocket();
        }
    }

    private void sendOutput(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int chunk = (PACKET_SIZE - 16) / 2;
        for (int i = 0; i < bytes.length; i += chunk) {
            send("O" + Hex.encode(bytes, i, Math.min(chunk, bytes.length - i)));
        }
    }

    private void closeSocket() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    // ---- packets --------------------------------------------------------------------------------

    /** The reply to one packet, or null for none. Never throws. */
    String answer(byte[] payload) {
        String text = new String(payload, StandardCharsets.ISO_8859_1);
        try {
            return dispatch(text, payload);
        } catch (MalformedPacketException e) {
            malformed++;
            return E_MALFORMED;
        } catch (DebugTargetException e) {
            note("the target refused \"" + abbreviate(text) + "\": " + e.getMessage());
            return E_TARGET;
        } catch (RuntimeException e) {
            note("the target failed on \"" + abbreviate(text) + "\": " + e);
            return E_TARGET;
        }
    }

    /** Logs per-packet trouble, up to a limit, so that a hostile client cannot flood the log. */
    private void note(String line) {
        if (++notes <= NOTE_LIMIT) {
            log.accept(line);
        } else if (notes == NOTE_LIMIT + 1) {
            log.accept("gdb session: more refusals and failures follow; not logging them");
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    private String dispatch(String p, byte[] raw) throws MalformedPacketException {
        if (p.isEmpty()) {
            return "";
        }
        char c = p.charAt(0);
        String rest = p.substring(1);
        return switch (c) {
            case '?' -> stopReply(lastStop);
            case 'g' -> p.length() == 1 ? readRegisters() : "";
            case 'G' -> writeRegisters(rest);
            case 'p' -> readRegister(rest);
            case 'P' -> writeRegister(rest);
            case 'm' -> readMemory(rest);
            case 'M' -> writeMemory(rest);
            case 'X' -> writeBinary(raw);
            case 'c' -> resume(false, rest.isEmpty() ? null : rest);
            case 's' -> resume(true, rest.isEmpty() ? null : rest);
            case 'C' -> resume(false, addressAfterSignal(rest));
            case 'S' -> resume(true, addressAfterSignal(rest));
            case 'Z' -> insert(rest);
            case 'z' -> remove(rest);
            case 'H' -> setThread(rest);
            case 'T' -> rest.equals(THREAD) ? "OK" : E_MALFORMED;
            case 'k' -> {
                kill();
                yield null;
            }
            case 'D' -> {
                ending = Ending.DETACH;
                yield "OK";
            }
            case 'q' -> query(p);
            case 'Q' -> p.equals("QStartNoAckMode") ? "OK" : "";
            case 'v' -> verbose(p);
            default -> "";
        };
    }

    private void kill() {
        ending = Ending.KILL;
        if (exited == null) {
            target.kill();
        }
    }

    // ---- queries --------------------------------------------------------------------------------

    private String query(String p) throws MalformedPacketException {
        if (p.equals("qSupported") || p.startsWith("qSupported:")) {
            for (String feature : p.substring(p.indexOf(':') + 1).split(";")) {
                if (feature.equals("swbreak+")) {
                    gdbSwbreak = true;
                } else if (feature.equals("hwbreak+")) {
                    gdbHwbreak = true;
                }
            }
            return "PacketSize=" + Integer.toHexString(PACKET_SIZE)
                    + ";qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+;vContSupported+";
        }
        if (p.startsWith("qXfer:features:read:")) {
            return featuresRead(p.substring("qXfer:features:read:".length()));
        }
        if (p.startsWith("qRcmd,")) {
            return monitor(p.substring("qRcmd,".length()));
        }
        return switch (p) {
            case "qC" -> "QC" + THREAD;
            case "qfThreadInfo" -> "m" + THREAD;
            case "qsThreadInfo" -> "l";
            // Attached, not started: quitting gdb detaches and lets the guest run on.
            case "qAttached" -> "1";
            default -> p.startsWith("qAttached:") ? "1" : "";
        };
    }

    /**
     * {@code target.xml:offset,length}. Sends a chunk itself (binary data, escaped) and returns
     * null; past the end, or for an unknown annex, returns the reply text instead.
     */
    private String featuresRead(String args) throws MalformedPacketException {
        int colon = args.indexOf(':');
        if (colon < 0) {
            throw new MalformedPacketException("qXfer without offset and length");
        }
        String annex = args.substring(0, colon);
        String[] range = args.substring(colon + 1).split(",", -1);
        if (range.length != 2) {
            throw new MalformedPacketException("qXfer needs offset,length");
        }
        long offset = Hex.parseUnsigned(range[0]);
        long length = Hex.parseUnsigned(range[1]);
        if (!annex.equals("target.xml")) {
            return "E00";
        }
        byte[] xml = TargetDescription.xml().getBytes(StandardCharsets.UTF_8);
        if (Long.compareUnsigned(offset, xml.length) >= 0) {
            return "l";
        }
        int n = (int) Math.min(Long.compareUnsigned(length, MAX_TRANSFER) > 0 ? MAX_TRANSFER : length, xml.length - offset);
        boolean last = offset + n >= xml.length;
        try {
            writer.sendBinary(last ? "l" : "m", xml, (int) offset, n);
        } catch (IOException e) {
            closeSocket();
        }
        return null;
    }

    // ---- monitor --------------------------------------------------------------------------------

    private String monitor(String hex) throws MalformedPacketException {
        String command = new String(Hex.decode(hex), StandardCharsets.UTF_8).strip();
        String output;
        try {
            output = monitorOutput(command);
        } catch (RuntimeException e) {
            output = "error: " + (e.getMessage() != null ? e.getMessage() : e.toString()) + "\n";
        }
        if (!output.isEmpty() && !output.endsWith("\n")) {
            output += "\n";
        }
        sendOutput(output);
        return "OK";
    }

    private static final String HELP = """
            Commands of pml4's gdb stub:
              monitor catch                 list the exception vectors that stop the guest
              monitor catch VEC...          stop before delivering these (14, 0xe, pf or #PF; all)
              monitor uncatch VEC...|all    stop catching these
              monitor catch stale           stop before a stale TLB entry is used (--check-tlb)
            """;

    private String monitorOutput(String command) {
        String[] words = command.isEmpty() ? new String[0] : command.split("\\s+");
        if (words.length == 0 || words[0].equals("help")) {
            String more = target.monitor(command.isEmpty() ? "help" : command);
            return HELP + (more == null ? "" : more);
        }
        if (words[0].equals("catch") || words[0].equals("uncatch")) {
            return catchCommand(words[0].equals("catch"), List.of(words).subList(1, words.length));
        }
        String out = target.monitor(command);
        return out == null ? "" : out;
    }

    private String catchCommand(boolean add, List<String> args) {
        if (args.isEmpty() && add) {
            return caughtText();
        }
        if (args.isEmpty()) {
            return "usage: monitor uncatch VEC... | all\n";
        }
        TreeSet<Integer> next = new TreeSet<>(caught);
        for (String a : args) {
            if (a.equals("stale")) {
                target.catchStaleUses(add);
                catchingStale = add;
                continue;
            }
            if (a.equals("all")) {
                if (add) {
                    for (int v = 0; v < 32; v++) {
                        next.add(v);
                    }
                } else {
                    next.clear();
                }
                continue;
            }
            if (a.equals("none") && add) {
                next.clear();
                continue;
            }
            int v = ExceptionVectors.parse(a);
            if (v < 0) {
                return "not an exception vector: \"" + a + "\" (0..31, 0x0..0x1f, or a name such as #PF)\n";
            }
            if (add) {
                next.add(v);
            } else {
                next.remove(v);
            }
        }
        target.catchExceptions(Set.copyOf(next));
        caught.clear();
        caught.addAll(next);
        return caughtText();
    }

    private String caughtText() {
        String stale = catchingStale ? "caught: stale TLB entry uses\n" : "";
        if (caught.isEmpty()) {
            return "caught exceptions: none\n" + stale;
        }
        return "caught exceptions: " + caught.stream().map(ExceptionVectors::describe).collect(Collectors.joining(", ")) + "\n" + stale;
    }

    // ---- registers ------------------------------------------------------------------------------

    private void requireAlive() throws MalformedPacketException {
        if (exited != null) {
            throw new DebugTargetException("the run has ended");
        }
    }

    private String readRegisters() throws MalformedPacketException {
        requireAlive();
        StringBuilder sb = new StringBuilder(TargetDescription.REGISTER_BYTES * 2);
        for (TargetDescription.Slot s : TargetDescription.SLOTS) {
            sb.append(encode(s));
        }
        return sb.toString();
    }

    private String encode(TargetDescription.Slot s) {
        if (!s.available()) {
            return "xx".repeat(s.bytes());
        }
        return Hex.littleEndian(target.readRegister(s.register()), s.bytes());
    }

    private String writeRegisters(String hex) throws MalformedPacketException {
        requireAlive();
        if (hex.length() != TargetDescription.REGISTER_BYTES * 2) {
            throw new MalformedPacketException("G needs " + TargetDescription.REGISTER_BYTES * 2 + " hex digits");
        }
        // Parse everything before writing anything, so that a malformed G changes nothing.
        int at = 0;
        Map<TargetDescription.Slot, Long> values = new LinkedHashMap<>();
        for (TargetDescription.Slot s : TargetDescription.SLOTS) {
            String field = hex.substring(at, at + s.bytes() * 2);
            at += s.bytes() * 2;
            if (s.available() && !field.contains("x")) {
                values.put(s, Hex.parseLittleEndian(field, s.bytes()));
            }
        }
        values.forEach(this::writeIfChanged);
        return "OK";
    }

    /** gdb writes back whole register sets; only what changed goes to the machine. */
    private void writeIfChanged(TargetDescription.Slot s, long value) {
        long current = target.readRegister(s.register());
        long mask = s.bytes() >= 8 ? -1L : (1L << (8 * s.bytes())) - 1;
        if ((current & mask) == value) {
            return;
        }
        target.writeRegister(s.register(), (current & ~mask) | value);
    }

    private String readRegister(String args) throws MalformedPacketException {
        requireAlive();
        TargetDescription.Slot s = TargetDescription.slot(Hex.parseUnsigned(args));
        if (s == null) {
            return E_MALFORMED;
        }
        return encode(s);
    }

    private String writeRegister(String args) throws MalformedPacketException {
        requireAlive();
        int eq = args.indexOf('=');
        if (eq < 0) {
            throw new MalformedPacketException("P without '='");
        }
        TargetDescription.Slot s = TargetDescription.slot(Hex.parseUnsigned(args.substring(0, eq)));
        if (s == null) {
            return E_MALFORMED;
        }
        long value = Hex.parseLittleEndian(args.substring(eq + 1), s.bytes());
        if (!s.available()) {
            return E_TARGET;
        }
        writeIfChanged(s, value);
        return "OK";
    }

    // ---- memory ---------------------------------------------------------------------------------

    private record Range(long address, int length) {}

    /** {@code addr,length}; the length is capped to what stays below 2^64 and to {@code max}. */
    private static Range range(String s, int max, boolean cap) throws MalformedPacketException {
        int comma = s.indexOf(',');
        if (comma < 0) {
            throw new MalformedPacketException("expected addr,length");
        }
        long address = Hex.parseUnsigned(s.substring(0, comma));
        long length = Hex.parseUnsigned(s.substring(comma + 1));
        long room = address == 0 ? Long.MAX_VALUE : -address; // bytes left below 2^64
        if (Long.compareUnsigned(length, max) > 0 || Long.compareUnsigned(length, room) > 0) {
            if (!cap) {
                throw new MalformedPacketException("length out of range");
            }
            length = Long.compareUnsigned(max, room) < 0 ? max : room;
        }
        return new Range(address, (int) length);
    }

    private String readMemory(String args) throws MalformedPacketException {
        requireAlive();
        Range r = range(args, MAX_TRANSFER, true);
        byte[] buf = new byte[r.length()];
        int n = target.readMemory(r.address(), buf, 0, r.length());
        if (n <= 0 && r.length() > 0) {
            return E_FAULT;
        }
        return Hex.encode(buf, 0, Math.min(n, r.length()));
    }

    private String writeMemory(String args) throws MalformedPacketException {
        requireAlive();
        int colon = args.indexOf(':');
        if (colon < 0) {
            throw new MalformedPacketException("M without ':'");
        }
        Range r = range(args.substring(0, colon), PACKET_SIZE, false);
        byte[] data = Hex.decode(args.substring(colon + 1));
        if (data.length != r.length()) {
            throw new MalformedPacketException("M length does not match its data");
        }
        return write(r.address(), data);
    }

    private String writeBinary(byte[] raw) throws MalformedPacketException {
        requireAlive();
        int colon = -1;
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] == ':') {
                colon = i;
                break;
            }
        }
        if (colon < 0) {
            throw new MalformedPacketException("X without ':'");
        }
        Range r = range(new String(raw, 1, colon - 1, StandardCharsets.ISO_8859_1), PACKET_SIZE, false);
        byte[] data = Framing.unescape(raw, colon + 1);
        if (data.length != r.length()) {
            throw new MalformedPacketException("X length does not match its data");
        }
        return write(r.address(), data);
    }

    private String write(long address, byte[] data) {
        if (data.length == 0) {
            return "OK";
        }
        int n = target.writeMemory(address, data, 0, data.length);
        return n == data.length ? "OK" : E_FAULT;
    }

    // ---- execution ------------------------------------------------------------------------------

    /** {@code sig[;addr]} of C and S: the signal is accepted and ignored. */
    private static String addressAfterSignal(String rest) throws MalformedPacketException {
        int semi = rest.indexOf(';');
        Hex.parseUnsigned(semi < 0 ? rest : rest.substring(0, semi));
        return semi < 0 ? null : rest.substring(semi + 1);
    }

    private String resume(boolean step, String address) throws MalformedPacketException {
        if (address != null) {
            long rip = Hex.parseUnsigned(address);
            if (exited == null) {
                target.writeRegister(Register.RIP, rip);
            }
        }
        if (exited != null) {
            return stopReply(exited);
        }
        StopEvent e;
        try {
            e = runTarget(step);
        } catch (RuntimeException ex) {
            sendOutput("pml4: the target failed: " + ex + "\n");
            log.accept("the target failed while running: " + ex);
            return E_TARGET;
        }
        if (e == null) {
            e = new StopEvent.Interrupted();
        }
        lastStop = e;
        switch (e) {
            case StopEvent.ExceptionCaught x -> sendOutput(String.format("pml4: exception %s%s caught before delivery%n",
                    ExceptionVectors.describe(x.vector()),
                    x.errorCode().isPresent() ? String.format(", error code 0x%x", x.errorCode().getAsLong()) : ""));
            case StopEvent.Exited x -> {
                exited = x;
                sendOutput("pml4: " + x.description() + "\n");
            }
            case StopEvent.StaleUseCaught s -> sendOutput(s.report() + "pml4: caught before the access (monitor catch stale)\n");
            default -> { }
        }
        return stopReply(e);
    }

    private String verbose(String p) throws MalformedPacketException {
        if (p.equals("vCont?")) {
            return "vCont;c;C;s;S";
        }
        if (p.startsWith("vCont;")) {
            for (String action : p.substring("vCont;".length()).split(";")) {
                int colon = action.indexOf(':');
                String verb = colon < 0 ? action : action.substring(0, colon);
                if (colon >= 0 && !appliesToUs(action.substring(colon + 1))) {
                    continue;
                }
                if (verb.isEmpty()) {
                    throw new MalformedPacketException("empty vCont action");
                }
                return switch (verb.charAt(0)) {
                    case 'c' -> verb.length() == 1 ? resume(false, null) : E_MALFORMED;
                    case 's' -> verb.length() == 1 ? resume(true, null) : E_MALFORMED;
                    case 'C' -> {
                        Hex.parseUnsigned(verb.substring(1));
                        yield resume(false, null);
                    }
                    case 'S' -> {
                        Hex.parseUnsigned(verb.substring(1));
                        yield resume(true, null);
                    }
                    default -> E_MALFORMED;
                };
            }
            return E_MALFORMED;
        }
        return "";
    }

    private static boolean appliesToUs(String thread) {
        return thread.equals("-1") || thread.equals(THREAD) || thread.equals("p1.1") || thread.equals("p1.-1")
                || thread.equals("p-1.-1") || thread.equals("0");
    }

    private String setThread(String rest) {
        if (rest.length() < 2 || (rest.charAt(0) != 'g' && rest.charAt(0) != 'c')) {
            return E_MALFORMED;
        }
        String thread = rest.substring(1);
        return thread.equals("0") || thread.equals("-1") || thread.equals(THREAD) ? "OK" : E_MALFORMED;
    }

    // ---- stop replies ---------------------------------------------------------------------------

    String stopReply(StopEvent e) {
        if (e instanceof StopEvent.Exited x) {
            return String.format("W%02x", x.status() & 0xff);
        }
        int signal = switch (e) {
            case null -> ExceptionVectors.SIGTRAP;
            case StopEvent.Interrupted i -> ExceptionVectors.SIGINT;
            case StopEvent.ExceptionCaught x -> ExceptionVectors.signal(x.vector());
            default -> ExceptionVectors.SIGTRAP;
        };
        StringBuilder sb = new StringBuilder(String.format("T%02x", signal));
        switch (e) {
            case StopEvent.BreakpointHit b -> {
                EnumSet<BreakType> types = breakpoints.get(b.address());
                boolean hardware = types != null && !types.contains(BreakType.SOFTWARE);
                if (hardware && gdbHwbreak) {
                    sb.append("hwbreak:;");
                } else if (!hardware && gdbSwbreak) {
                    sb.append("swbreak:;");
                }
            }
            case StopEvent.WatchpointHit w -> sb.append(switch (w.kind()) {
                case WRITE -> "watch";
                case READ -> "rwatch";
                case ACCESS -> "awatch";
            }).append(':').append(Long.toHexString(w.address())).append(';');
            case null, default -> { }
        }
        // The registers gdb needs first, so that it need not ask (gdbserver sends the same three).
        StringBuilder expedite = new StringBuilder();
        try {
            for (Register r : List.of(Register.RBP, Register.RSP, Register.RIP)) {
                TargetDescription.Slot s = TargetDescription.slot(r);
                expedite.append(String.format("%02x:", s.number())).append(encode(s)).append(';');
            }
            sb.append(expedite);
        } catch (RuntimeException ignored) {
            // gdb asks for the registers itself
        }
        return sb.append("thread:").append(THREAD).append(';').toString();
    }

    // ---- breakpoints and watchpoints ------------------------------------------------------------

    private record Point(int type, long address, long kind) {}

    private static Point point(String args) throws MalformedPacketException {
        int semi = args.indexOf(';');
        String[] f = (semi < 0 ? args : args.substring(0, semi)).split(",", -1);
        if (f.length != 3 || f[0].length() != 1) {
            throw new MalformedPacketException("expected type,addr,kind");
        }
        int type = Hex.digit(f[0].charAt(0));
        if (type < 0) {
            throw new MalformedPacketException("bad breakpoint type");
        }
        return new Point(type, Hex.parseUnsigned(f[1]), Hex.parseUnsigned(f[2]));
    }

    private static WatchKind watchKind(int type) {
        return switch (type) {
            case 2 -> WatchKind.WRITE;
            case 3 -> WatchKind.READ;
            default -> WatchKind.ACCESS;
        };
    }

    private String insert(String args) throws MalformedPacketException {
        Point pt = point(args);
        if (pt.type() > 4) {
            return "";
        }
        requireAlive();
        if (pt.type() <= 1) {
            BreakType type = pt.type() == 0 ? BreakType.SOFTWARE : BreakType.HARDWARE;
            EnumSet<BreakType> types = breakpoints.get(pt.address());
            if (types == null) {
                if (!target.insertBreakpoint(pt.address())) {
                    return E_TARGET;
                }
                types = EnumSet.noneOf(BreakType.class);
                breakpoints.put(pt.address(), types);
            }
            types.add(type);
            return "OK";
        }
        if (pt.kind() < 1 || pt.kind() > Integer.MAX_VALUE) {
            throw new MalformedPacketException("watch length out of range");
        }
        Watch w = new Watch(pt.address(), (int) pt.kind(), watchKind(pt.type()));
        if (watchpoints.contains(w)) {
            return "OK";
        }
        if (!target.insertWatchpoint(w.address(), w.length(), w.kind())) {
            return E_TARGET;
        }
        watchpoints.add(w);
        return "OK";
    }

    private String remove(String args) throws MalformedPacketException {
        Point pt = point(args);
        if (pt.type() > 4) {
            return "";
        }
        requireAlive();
        if (pt.type() <= 1) {
            BreakType type = pt.type() == 0 ? BreakType.SOFTWARE : BreakType.HARDWARE;
            EnumSet<BreakType> types = breakpoints.get(pt.address());
            if (types != null && types.remove(type) && types.isEmpty()) {
                breakpoints.remove(pt.address());
                target.removeBreakpoint(pt.address());
            }
            return "OK";
        }
        if (pt.kind() < 1 || pt.kind() > Integer.MAX_VALUE) {
            throw new MalformedPacketException("watch length out of range");
        }
        Watch w = new Watch(pt.address(), (int) pt.kind(), watchKind(pt.type()));
        if (watchpoints.remove(w)) {
            target.removeWatchpoint(w.address(), w.length(), w.kind());
        }
        return "OK";
    }
}
