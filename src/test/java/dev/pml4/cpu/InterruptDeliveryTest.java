package dev.pml4.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pml4.ffi.unicorn.DescriptorRegister;
import dev.pml4.ffi.unicorn.X86Reg;
import dev.pml4.machine.KernelImages;
import dev.pml4.machine.Machine;
import dev.pml4.machine.PhysicalMemory;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * Delivery through synthetic IDTs (SDM Vol. 3A 6.12, 6.14, 6.15): a flat image of a few bytes,
 * a GDT, TSS and IDT written by the test, one event, and every handler a HLT, so that the run stops
 * in the handler that was reached, with its frame on the stack.
 */
class InterruptDeliveryTest {
    static final long CODE = 0x100000;      // the kernel's instruction(s)
    static final long USER_CODE = 0x100040;  // the user program's (CPL 3 cases)
    static final long HANDLERS = 0x101000;   // handler for vector v at HANDLERS + 16 v: HLT
    static final long GDT = 0x200000;
    static final long TSS = 0x201000;
    static final long IDT = 0x202000;
    static final long RSP0 = 0x70000;
    static final long IST1 = 0x60000;
    static final long KERNEL_RSP = 0x80000;
    static final long USER_RSP = 0x50000;

    @TempDir
    Path dir;

    /** One gate: vector, type (0xE interrupt, 0xF trap), DPL, present, IST. */
    record Gate(int vector, int type, int dpl, boolean present, int ist) {
        static Gate interrupt(int vector) {
            return new Gate(vector, 0xE, 0, true, 0);
        }
    }

    record Outcome(int status, long rip, long rsp, long rflags, long[] frame, int cpl, long cr2) {
    }

    /** Boots {@code code} at CODE (or a user program at USER_CODE when {@code user}) with these gates. */
    Outcome run(byte[] code, boolean user, long rflags, long rsp, List<Gate> gates, long idtLimit) throws Exception {
        byte[] image = new byte[0x2000];
        byte[] start = user ? new byte[]{0x48, (byte) 0xcf} : code; // IRETQ into the user program
        System.arraycopy(start, 0, image, 0, start.length);
        if (user) {
            System.arraycopy(code, 0, image, (int) (USER_CODE - CODE), code.length);
        }
        for (int v = 0; v < 256; v++) {
            image[(int) (HANDLERS - CODE) + 16 * v] = (byte) 0xf4; // HLT
        }
        Path file = dir.resolve("synthetic.bin");
        Files.write(file, image);
        try (Machine m = new Machine(Machine.Config.defaults(OutputStream.nullOutputStream()).withInstructionLimit(10_000))) {
            m.boot(KernelImages.read(file, OptionalLong.empty(), OptionalLong.empty()), null);
            PhysicalMemory mem = m.memory();
            // GDT: null, kernel code 0x08, kernel data 0x10, user data 0x18, user code 0x20, TSS 0x28.
            long[] gdt = {0, 0x00209A0000000000L, 0x0000920000000000L, 0x0000F20000000000L, 0x0020FA0000000000L,
                    0x0000890000000067L | (TSS & 0xffffffL) << 16 | (TSS >>> 24 & 0xff) << 56, 0};
            for (int i = 0; i < gdt.length; i++) {
                mem.write64(GDT + 8L * i, gdt[i]);
            }
            mem.write64(TSS + 4, RSP0);
            mem.write64(TSS + 36, IST1);
            for (Gate g : gates) {
                long handler = HANDLERS + 16L * g.vector();
                long low = (handler & 0xffff) | 0x08L << 16 | (long) g.ist() << 32 | (long) g.type() << 40
                        | (long) g.dpl() << 45 | (g.present() ? 1L << 47 : 0) | (handler >>> 16 & 0xffff) << 48;
                mem.write64(IDT + 16L * g.vector(), low);
                mem.write64(IDT + 16L * g.vector() + 8, handler >>> 32);
            }
            if (user) {
                // The first GiB becomes user-accessible: PML4[0], PDPT[0] and the PD's entries.
                mem.write64(0x1000, mem.read64(0x1000) | 4);
                mem.write64(0x2000, mem.read64(0x2000) | 4);
                for (int i = 0; i < 512; i++) {
                    mem.write64(0x3000 + 8L * i, mem.read64(0x3000 + 8L * i) | 4);
                }
                long frame = KERNEL_RSP - 40;
                long[] iret = {USER_CODE, 0x23, rflags, rsp, 0x1b};
                for (int i = 0; i < 5; i++) {
                    mem.write64(frame + 8L * i, iret[i]);
                }
                m.engine().writeRegister(X86Reg.RSP, frame);
            } else {
                m.engine().writeRegister(X86Reg.RSP, rsp);
                m.engine().writeRegister(X86Reg.RFLAGS, rflags);
            }
            m.engine().writeDescriptorRegister(X86Reg.GDTR, new DescriptorRegister(0, GDT, 8 * gdt.length - 1, 0));
            m.engine().writeDescriptorRegister(X86Reg.TR, new DescriptorRegister(0x28, TSS, 0x67, 0x8b));
            m.engine().writeDescriptorRegister(X86Reg.IDTR, new DescriptorRegister(0, IDT, (int) idtLimit, 0));
            Machine.RunResult r = m.run();
            long stopRsp = m.engine().readRegister(X86Reg.RSP);
            long[] frame = new long[6];
            for (int i = 0; i < 6; i++) {
                frame[i] = mem.read64(stopRsp + 8L * i);
            }
            return new Outcome(r.exitStatus(), m.engine().readRegister(X86Reg.RIP), stopRsp,
                    m.engine().readRegister(X86Reg.RFLAGS), frame, m.cpu().cpl(), m.cpu().controlRegisters().cr2());
        }
    }

