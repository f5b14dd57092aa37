package dev.pml4.machine;

import dev.pml4.ffi.capstone.Capstone;
import dev.pml4.ffi.libc.AnonymousMemory;

/**
 * Links native bindings a machine will need on a second thread, while the main thread is still
 * busy with the command line (README, "Start-up").
 *
 * <p>Why: linking an FFM downcall spins hidden classes that the JDK's AOT cache cannot keep. The
 * bindings linked when their class is initialised, capstone's ten functions and libc's mmap and
 * munmap (with the FFM linker's own start-up), measured ~60 ms of the main thread's ~300 ms of CPU
 * in a run of the hello kernel; picocli's parsing takes as long, and the machine has a core to
 * spare at that moment. When the main thread gets there first it waits for the initialiser, as
 * the JVM has any thread wait for a class being initialised, and goes on.
 *
 * <p>Only bindings whose initialisers cannot fail are warmed: capstone keeps a missing library's
 * error for {@link Capstone#openX86_64()}, mmap is always in libc. Unicorn's, which throws when
 * libunicorn is missing, stays on the main thread, so that the error a user sees stays that one.
 * Nothing here touches a machine: a guest sees no difference.
 */
public final class NativeWarmUp {
    private NativeWarmUp() {
    }

    /** Starts linking on a daemon thread, which never delays the JVM's exit. */
    public static void start() {
        Thread.ofPlatform().daemon().name("pml4-native-warm-up").start(() -> {
            try {
                AnonymousMemory.link();
                Capstone.link();
            } catch (Throwable t) {
                // Not ours to report: the main thread meets the same failure where it is handled.
            }
        });
    }
}
