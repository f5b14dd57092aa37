package dev.pml4.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Virtual time is the instruction count: the same guest gives the same run, every time. */
class DeterminismTest {
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"demo", "hello", "pagefault", "mb2_elf64", "mb1_vga32"})
    void sameGuestSameRun(String name) {
        Guests.Outcome first = Guests.run(name);
        Guests.Outcome second = Guests.run(name);
        assertEquals(first.transcript(), second.transcript());
        assertEquals(first.status(), second.status());
        assertEquals(first.result().instructions(), second.result().instructions());
        assertEquals(first.result().reason().describe(), second.result().reason().describe());
        assertEquals(first.statistics(), second.statistics());
        assertEquals(first.screen(), second.screen());
    }
}