    static final byte[] INT3 = {(byte) 0xcc};
    static final byte[] UD2 = {0x0f, 0x0b};

    static long handlerOf(int vector) {
        return HANDLERS + 16L * vector + 1; // after its HLT
    }

    // ---- gate rules -------------------------------------------------------------------------

    @ParameterizedTest(name = "type 0x{0}: IF after delivery {1}")
    @CsvSource({"E, false", "F, true"})
    void interruptGatesClearIfAndTrapGatesDoNot(String type, boolean ifAfter) throws Exception {
        Outcome o = run(INT3, false, 0x202, KERNEL_RSP, List.of(new Gate(3, Integer.parseInt(type, 16), 0, true, 0)), 0xfff);
        assertEquals(handlerOf(3), o.rip());
        assertEquals(ifAfter, (o.rflags() & 0x200) != 0);
        assertEquals(0x202, o.frame()[2], "the frame holds RFLAGS as it was, IF included");
    }

    /** Each row: the gate problem, and the error code of the #GP/#NP that the processor delivers instead. */
    static Stream<Object[]> brokenGates() {
        return Stream.of(
                new Object[]{"not present", new Gate(3, 0xE, 0, false, 0), 0xfffL, 11, 3 << 3 | 2},
                new Object[]{"a call gate type", new Gate(3, 0xC, 0, true, 0), 0xfffL, 13, 3 << 3 | 2},
                new Object[]{"a 16-bit gate type", new Gate(3, 0x6, 0, true, 0), 0xfffL, 13, 3 << 3 | 2});
    }

    @ParameterizedTest(name = "INT3 through {0}")
    @MethodSource("brokenGates")
    void aBrokenGateRaisesTheFaultTheSdmNames(String what, Gate gate, long limit, int vector, int error) throws Exception {
        List<Gate> gates = new ArrayList<>(List.of(gate, Gate.interrupt(11), Gate.interrupt(13)));
        Outcome o = run(INT3, false, 0x2, KERNEL_RSP, gates, limit);
        assertEquals(handlerOf(vector), o.rip(), what);
        assertEquals(error, o.frame()[0], "error code");
        assertEquals(CODE, o.frame()[1], "a fault in delivering INT3 reports the INT3's own RIP");
    }

    @ParameterizedTest(name = "RSP 0x{0} -> frame at 0x{1}")
    @CsvSource({"80000, 7ffd8", "7fff8, 7ffc8", "7fff5, 7ffc8", "7ffff, 7ffc8", "80008, 7ffd8"})
    void theStackIsAlignedTo16BeforeThePushes(String rsp, String frame) throws Exception {
        Outcome o = run(UD2, false, 0x2, Long.parseLong(rsp, 16), List.of(Gate.interrupt(6)), 0xfff);
        assertEquals(handlerOf(6), o.rip());
        assertEquals(Long.parseLong(frame, 16), o.rsp());
        assertEquals(Long.parseLong(rsp, 16), o.frame()[3], "the old RSP is pushed unaligned");
        assertEquals(0x10, o.frame()[4], "SS is pushed even without a privilege change");
    }

