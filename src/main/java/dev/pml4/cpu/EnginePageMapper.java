package dev.pml4.cpu;

import dev.pml4.ffi.unicorn.Protection;
import dev.pml4.ffi.unicorn.Unicorn;
import dev.pml4.machine.PhysicalMemory;
import dev.pml4.mmu.PageMapper;

import java.lang.foreign.MemorySegment;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Resident translations made real in Unicorn: RAM through {@code uc_mem_map_ptr} onto slices of
 * physical memory (two virtual pages on one frame alias for free), and physical holes through MMIO
 * callbacks that read all-ones and drop writes, reporting the first access to each hole page.
 */
final class EnginePageMapper implements PageMapper {
    private final Unicorn engine;
    private final Unicorn.MmioHandlers holes;
    private final Consumer<String> warnings;
    private final Set<Long> reportedHoles = new HashSet<>();

    EnginePageMapper(Unicorn engine, PhysicalMemory memory, Consumer<String> warnings) {
        this.engine = engine;
        this.warnings = warnings;
        this.holes = engine.mmioHandlers(
                (physicalBase, offset, size) -> {
                    report(physicalBase + offset, "read");
                    return -1L;
                },
                (physicalBase, offset, size, value) -> report(physicalBase + offset, "write"));
    }

    private void report(long physical, String what) {
        if (reportedHoles.add(physical & ~0xfffL)) {
            warnings.accept(String.format("%s of physical 0x%x: no RAM or device there (reads all-ones, writes are ignored; reported once per page)",
                    what, physical));
        }
    }

    @Override
    public void mapRam(long linear, long size, int perms, MemorySegment frames) {
        engine.mapPointer(linear, size, toUnicorn(perms), frames);
    }

    @Override
    public void mapHole(long linear, long size, long physical) {
        engine.mapMmio(linear, size, holes, physical);
    }

    @Override
    public void protect(long linear, long size, int perms) {
        engine.protect(linear, size, toUnicorn(perms));
    }

    @Override
    public void unmap(long linear, long size) {
        engine.unmap(linear, size);
    }

    private static int toUnicorn(int perms) {
        // ResidentMappings uses Unicorn's own bit values (1 read, 2 write, 4 exec). Execute is
        // never given to the engine: every code fetch of its translator then comes to Java's
        // FETCH_PROT hook, where the TranslationGuard keeps instructions that would abort the
        // process from being translated; the resident entry's right to execute is Java's.
        return perms & Protection.ALL & ~Protection.EXEC;
    }
}
