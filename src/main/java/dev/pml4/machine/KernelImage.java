package dev.pml4.machine;

import java.util.List;

/**
 * A kernel as BOOT.md's "Images" describes it: segments to copy to physical memory, an entry point
 * and, for an ELF file, its symbols. Images are validated as files when they are made; whether they
 * fit the machine (RAM size, loader area) is {@link BootLoader}'s to decide.
 */
public sealed interface KernelImage permits ElfImage, FlatImage, MultibootImage {
    /** The name messages use for it, normally the path as the user gave it. */
    String name();

    /** The segments in file order: at least one, and none of them empty (p_memsz > 0). */
    List<LoadSegment> segments();

    /** The virtual address of the first instruction (RIP at entry). */
    long entry();

    /** The symbols for the tracer and the debugger; empty for a flat binary or a stripped ELF. */
    SymbolTable symbols();

    /** How messages name a segment of this image: "PT_LOAD segment 2", "the flat image". */
    String describe(LoadSegment segment);
}
