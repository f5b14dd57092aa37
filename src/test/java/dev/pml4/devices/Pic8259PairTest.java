package dev.pml4.devices;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The 8259A pair as kernels program it; section names are those of the Intel 8259A data sheet. */
class Pic8259PairTest {
    private final List<String> warnings = new ArrayList<>();
    private final Pic8259Pair pic = new Pic8259Pair(warnings::add);

    private void out(int port, int... values) {
        for (int v : values) {
            pic.out(port, 1, v);
        }
    }

    private int in(int port) {
        return pic.in(port, 1);
    }

    /** The remap of the OSDev wiki and most tutorials: vectors 0x20 and 0x28, normal EOI, masks left clear by ICW1. */
    private void remap() {
        out(0x20, 0x11);
        out(0xa0, 0x11);
        out(0x21, 0x20);
        out(0xa1, 0x28);
        out(0x21, 0x04);
        out(0xa1, 0x02);
        out(0x21, 0x01);
        out(0xa1, 0x01);
    }

    private void eoi(int irq) {
        if (irq >= 8) {
            out(0xa0, 0x20);
        }
        out(0x20, 0x20);
    }

    @Test
    void powerOnIsUninitialisedAndMaskedAndDeliversNothing() {
        assertEquals(0xffff, pic.imr());
        assertEquals(0, pic.irr());
        assertEquals(0, pic.isr());
        assertFalse(pic.initialised());
        assertEquals(0xff, in(0x21));
        assertEquals(0xff, in(0xa1));
        pic.raise(0);
        pic.raise(12);
        assertFalse(pic.intr());
        assertTrue(warnings.isEmpty(), "a masked request on an uninitialised PIC is no mistake: " + warnings);
    }

    @Test
    void unmaskingWithoutInitialisingWarnsAndStillDeliversNothing() {
        out(0x21, 0xfe);
        pic.raise(0);
        assertFalse(pic.intr());
        assertEquals(2, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains("before the PIC was initialised"), warnings.get(0));
        assertTrue(warnings.get(1).contains("never initialised"), warnings.get(1));
    }

    @Test
    void maskingEverythingWithoutInitialisingIsQuiet() {
        out(0x21, 0xff);
        out(0xa1, 0xff);
        assertTrue(warnings.isEmpty(), warnings.toString());
    }

