package dev.pml4.machine;

import dev.pml4.ffi.NativeFunction;
import dev.pml4.ffi.capstone.Capstone;
import dev.pml4.ffi.libc.AnonymousMemory;
import dev.pml4.ffi.unicorn.Unicorn;

/**
 * Links the native bindings a machine will need on a second thread, while the main thread is still
 * busy with the command line (README, "Start-up").
 *
 * <p>Why: linking an FFM downcall or upcall spins hidden classes that the JDK's AOT cache cannot
 * keep, and so do a shape's first calls. The bindings share four shapes ({@link dev.pml4.ffi}),
 * which {@link NativeFunction#warmUp()} links and calls through here; what is left for each
 * binding is loading its library and looking its symbols up. picocli's parsing takes the main
 * thread ~60 ms meanwhile, and the machine has a core to spare at that moment. When the main thread
 * gets to a shape or a binding first it waits for its class initializer, as the JVM has any thread
 * wait for a class being initialised (or links a shape's first calls itself, harmlessly).
 *
 * <p>Every binding warmed keeps its own failure (a missing library) for the main thread to report
 * as it always did; nothing here touches a machine, so a guest sees no difference.
 */
public final class NativeWarmUp {
    private NativeWarmUp() {
    }

    /** Starts linking on a daemon thread, which never delays the JVM's exit. */
    public static void start() {
        Thread.ofPlatform().daemon().name("pml4-native-warm-up").start(() -> {
            try {
                NativeFunction.warmUp(); // the FFM shapes every binding shares, each called once
                AnonymousMemory.link(); // in the order a machine's constructor needs them
                Unicorn.link();
                Capstone.link();
            } catch (Throwable t) {
                // Not ours to report: the main thread meets the same failure where it is handled.
            }
        });
    }
}
