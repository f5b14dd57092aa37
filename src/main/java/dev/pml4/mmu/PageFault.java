package dev.pml4.mmu;

import java.util.List;
import java.util.Objects;

/**
 * A failed walk: the #PF (vector 14) the access raises. The CPU loads CR2 with
 * {@code linearAddress} and pushes {@code errorCode} (SDM Vol. 3A 4.7).
 *
 * @param linearAddress the faulting linear address, all 64 bits as given (what CR2 receives)
 * @param errorCode     the #PF error code, see {@link PageFaultErrorCode}
 * @param reason        a sentence for people, e.g. "PDE not present", "write to read-only page"
 * @param steps         the entries read, in walk order, up to and including the one that faulted
 */
public record PageFault(long linearAddress, int errorCode, String reason, List<WalkStep> steps)
        implements WalkResult {
    public PageFault {
        Objects.requireNonNull(reason, "reason");
        steps = List.copyOf(steps);
    }

    /** One line for traces: {@code #PF at 0x... error 0x7 (P W U): write to read-only page}. */
    public String describe() {
        return String.format("#PF at 0x%x error %s: %s",
                linearAddress, PageFaultErrorCode.describe(errorCode), reason);
    }
}
