package dev.pml4.machine;

import dev.pml4.ffi.capstone.Capstone;
import dev.pml4.ffi.libc.SharedMemory;
import dev.pml4.ffi.unicorn.Unicorn;

/**
 * Links the native bindings a machine will need on a second thread, while the main thread is still
 * busy with the command line (README, "Start-up").
 *
 * <p>Why: linking an FFM downcall or upcall spins hidden classes that the JDK's AOT cache cannot
 * keep. With thread-CPU markers, the main thread of a run of the hello kernel spent ~300 ms of
 * CPU, of which ~150 ms linked: mmap (with the FFM linker's own start-up), Unicorn's library,
 * downcalls and hook shapes, capstone's ten functions. picocli's parsing takes ~75 ms of it, and
 * the machine has a core to spare at that moment. When the main thread gets to a binding first it
 * links it itself (a race links twice, harmlessly) or waits for its class initializer, as the JVM
 * has any thread wait for a class being initialised.
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
                SharedMemory.link(); // in the order a machine's constructor needs them
                Unicorn.link();
                Capstone.link();
            } catch (Throwable t) {
                // Not ours to report: the main thread meets the same failure where it is handled.
            }
        });
    }
}
