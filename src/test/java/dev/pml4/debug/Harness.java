package dev.pml4.debug;

import dev.pml4.debug.gdb.GdbServer;
import dev.pml4.debug.gdb.GdbServer.Config;
import dev.pml4.debug.gdb.GdbServer.OnDisconnect;
import dev.pml4.debug.gdb.GdbServer.Outcome;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A GdbServer on an ephemeral loopback port, serving a fake target on its own "owner" thread. */
final class Harness implements AutoCloseable {
    final FakeTarget target;
    final GdbServer server;
    final CompletableFuture<Outcome> outcome = new CompletableFuture<>();
    final List<String> log = Collections.synchronizedList(new ArrayList<>());
    final Thread owner;
    private final List<RspClient> clients = new ArrayList<>();

    Harness(FakeTarget target, OnDisconnect onDisconnect) throws IOException {
        this.target = target;
        this.server = GdbServer.listen(target, Config.defaults().withPort(0).withOnDisconnect(onDisconnect).withLog(log::add));
        this.owner = Thread.ofPlatform().name("owner").daemon().start(() -> {
            try {
                outcome.complete(server.serve());
            } catch (Throwable t) {
                outcome.completeExceptionally(t);
            }
        });
    }

    Harness(FakeTarget target) throws IOException {
        this(target, OnDisconnect.CONTINUE);
    }

    Harness() throws IOException {
        this(FakeTarget.standard());
    }

    RspClient connect() throws IOException {
        RspClient c = new RspClient(server.port());
        clients.add(c);
        return c;
    }

    Outcome outcome() throws Exception {
        return outcome.get(20, TimeUnit.SECONDS);
    }

    /** Waits until the fake target runs a resume() or step(). */
    void awaitRunning() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!target.running) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the target never started running");
            }
            Thread.sleep(5);
        }
    }

    @Override
    public void close() throws IOException {
        for (RspClient c : clients) {
            c.close();
        }
        server.close();
        try {
            owner.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (owner.isAlive()) {
            throw new AssertionError("the serving thread did not end after close()");
        }
    }
}
