package dev.pml4.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pml4.guest.Guests;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** {@code pml4 run --trace-ring N}: the last N lines of what {@code --trace} writes, and only when the run ends badly. */
class TraceRingCommandTest {
    @TempDir
    Path dir;

    private int run(String guest, String... options) {
        List<String> args = new java.util.ArrayList<>(List.of("run", "--serial", dir.resolve("serial.out").toString()));
        args.addAll(List.of(options));
        args.add(Guests.image(guest).toString());
        return RunCommandTest.pml4(args.toArray(String[]::new)).status();
    }

    @Test
    void aTripleFaultWritesTheLastLinesOfTheTrace() throws Exception {
        Path full = dir.resolve("full.txt");
        Path ring = dir.resolve("ring.txt");
        assertEquals(4, run("idt_triple", "--trace=" + full));
        assertEquals(4, run("idt_triple", "--trace-ring", "40", "--trace=" + ring));
        List<String> all = Files.readAllLines(full);
        assertEquals(all.subList(all.size() - 40, all.size()), Files.readAllLines(ring));
        String last = all.getLast();
        assertTrue(last.contains("walk D read") && last.contains("#PF"), "it ends at the fault that could not be delivered: " + last);
    }

    @Test
    void theInstructionLimitWritesItToo_aGoodEndDoesNot() throws Exception {
        Path full = dir.resolve("full.jsonl");
        Path ring = dir.resolve("ring.jsonl");
        assertEquals(6, run("hello", "--max-insns", "3000", "--trace-format", "jsonl", "--trace=" + full));
        assertEquals(6, run("hello", "--max-insns", "3000", "--trace-format", "jsonl", "--trace-ring", "25", "--trace=" + ring));
        List<String> all = Files.readAllLines(full);
        assertEquals(all.subList(all.size() - 25, all.size()), Files.readAllLines(ring));
        Path good = dir.resolve("good.txt");
        assertEquals(1, run("hello", "--trace-ring", "25", "--trace=" + good));
        assertEquals("", Files.readString(good));
    }
}
