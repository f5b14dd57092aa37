package dev.pml4.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * pml4's native helper, target/libpml4fast.so (src/main/c, built by {@code make}): fast mode's
 * hooks (FastExecution) and the engine page table (EnginePageTable). Without it pml4 runs in
 * precise mode with Unicorn regions for the TLB, as before either existed.
 */
final class NativeHelper {
    /** The helper's symbols, or empty when it was not built or could not be loaded. */
    static final Optional<SymbolLookup> LOOKUP = load();

    private NativeHelper() {
    }

    /** Whether the memory-event hook is the helper's (pml4_mem): -Dpml4.noFast keeps it Java's. */
    static boolean memoryHookNative() {
        return LOOKUP.isPresent() && !Boolean.getBoolean("pml4.noFast");
    }

    private static Optional<SymbolLookup> load() {
        Path path = locate();
        if (path == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(SymbolLookup.libraryLookup(path, Arena.global()));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /** target/libpml4fast.so beside the jar or the classes (make builds it), or -Dpml4.fastlib. */
    private static Path locate() {
        String given = System.getProperty("pml4.fastlib");
        if (given != null) {
            return Files.isRegularFile(Path.of(given)) ? Path.of(given) : null;
        }
        try {
            Path code = Path.of(NativeHelper.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            for (Path dir = code; dir != null; dir = dir.getParent()) {
                Path candidate = dir.resolve("libpml4fast.so");
                if (Files.isRegularFile(candidate)) {
                    return candidate;
                }
                if (dir.getFileName() != null && dir.getFileName().toString().equals("target")) {
                    break;
                }
            }
        } catch (Exception e) {
            return null;
        }
        return null;
    }
}
