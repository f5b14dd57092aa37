package dev.pml4.grade;

import dev.pml4.api.EndState;
import dev.pml4.api.Fault;
import dev.pml4.api.GuestListener;
import dev.pml4.api.Outcome;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What one run of a test gave: how it ended, the transcript, the faults taken, the end state to
 * probe, and the stale TLB entries used (described for people) when the TLB check was on.
 */
record Observed(Outcome outcome, String serial, FaultLog faults, EndState state, Optional<List<String>> staleUses) {

    /**
     * The exceptions and interrupts delivered, counted by (vector, error code, CR2) in the order
     * first seen: a guest may take millions of faults, but few distinct ones.
     */
    static final class FaultLog implements GuestListener {
        record Key(int vector, int errorCode, long cr2) {
            @Override
            public String toString() {
                String name = vector < 32 ? ExceptionNames.name(vector) : "vector " + vector;
                return name + (errorCode >= 0 ? String.format("(0x%x)", errorCode) : "")
                        + (vector == Fault.PAGE_FAULT ? String.format(" CR2=0x%x", cr2) : "");
            }
        }

        private final Map<Key, Long> counts = new LinkedHashMap<>();
        private long total;

        @Override
        public void fault(Fault f) {
            total++;
            // CR2 means something for #PF only; other vectors are counted whatever CR2 holds.
            counts.merge(new Key(f.vector(), f.errorCode(), f.vector() == Fault.PAGE_FAULT ? f.cr2() : 0), 1L, Long::sum);
        }

        Map<Key, Long> counts() {
            return counts;
        }

        long total() {
            return total;
        }

        /** "#PF(0x2) CR2=0x10000000000 ×3, #GP(0x0)", at most {@code limit} distinct faults. */
        String summary(int limit) {
            if (counts.isEmpty()) {
                return "no exception or interrupt was delivered";
            }
            StringBuilder out = new StringBuilder();
            int shown = 0;
            for (var e : counts.entrySet()) {
                if (shown++ == limit) {
                    out.append(", ... (").append(counts.size() - limit).append(" more distinct)");
                    break;
                }
                if (!out.isEmpty()) {
                    out.append(", ");
                }
                out.append(e.getKey()).append(e.getValue() > 1 ? " ×" + e.getValue() : "");
            }
            return total + " delivered: " + out;
        }
    }
}
