package dev.pml4.debug.gdb;

import dev.pml4.debug.DebugTarget;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A gdb remote serial protocol server for one {@link DebugTarget}: {@code target remote
 * 127.0.0.1:1234} in gdb. It serves one gdb for one run: {@link #serve()} waits for a client,
 * answers it until it kills, detaches or goes away, and returns how the run ended. A second gdb
 * that connects meanwhile is disconnected at once.
 *
 * <p>Threading: call {@link #serve()} on the thread that owns the machine; every
 * {@link DebugTarget} call except {@link DebugTarget#interrupt()} is made there (see
 * {@link DebugTarget} for the rule). The server adds one thread per session, which reads the
 * socket, answers acknowledgements, and calls {@code interrupt()} when gdb sends Ctrl-C; and one
 * that turns away extra clients. {@link #close()} may be called from any thread.
 *
 * <p>Nothing gdb sends can throw out of {@link #serve()}: malformed packets get an error reply
 * or are dropped, and a target that throws gets an error reply.
 */
public final class GdbServer implements AutoCloseable {

    /** The port gdb users type by habit (QEMU's {@code -s}). */
    public static final int DEFAULT_PORT = 1234;

    /** What happens to the run when gdb goes away without {@code kill} or {@code detach}. */
    public enum OnDisconnect {
        /** Forget breakpoints, watchpoints and caught exceptions, and let the guest run to its end, as after {@code detach}. */
        CONTINUE,
        /** End the run, as after {@code kill}. */
        KILL
    }

    /**
     * @param address      where to listen; loopback unless you mean to debug from another host
     * @param port         0 for any free port ({@link #port()} tells which)
     * @param onDisconnect what a dropped connection does to the run
     * @param log          one line per event worth telling (connections, refusals, hostile input)
     */
    public record Config(InetAddress address, int port, OnDisconnect onDisconnect, Consumer<String> log) {
        public Config {
            Objects.requireNonNull(address, "address");
            Objects.requireNonNull(onDisconnect, "onDisconnect");
            Objects.requireNonNull(log, "log");
            if (port < 0 || port > 0xffff) {
                throw new IllegalArgumentException("port must be 0..65535, not " + port);
            }
        }

        /** 127.0.0.1:1234, the run continues if gdb goes away, nothing logged. */
        public static Config defaults() {
            return new Config(InetAddress.getLoopbackAddress(), DEFAULT_PORT, OnDisconnect.CONTINUE, line -> { });
        }

        public Config withAddress(InetAddress a) {
            return new Config(a, port, onDisconnect, log);
        }

        public Config withPort(int p) {
            return new Config(address, p, onDisconnect, log);
        }

        public Config withOnDisconnect(OnDisconnect d) {
            return new Config(address, port, d, log);
        }

        public Config withLog(Consumer<String> sink) {
            return new Config(address, port, onDisconnect, sink);
        }
    }

    /** How {@link #serve()} ended. */
    public sealed interface Outcome {
        /** The run ended, while gdb watched or after it detached: the status pml4 exits with. */
        record Exited(int status, String description) implements Outcome {}

        /** gdb killed the run ({@code kill}, or a disconnect under {@link OnDisconnect#KILL}). */
        record Killed() implements Outcome {}

        /** The server stopped before the run ended: {@link #close()}, or a target that failed. */
        record Closed(String why) implements Outcome {}
    }

    private final DebugTarget target;
    private final Config config;
    private final ServerSocket listener;
    private volatile boolean closed;
    private volatile GdbSession session;
    private boolean served;

    private GdbServer(DebugTarget target, Config config, ServerSocket listener) {
        this.target = target;
        this.config = config;
        this.listener = listener;
    }

    /** Binds the listening socket now, so that {@link #port()} is known before gdb connects. */
    public static GdbServer listen(DebugTarget target, Config config) throws IOException {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(config, "config");
        ServerSocket s = new ServerSocket();
        try {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(config.address(), config.port()), 1);
        } catch (IOException e) {
            s.close();
            throw e;
        }
        return new GdbServer(target, config, s);
    }

    /** The port listened on: the configured one, or the one the system chose for port 0. */
    public int port() {
        return listener.getLocalPort();
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) listener.getLocalSocketAddress();
    }

    /**
     * Waits for gdb, serves it, and returns when the session is over: gdb killed the run, or the
     * run ended (while attached, or after a detach or a disconnect under
     * {@link OnDisconnect#CONTINUE}, in which case the guest runs to its end on this thread
     * first), or {@link #close()} was called. May be called once.
     */
    public Outcome serve() {
        synchronized (this) {
            if (served) {
                throw new IllegalStateException("a GdbServer serves one session; make a new one");
            }
            served = true;
        }
        Socket client;
        try {
            client = listener.accept();
        } catch (IOException e) {
            closeListener();
            return new Outcome.Closed(closed ? "the server was closed" : "accepting a connection failed: " + e.getMessage());
        }
        config.log().accept("gdb connected from " + client.getRemoteSocketAddress());
        Thread refuser = Thread.ofPlatform().daemon().name("gdb-refuser").start(this::refuseOthers);
        try {
            GdbSession s = new GdbSession(client, target, config.onDisconnect(), config.log());
            session = s;
            if (closed) {
                s.close();
            }
            return s.run();
        } catch (IOException e) {
            return new Outcome.Closed("the connection failed: " + e.getMessage());
        } finally {
            session = null;
            closeListener();
            try {
                client.close();
            } catch (IOException ignored) {
                // nothing left to tell the client
            }
            refuser.interrupt();
        }
    }

    /** One client at a time: anyone else connecting while a session runs is closed at once. */
    private void refuseOthers() {
        while (!listener.isClosed()) {
            try (Socket other = listener.accept()) {
                config.log().accept("refused a second gdb from " + other.getRemoteSocketAddress() + ": one client at a time");
            } catch (IOException e) {
                return;
            }
        }
    }

    private void closeListener() {
        try {
            listener.close();
        } catch (IOException ignored) {
            // closing a listener only fails if it is already gone
        }
    }

    /**
     * Stops serving from any thread: a {@link #serve()} waiting for gdb returns, a running guest is
     * interrupted, and the session ends with {@link Outcome.Closed}.
     */
    @Override
    public void close() {
        closed = true;
        closeListener();
        GdbSession s = session;
        if (s != null) {
            s.close();
        }
    }
}
