package dev.pml4.debug;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** A minimal gdb: frames packets, checks the stub's framing strictly, and times out instead of hanging. */
final class RspClient implements AutoCloseable {
    static final int TIMEOUT_MS = 10_000;

    final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private boolean noAck;

    RspClient(int port) throws IOException {
        socket = new Socket(InetAddress.getLoopbackAddress(), port);
        socket.setSoTimeout(TIMEOUT_MS);
        socket.setTcpNoDelay(true);
        in = new BufferedInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    /** {@code $payload#cs}: written here again rather than borrowed from the stub, so that the two check each other. */
    static String frame(String payload) {
        return "$" + payload + "#" + String.format("%02x", checksum(payload.getBytes(StandardCharsets.ISO_8859_1)));
    }

    static int checksum(byte[] bytes) {
        int sum = 0;
        for (byte b : bytes) {
            sum += b & 0xff;
        }
        return sum & 0xff;
    }

    static String hex(String text) {
        StringBuilder sb = new StringBuilder();
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            sb.append(String.format("%02x", b & 0xff));
        }
        return sb.toString();
    }

    static String unhex(String hex) {
        byte[] b = new byte[hex.length() / 2];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        }
        return new String(b, StandardCharsets.UTF_8);
    }

    void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    void sendRaw(String s) throws IOException {
        sendRaw(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** Sends a packet and, in ack mode, expects the stub's '+'. */
    void send(String payload) throws IOException {
        sendRaw(frame(payload));
        if (!noAck) {
            int b = readByte();
            if (b != '+') {
                throw new AssertionError("expected '+' for " + payload + ", got " + describe(b));
            }
        }
    }

    /** One request, one reply; 'O' console packets before it are an error here. */
    String request(String payload) throws IOException {
        send(payload);
        return readPacket();
    }

    /** One request; every packet up to and including the first that is not console output. */
    List<String> exchange(String payload) throws IOException {
        send(payload);
        List<String> packets = new ArrayList<>();
        while (true) {
            String p = readPacket();
            packets.add(p);
            if (!(p.startsWith("O") && !p.equals("OK"))) {
                return packets;
            }
        }
    }

    void startNoAck() throws IOException {
        String r = request("QStartNoAckMode");
        if (!r.equals("OK")) {
            throw new AssertionError("QStartNoAckMode: " + r);
        }
        noAck = true;
    }

    int readByte() throws IOException {
        return in.read();
    }

    /** The next packet's payload (escapes kept), acknowledged in ack mode; '+' bytes before it are skipped. */
    String readPacket() throws IOException {
        int b;
        do {
            b = in.read();
            if (b < 0) {
                throw new IOException("the stub closed the connection");
            }
        } while (b == '+');
        if (b != '$') {
            throw new AssertionError("expected '$', got " + describe(b));
        }
        ByteArrayOutputStream payload = new ByteArrayOutputStream();
        while ((b = in.read()) != '#') {
            if (b < 0) {
                throw new IOException("the stub closed the connection mid-packet");
            }
            payload.write(b);
        }
        byte[] p = payload.toByteArray();
        String cs = "" + (char) in.read() + (char) in.read();
        String expected = String.format("%02x", checksum(p));
        if (!cs.equals(expected)) {
            throw new AssertionError("bad checksum " + cs + " (expected " + expected + ") on " + new String(p, StandardCharsets.ISO_8859_1));
        }
        if (!noAck) {
            sendRaw(new byte[] {'+'});
        }
        return new String(p, StandardCharsets.ISO_8859_1);
    }

    /** What the stub sent until it closed the connection: its acks in order, and its packets in order. */
    record Transcript(String acks, List<String> packets) {}

    /**
     * Reads everything up to the end of the stream. Acks come from the stub's reader thread and
     * replies from its command loop, so only the order within each is fixed: they are kept apart.
     */
    Transcript readToEnd() throws IOException {
        StringBuilder acks = new StringBuilder();
        List<String> packets = new ArrayList<>();
        int b;
        while ((b = in.read()) >= 0) {
            if (b == '+' || b == '-') {
                acks.append((char) b);
            } else if (b == '$') {
                ByteArrayOutputStream payload = new ByteArrayOutputStream();
                while ((b = in.read()) != '#') {
                    if (b < 0) {
                        throw new AssertionError("the stub ended mid-packet");
                    }
                    payload.write(b);
                }
                byte[] p = payload.toByteArray();
                String cs = "" + (char) in.read() + (char) in.read();
                if (!cs.equals(String.format("%02x", checksum(p)))) {
                    throw new AssertionError("bad checksum from the stub: " + cs);
                }
                packets.add(new String(p, StandardCharsets.ISO_8859_1));
            } else {
                throw new AssertionError("the stub sent a stray byte " + describe(b));
            }
        }
        return new Transcript(acks.toString(), packets);
    }

    /** True if the stub closed the connection (read gives -1) within the timeout. */
    boolean closedByStub() throws IOException {
        try {
            while (true) {
                int b = in.read();
                if (b < 0) {
                    return true;
                }
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // connection reset
        }
    }

    /** Nothing arrives within {@code ms}. */
    boolean silentFor(int ms) throws IOException {
        socket.setSoTimeout(ms);
        try {
            int b = in.read();
            throw new AssertionError("expected silence, got " + describe(b));
        } catch (SocketTimeoutException e) {
            return true;
        } finally {
            socket.setSoTimeout(TIMEOUT_MS);
        }
    }

    private static String describe(int b) {
        return b < 0 ? "end of stream" : String.format("'%c' (0x%02x)", (char) b, b);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