    static Stream<Arguments> initialisations() {
        return Stream.of(
                // name, writes as port/value pairs, master base, slave base, auto-EOI
                Arguments.of("OSDev remap", new int[] {0x20, 0x11, 0xa0, 0x11, 0x21, 0x20, 0xa1, 0x28, 0x21, 0x04, 0xa1, 0x02,
                        0x21, 0x01, 0xa1, 0x01}, 0x20, 0x28, false),
                // Linux init_8259A(0): masks first, then each chip's ICW1-ICW4 in turn, vectors 0x30/0x38.
                Arguments.of("Linux", new int[] {0x21, 0xff, 0xa1, 0xff, 0x20, 0x11, 0x21, 0x30, 0x21, 0x04, 0x21, 0x01,
                        0xa0, 0x11, 0xa1, 0x38, 0xa1, 0x02, 0xa1, 0x01}, 0x30, 0x38, false),
                // xv6 picinit: auto-EOI (ICW4 3), then OCW3 0x68 (clear special mask) and 0x0a (read IRR).
                Arguments.of("xv6", new int[] {0x21, 0xff, 0xa1, 0xff, 0x20, 0x11, 0x21, 32, 0x21, 1 << 2, 0x21, 0x03,
                        0xa0, 0x11, 0xa1, 40, 0xa1, 2, 0xa1, 0x03, 0x20, 0x68, 0x20, 0x0a, 0xa0, 0x68, 0xa0, 0x0a}, 32, 40, true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("initialisations")
    void kernelInitialisationsGiveTheirVectors(String name, int[] writes, int masterBase, int slaveBase, boolean autoEoi) {
        for (int i = 0; i < writes.length; i += 2) {
            out(writes[i], writes[i + 1]);
        }
        assertTrue(pic.initialised());
        assertEquals(masterBase, pic.vectorBase(false));
        assertEquals(slaveBase, pic.vectorBase(true));
        assertEquals(0, pic.imr(), "ICW1 clears the IMR ('Initialization Command Words' b)");
        assertTrue(warnings.isEmpty(), warnings.toString());
        for (int irq = 0; irq < 16; irq++) {
            if (irq == 2) {
                continue;
            }
            pic.raise(irq);
            assertTrue(pic.intr(), "IRQ " + irq);
            int expected = irq < 8 ? masterBase + irq : slaveBase + irq - 8;
            assertEquals(expected, pic.acknowledge(), "IRQ " + irq);
            int inService = irq < 8 ? 1 << irq : 1 << 2 | 1 << irq;
            assertEquals(autoEoi ? 0 : inService, pic.isr(), "IRQ " + irq);
            assertEquals(0, pic.irr());
            assertFalse(pic.intr());
            pic.lower(irq);
            eoi(irq);
            assertEquals(0, pic.isr());
        }
    }

    @ParameterizedTest(name = "IRQ {0}")
    @ValueSource(ints = {0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
    void aMaskedRequestWaitsInIrrUntilUnmasked(int irq) {
        remap();
        int maskPort = irq < 8 ? 0x21 : 0xa1;
        out(maskPort, 1 << (irq & 7));
        pic.raise(irq);
        assertFalse(pic.intr());
        assertEquals(1 << irq, pic.irr(), "the request is latched in IRR all the same (a masked slave level does not reach IR2)");
        assertEquals(1 << (irq & 7), in(maskPort));
        out(maskPort, 0);
        assertTrue(pic.intr());
        assertEquals(0x20 + irq, pic.acknowledge()); // 0x20 + IRQ for both chips after this remap
    }

    @Test
    void maskingTheCascadeInputMasksTheWholeSlave() {
        remap();
        out(0x21, 1 << 2);
        pic.raise(10);
        assertFalse(pic.intr());
        out(0x21, 0);
        assertEquals(0x2a, pic.acknowledge());
    }

    /** Fixed priority, IRQ 0 highest, the slave's IRQs at the master's IR2 ("Fully Nested Mode"). */
    @ParameterizedTest(name = "raised {0} -> served {1}")
    @CsvSource({
            "'0 1', '0 1'",
            "'1 0', '0 1'",
            "'7 6 5 4 3 1 0', '0 1 3 4 5 6 7'",
            "'3 8', '8 3'",
            "'1 8', '1 8'",
            "'15 3', '15 3'",
            "'7 14 9', '9 14 7'",
            "'15 14 13 12 11 10 9 8', '8 9 10 11 12 13 14 15'",
            "'4 12 0 15', '0 12 15 4'",
    })
    void requestsAreServedInPriorityOrder(String raised, String served) {
        remap();
        for (int irq : ints(raised)) {
            pic.raise(irq);
        }
        List<Integer> order = new ArrayList<>();
        while (pic.intr()) {
            int vector = pic.acknowledge();
            int irq = vector - 0x20;
            order.add(irq);
            pic.lower(irq);
            eoi(irq);
        }
        assertEquals(Arrays.stream(ints(served)).boxed().toList(), order);
    }

    private static int[] ints(String list) {
        return Arrays.stream(list.trim().split("\\s+")).mapToInt(Integer::parseInt).toArray();
    }

    @Test
    void aHigherPriorityRequestNestsALowerOneWaits() {
        remap();
        pic.raise(3);
        assertEquals(0x23, pic.acknowledge());
        pic.raise(5);
        assertFalse(pic.intr(), "IRQ 5 is below IRQ 3, which is in service");
        pic.raise(1);
        assertTrue(pic.intr());
        assertEquals(0x21, pic.acknowledge());
        assertEquals(0b1010, pic.isr());
        out(0x20, 0x20); // non-specific EOI resets the highest in service: IRQ 1
        assertEquals(0b1000, pic.isr());
        assertFalse(pic.intr());
        out(0x20, 0x20);
        assertEquals(0, pic.isr());
        assertTrue(pic.intr());
        assertEquals(0x25, pic.acknowledge());
    }

    /** OCW2 EOI commands: which ISR bits remain after each ("End of Interrupt"). */
    @ParameterizedTest(name = "ISR {0} + OCW2 {1} -> ISR {2}")
    @CsvSource({
            "0x0a, 0x20, 0x08", // non-specific: the highest-priority bit, IRQ 1
            "0x88, 0x20, 0x80",
            "0x00, 0x20, 0x00", // nothing in service: nothing to do
            "0x0a, 0x63, 0x02", // specific EOI for IRQ 3
            "0x0a, 0x61, 0x08", // specific EOI for IRQ 1
            "0x0a, 0x65, 0x0a", // specific EOI for a level not in service
            "0x0a, 0x40, 0x0a", // no operation
    })
    void endOfInterrupt(String isrHex, String ocw2Hex, String afterHex) {
        remap();
        int isr = Integer.decode(isrHex);
        // Put the levels in service lowest priority first, so that each nests.
        for (int irq = 7; irq >= 0; irq--) {
            if ((isr & 1 << irq) != 0) {
                pic.raise(irq);
                assertEquals(0x20 + irq, pic.acknowledge());
                pic.lower(irq);
            }
        }
        assertEquals(isr, pic.isr());
        out(0x20, Integer.decode(ocw2Hex));
        assertEquals(Integer.decode(afterHex), pic.isr());
    }

    @Test
    void nestedSlaveInterruptsWaitForTheMasterInFullyNestedMode() {
        remap();
        pic.raise(12);
        assertEquals(0x2c, pic.acknowledge());
        assertEquals(1 << 12 | 1 << 2, pic.isr());
        pic.raise(10); // IR2 on the slave: above IRQ 12 there, but the master has IR2 in service
        assertFalse(pic.intr());
        assertEquals(1 << 10 | 1 << 2, pic.irr(), "the slave's INT rose, so the master latched IR2");
        pic.raise(1); // above IR2 on the master
        assertTrue(pic.intr());
        assertEquals(0x21, pic.acknowledge());
        out(0x20, 0x20); // EOI IRQ 1
        assertFalse(pic.intr());
        out(0xa0, 0x20); // the slave's EOI resets IRQ 12...
        out(0x20, 0x20); // ...the master's resets IR2, and the latched IR2 request goes through
        assertTrue(pic.intr());
        assertEquals(0x2a, pic.acknowledge());
        assertEquals(1 << 10 | 1 << 2, pic.isr());
    }

    @Test
    void specialFullyNestedModeLetsAHigherSlaveRequestNest() {
        // ICW4 0x11 on the master: SFNM ("Special Fully Nested Mode").
        out(0x20, 0x11);
        out(0x21, 0x20, 0x04, 0x11);
        out(0xa0, 0x11);
        out(0xa1, 0x28, 0x02, 0x01);
        pic.raise(12);
        assertEquals(0x2c, pic.acknowledge());
        pic.raise(14);
        assertFalse(pic.intr(), "below IRQ 12 on the slave, so the slave's INT stays low");
        pic.raise(10);
        assertTrue(pic.intr());
        assertEquals(0x2a, pic.acknowledge());
        assertEquals(1 << 12 | 1 << 10 | 1 << 2, pic.isr());
        pic.raise(5);
        assertFalse(pic.intr(), "SFNM lets the cascade level through, not the levels below it");
        // The handler's EOI: the slave first; the master only once the slave has nothing in service.
        out(0xa0, 0x20);
        out(0xa0, 0x0b); // OCW3: read ISR
        assertEquals(1 << 4, in(0xa0));
        out(0xa0, 0x20);
        assertEquals(0, in(0xa0));
        assertTrue(pic.intr(), "IRQ 14 now comes through the master's IR2 level, still in service");
        assertEquals(0x2e, pic.acknowledge());
    }

    @Test
    void spuriousIrq7WhenTheRequestGoesAwayBeforeInta() {
        remap();
        pic.raise(5);
        assertTrue(pic.intr());
        pic.lower(5);
        assertFalse(pic.intr());
        assertEquals(0x27, pic.acknowledge(), "the master answers with its IR7 vector");
        assertEquals(0, pic.isr(), "and sets no ISR bit, so the handler must not send an EOI");
        assertEquals(0, pic.irr());
    }

    @Test
    void spuriousIrq7WhenMaskedBetweenIntrAndInta() {
        remap();
        pic.raise(4);
        assertTrue(pic.intr());
        out(0x21, 1 << 4);
        assertEquals(0x27, pic.acknowledge());
        assertEquals(0, pic.isr());
        out(0x21, 0);
        assertEquals(0x24, pic.acknowledge(), "the masked request is still latched");
    }

    @Test
    void aRealIrq7IsInService() {
        remap();
        pic.raise(7);
        assertEquals(0x27, pic.acknowledge());
        assertEquals(0x80, pic.isr(), "the handler tells the two apart by ISR bit 7");
    }

    @Test
    void spuriousIrq15PutsIr2InServiceOnTheMaster() {
        remap();
        pic.raise(12);
        assertTrue(pic.intr());
        pic.lower(12);
        assertEquals(0x2f, pic.acknowledge(), "the slave answers with its IR7 vector");
        assertEquals(1 << 2, pic.isr(), "the master put IR2 in service and needs its EOI; the slave set nothing");
        out(0x20, 0x20);
        assertEquals(0, pic.isr());
        assertFalse(pic.intr());
    }

    @Test
    void spuriousIrq15WhenTheSlaveMaskChangesBeforeInta() {
        remap();
        pic.raise(9);
        out(0xa1, 1 << 1);
        assertTrue(pic.intr(), "the master's IR2 is latched");
        assertEquals(0x2f, pic.acknowledge());
        assertEquals(1 << 2, pic.isr());
    }

    @Test
    void readingIrrAndIsrThroughOcw3() {
        remap();
        pic.raise(3);
        pic.raise(1);
        pic.raise(12);
        assertEquals(0x0a | 0x04, in(0x20), "IRR is read after initialisation");
        assertEquals(0x10, in(0xa0));
        assertEquals(0x21, pic.acknowledge());
        out(0x20, 0x0b); // OCW3 RR=1 RIS=1: ISR
        assertEquals(0x02, in(0x20));
        assertEquals(0x02, in(0x20), "the selection stays until changed");
        out(0x20, 0x08); // OCW3 with RR=0: no change
        assertEquals(0x02, in(0x20));
        out(0x20, 0x0a); // IRR
        assertEquals(0x0c, in(0x20));
        assertEquals(0x00, in(0x21), "the odd port reads the IMR");
    }

    @Test
    void pollModeActsAsAnAcknowledge() {
        remap();
        pic.raise(6);
        pic.raise(3);
        out(0x20, 0x0c); // OCW3 P=1
        assertEquals(0x83, in(0x20), "I bit and the highest-priority level");
        assertEquals(0x08, pic.isr());
        assertEquals(0x40, in(0x20), "poll is for one read only; IRR follows");
        out(0x20, 0x0c);
        assertEquals(0x00, in(0x20), "IRQ 6 is below IRQ 3 in service: nothing to poll");
        out(0x20, 0x20);
        out(0x20, 0x0c);
        assertEquals(0x86, in(0x20));
    }

    @Test
    void icw1ResetsMaskServiceAndEdgeSense() {
        remap();
        pic.raise(1);
        assertEquals(0x21, pic.acknowledge());
        out(0x21, 0x55);
        pic.raise(4);
        out(0x20, 0x11);
        out(0x21, 0x40, 0x04, 0x01);
        assertEquals(0, pic.imr() & 0xff);
        assertEquals(0, pic.isr());
        assertEquals(0, pic.irr(), "the edge sense circuit is reset: IRQ 4, still high, must rise again");
        assertFalse(pic.intr());
        pic.lower(4);
        pic.raise(4);
        assertEquals(0x44, pic.acknowledge());
    }

    @Test
    void noInterruptsInTheMiddleOfTheInitialisationSequence() {
        remap();
        out(0x20, 0x11);
        out(0x21, 0x30);
        pic.raise(0);
        assertFalse(pic.intr(), "ICW3 and ICW4 are still to come");
        out(0x21, 0x04, 0x01);
        assertTrue(pic.intr());
        assertEquals(0x30, pic.acknowledge());
    }

    @Test
    void oddPortWritesDuringTheSequenceAreIcwsNotMasks() {
        // Writes to the odd port during the sequence are ICW2-4; the mask is untouched until it ends.
        remap();
        out(0x20, 0x11);
        out(0x21, 0x20, 0x04);
        assertEquals(0, pic.imr() & 0xff);
        out(0x21, 0x01); // ICW4, not OCW1
        assertEquals(0, pic.imr() & 0xff);
        out(0x21, 0x01); // now OCW1
        assertEquals(1, pic.imr() & 0xff);
    }

    @Test
    void singleModeSkipsIcw3AndNoIcw4MeansEightyEightyMode() {
        out(0x20, 0x12); // SNGL, no IC4
        out(0x21, 0x40);
        assertTrue(warnings.stream().anyMatch(w -> w.contains("8080")), warnings.toString());
        assertTrue(warnings.stream().anyMatch(w -> w.contains("single mode")), warnings.toString());
        pic.raise(6);
        assertEquals(0x46, pic.acknowledge());
        pic.raise(1);
        out(0x21, 0x00);
        assertEquals(0x41, pic.acknowledge());
    }

    @Test
    void aMasterWithoutASlaveOnIr2GivesBasePlus2ForSlaveIrqs() {
        out(0x20, 0x11);
        out(0x21, 0x20, 0x00, 0x01);
        out(0xa0, 0x11);
        out(0xa1, 0x28, 0x02, 0x01);
        assertTrue(warnings.stream().anyMatch(w -> w.contains("no slave on IR2")), warnings.toString());
        pic.raise(13);
        assertEquals(0x22, pic.acknowledge());
    }

    @Test
    void aSlaveWithAnotherIdLeavesTheBusFloating() {
        out(0x20, 0x11);
        out(0x21, 0x20, 0x04, 0x01);
        out(0xa0, 0x11);
        out(0xa1, 0x28, 0x03, 0x01);
        assertTrue(warnings.stream().anyMatch(w -> w.contains("slave ID 3")), warnings.toString());
        pic.raise(13);
        assertEquals(0xff, pic.acknowledge());
    }

    @Test
    void autoEoiNeverSetsIsrAndAllowsTheNextRequestAtOnce() {
        out(0x20, 0x11);
        out(0x21, 0x20, 0x04, 0x03);
        pic.raise(5);
        assertEquals(0x25, pic.acknowledge());
        assertEquals(0, pic.isr() & 0xff);
        pic.raise(6);
        assertTrue(pic.intr(), "nothing in service blocks a lower level");
    }

    /** "Automatic Rotation" and "Specific Rotation": after each command, the order in which IRQs 0-7 are served. */
    @ParameterizedTest(name = "OCW2 {0} -> {1}")
    @CsvSource({
            "0xc7, '0 1 3 4 5 6 7'", // set priority: 7 lowest, the fixed order
            "0xc3, '4 5 6 7 0 1 3'", // set priority: 3 lowest, so 4 highest
            "0xc0, '1 3 4 5 6 7 0'",
            "0xc5, '6 7 0 1 3 4 5'",
    })
    void setPriorityRotatesTheOrder(String ocw2, String served) {
        remap();
        out(0x20, Integer.decode(ocw2));
        for (int irq : new int[] {0, 1, 3, 4, 5, 6, 7}) {
            pic.raise(irq);
        }
        List<Integer> order = new ArrayList<>();
        while (pic.intr()) {
            int irq = pic.acknowledge() - 0x20;
            order.add(irq);
            pic.lower(irq);
            out(0x20, 0x20);
        }
        assertEquals(Arrays.stream(ints(served)).boxed().toList(), order);
        assertTrue(warnings.isEmpty(), warnings.toString());
    }

    @Test
    void rotateOnNonSpecificEoiGivesEqualPriority() {
        remap();
        for (int irq : new int[] {1, 4, 6}) {
            pic.raise(irq);
        }
        assertEquals(0x21, pic.acknowledge());
        out(0x20, 0xa0); // rotate on non-specific EOI: IRQ 1 becomes the lowest
        pic.lower(1);
        pic.raise(1);
        assertEquals(0x24, pic.acknowledge());
        out(0x20, 0xa0); // IRQ 4 lowest: 5 6 7 0 1 2 3 4
        assertEquals(0x26, pic.acknowledge());
        out(0x20, 0xe6); // rotate on specific EOI 6: 7 0 1 ... 6
        assertEquals(0x21, pic.acknowledge());
        assertEquals(0x02, pic.isr() & 0xff);
    }

    @Test
    void rotateInAutoEoiMode() {
        out(0x20, 0x11);
        out(0x21, 0x20, 0x04, 0x03);
        out(0x20, 0x80); // rotate in AEOI mode: set
        pic.raise(1);
        pic.raise(3);
        assertEquals(0x21, pic.acknowledge());
        pic.lower(1);
        pic.raise(1);
        assertEquals(0x23, pic.acknowledge(), "IRQ 1 went to the bottom when acknowledged");
        out(0x20, 0x00); // rotate in AEOI mode: clear
        pic.lower(3);
        pic.raise(3);
        assertEquals(0x21, pic.acknowledge(), "the order IRQ 3 left behind (4 5 6 7 0 1 2 3) stays");
    }

    @Test
    void specialMaskModeEnablesLowerLevels() {
        remap();
        pic.raise(3);
        assertEquals(0x23, pic.acknowledge());
        pic.raise(5);
        assertFalse(pic.intr());
        out(0x21, 1 << 3); // the handler masks its own level...
        out(0x20, 0x68); // ...and sets special mask mode (OCW3 ESMM SMM)
        assertTrue(pic.intr(), "IRQ 5, below IRQ 3 in service, is enabled");
        assertEquals(0x25, pic.acknowledge());
        assertEquals(0x28, pic.isr() & 0xff);
        out(0x20, 0x65); // specific EOI for 5, as special mask mode wants
        out(0x20, 0x48); // reset special mask mode
        out(0x21, 0);
        out(0x20, 0x63);
        assertEquals(0, pic.isr());
    }

    @Test
    void levelTriggeredInputsRequestAgainWhileHigh() {
        out(0x20, 0x19); // LTIM
        out(0x21, 0x20, 0x04, 0x01);
        pic.raise(6);
        assertEquals(0x26, pic.acknowledge());
        assertEquals(0x40, pic.irr() & 0xff, "in level mode IRR follows the pin");
        out(0x20, 0x20);
        assertTrue(pic.intr(), "still high after EOI: another interrupt");
        pic.lower(6);
        assertFalse(pic.intr());
    }

    @Test
    void edgeTriggeredInputsRequestOncePerRisingEdge() {
        remap();
        pic.raise(6);
        pic.raise(6);
        assertEquals(0x26, pic.acknowledge());
        out(0x20, 0x20);
        assertFalse(pic.intr(), "still high, but no new edge");
        pic.lower(6);
        pic.raise(6);
        assertTrue(pic.intr());
    }

    @Test
    void irq2IsTheCascadeAndNotADeviceLine() {
        assertThrows(IllegalArgumentException.class, () -> pic.raise(2));
        assertThrows(IllegalArgumentException.class, () -> pic.line(16));
    }

    @Test
    void aLineDrivesRaiseAndLower() {
        remap();
        IrqLine line = pic.line(5);
        line.set(true);
        assertTrue(pic.intr());
        line.set(false);
        assertFalse(pic.intr());
        IrqLine slaveLine = pic.line(11);
        slaveLine.set(true);
        assertEquals(0x2b, pic.acknowledge());
    }
}
