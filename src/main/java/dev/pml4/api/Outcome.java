package dev.pml4.api;

import dev.pml4.cpu.StopReason;

/**
 * How a run ended.
 *
 * @param status       the exit status {@code pml4 run} gives it (README, "Exit statuses")
 * @param reason       the stop reason, for people
 * @param instructions instructions retired
 * @param tripleFault  the run ended in a triple fault (status 4)
 */
public record Outcome(int status, String reason, long instructions, boolean tripleFault) {
    static Outcome of(StopReason stop, long instructions) {
        return new Outcome(stop.exitStatus(), stop.describe(), instructions, stop instanceof StopReason.TripleFault);
    }
}