    @ParameterizedTest(name = "IST {0}")
    @CsvSource({"0, 7ffd8", "1, 5ffd8"})
    void anIstEntryTakesItsStackFromTheTss(int ist, String frame) throws Exception {
        Outcome o = run(UD2, false, 0x2, KERNEL_RSP, List.of(new Gate(6, 0xE, 0, true, ist)), 0xfff);
        assertEquals(Long.parseLong(frame, 16), o.rsp());
    }

    // ---- privilege ---------------------------------------------------------------------------

    @ParameterizedTest(name = "INT3 from CPL 3 through a DPL {0} gate")
    @CsvSource({"3, 3, 0", "0, 13, 26"})
    void softwareInterruptsFromUserModeNeedADpl3Gate(int dpl, int vector, long error) throws Exception {
        Outcome o = run(INT3, true, 0x202, USER_RSP, List.of(new Gate(3, 0xE, dpl, true, 0), Gate.interrupt(13)), 0xfff);
        assertEquals(handlerOf(vector), o.rip());
        assertEquals(0, o.cpl());
        int base = vector == 13 ? 1 : 0; // #GP pushes an error code first
        if (vector == 13) {
            assertEquals(error, o.frame()[0], "#GP(3 << 3 | 2): the IDT entry");
        }
        assertEquals(vector == 3 ? USER_CODE + 1 : USER_CODE, o.frame()[base], "INT3 returns after itself; its #GP reports it");
        assertEquals(0x23, o.frame()[base + 1], "CS of the user program");
        assertEquals(USER_RSP, o.frame()[base + 3]);
        assertEquals(0x1b, o.frame()[base + 4]);
        assertEquals(RSP0 - 8L * (vector == 13 ? 6 : 5), o.rsp(), "the stack switched to TSS.RSP0");
    }

    @ParameterizedTest(name = "exceptions from CPL 3 need no DPL: vector {0}")
    @CsvSource({"6"})
    void exceptionsIgnoreTheGateDpl(int vector) throws Exception {
        Outcome o = run(UD2, true, 0x202, USER_RSP, List.of(Gate.interrupt(vector)), 0xfff);
        assertEquals(handlerOf(vector), o.rip());
        assertEquals(USER_CODE, o.frame()[0]);
    }

    /** Unicorn's "until" is an address: code at linear 0 must run like any other (it once stalled there). */
    @ParameterizedTest(name = "jump to 0")
    @CsvSource({"0"})
    void codeAtAddressZeroRuns(int unused) throws Exception {
        // xor eax, eax; jmp rax: the zero bytes at 0 (add [rax], al) run, then the page tables
        // at 0x1000 decode as something that faults, and with no gates that is a triple fault.
        Outcome o = run(new byte[]{0x31, (byte) 0xc0, (byte) 0xff, (byte) 0xe0}, false, 0x2, KERNEL_RSP, List.of(), 0xfff);
        assertEquals(4, o.status(), "the code at 0 ran into a fault, rather than stalling (an internal error, 8)");
        assertTrue(o.rip() >= 0x1000, "RIP moved on from 0: 0x" + Long.toHexString(o.rip()));
    }

    /**
     * No jump target may be the engine's "until" address: a jump to the last byte of the address
     * space, or to a non-canonical address, faults like any other (it once ended as an internal
     * error, 8: "the engine makes no progress at RIP 0xffffffffffffffff", issue 13).
     */
    @ParameterizedTest(name = "jump to {0}")
    @CsvSource({
            "0xffffffffffffffff, 48 c7 c0 ff ff ff ff ff e0",
            "0x8000000000000000, 48 b8 00 00 00 00 00 00 00 80 ff e0",
            "0x7fffffffffffffff, 48 b8 ff ff ff ff ff ff ff 7f ff e0"})
    void aJumpToTheEndOfTheAddressSpaceOrBeyondFaults(String target, String code) throws Exception {
        Outcome o = run(java.util.HexFormat.ofDelimiter(" ").parseHex(code), false, 0x2, KERNEL_RSP, List.of(), 0xfff);
        assertEquals(4, o.status(), "a fault with no gates: a triple fault, not an internal error (8)");
    }

