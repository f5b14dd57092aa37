package dev.pml4.mmu;

import java.util.List;

/** The outcome of a page walk: a {@link Translation} or a {@link PageFault}. */
public sealed interface WalkResult permits Translation, PageFault {
    /** The linear address that was translated, all 64 bits as given. */
    long linearAddress();

    /** The entries read, in walk order; for a fault the last one is the entry that faulted (if any). */
    List<WalkStep> steps();
}