    /**
     * Sensitive instructions in encodings the fuzzer found (issue 13): MOV to or from SS with REX.R
     * decodes as no instruction (#UD, as QEMU gives), INVLPG under a 67 prefix takes a 32-bit
     * address, LMSW takes a memory operand; FNSAVE's helper stores on after its first store
     * faulted, and the engine crashed when pml4 mapped pages under it. None may end the run as an
     * internal error (8), nor kill the JVM.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "MOV [r14+0x66] SS with REX.R, 45 8c 56 66",
            "MOV SS [rdi-0xf] with REX.R, 44 8e 57 f1",
            "INVLPG [eax], 67 0f 01 38",
            "INVLPG [esp], 67 0f 01 3c 24",
            "LMSW [rax], 0f 01 30",
            "FNSAVE [rax+rdx*8-6] across the top of the address space (a helper storing on after its fault), dd 74 d0 fa"})
    void unusualEncodingsOfEmulatedInstructionsEndWell(String what, String code) throws Exception {
        Outcome o = run(java.util.HexFormat.ofDelimiter(" ").parseHex(code), false, 0x2, KERNEL_RSP, List.of(), 0xfff);
        assertTrue(o.status() == 0 || o.status() == 4 || o.status() == 6, what + ": status " + o.status());
    }

    // ---- the double-fault table -------------------------------------------------------------

    /** SDM Table 6-5, every class pair: benign (B), contributory (C), page fault (P). */
    @ParameterizedTest(name = "first {0}, second {1}: #DF {2}")
    @CsvSource({
            "1, 1, false", "1, 13, false", "1, 14, false",
            "0, 6, false", "13, 3, false", "14, 6, false",
            "0, 13, true", "13, 10, true", "12, 11, true", "10, 0, true",
            "0, 14, false", "13, 14, false",
            "14, 13, true", "14, 0, true", "14, 14, true", "14, 6, false"})
    void table65(int first, int second, boolean doubleFault) {
        assertEquals(doubleFault, InterruptDelivery.becomesDoubleFault(first, second));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            // what is wrong, gates present, expected handler vector (-1: triple fault), its error code
            "#GP while delivering #UD (gate 6 missing): serial, '13', 13, 51",
            "#NP while delivering #GP (gate 13 not present): #DF, '8', 8, 0",
            "#GP while delivering #DF: triple fault, '', -1, 0"})
    void faultsWhileDelivering(String what, String present, int handled, long error) throws Exception {
        List<Gate> gates = new ArrayList<>();
        for (String v : present.isBlank() ? new String[0] : present.split(" ")) {
            gates.add(Gate.interrupt(Integer.parseInt(v)));
        }
        if (what.contains("gate 13 not present")) {
            gates.add(new Gate(6, 0xC, 0, true, 0)); // #UD's gate is a call gate: #GP(6 << 3 | 2)
            gates.add(new Gate(13, 0xE, 0, false, 0));
        }
        Outcome o = run(UD2, false, 0x2, KERNEL_RSP, gates, 0xfff);
        if (handled < 0) {
            assertEquals(4, o.status(), what);
            return;
        }
        assertEquals(handlerOf(handled), o.rip(), what);
        assertEquals(error, o.frame()[0], what);
        assertTrue(o.status() == 0 || o.status() == 6, "stopped in the handler");
    }

    /**
     * A #PF while the frame of #UD is pushed: CR2 is the first slot the processor could not write,
     * and it writes SS first, at the new stack top - 8 (QEMU and Bochs; the SDM orders the pushes
     * SS, RSP, RFLAGS, CS, RIP, error code, 6.14.2). The #PF is delivered on IST1, as a kernel does.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
            // why, RSP at the #UD, CR2 expected
            "the whole frame in a page that is not mapped, 0x10000001000, 0x10000000ff8",
            "SS and RSP above the mapped 4 GiB the rest below, 0x100000010, 0x100000008",
            "an unaligned RSP is aligned to 16 first, 0x1000000100c, 0x10000000ff8"})
    void aPageFaultWhilePushingNamesTheFirstSlotWrittenInCr2(String why, String rsp, String cr2) throws Exception {
        List<Gate> gates = List.of(Gate.interrupt(6), new Gate(14, 0xE, 0, true, 1));

        Outcome o = run(UD2, false, 0x2, Long.decode(rsp), gates, 0xfff);

        assertEquals(handlerOf(14), o.rip(), why);
        assertEquals(Long.decode(cr2), o.cr2(), why);
        assertEquals(0x2, o.frame()[0], "#PF(W=1) of a supervisor write to a page that is not present");
    }
}
