package dev.pml4.cpu;

import dev.pml4.ffi.unicorn.DescriptorRegister;
import dev.pml4.ffi.unicorn.X86Reg;
import dev.pml4.mmu.AccessMode;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Delivers exceptions and interrupts through the guest's IDT as a processor in IA-32e mode does
 * (SDM Vol. 3A 6.14 "Exception and Interrupt Handling in 64-bit Mode", 6.12.1), or in protected
 * mode (EFER.LMA = 0: 8-byte gates, the 32-bit TSS's SS0:ESP0, a 32-bit frame; SDM 6.11, 6.12.1,
 * 7.2.1), all in Java: the
 * engine never raises an exception itself (DESIGN.md, fact 1). A fault during delivery is combined
 * with the one being delivered by the double-fault rules (SDM Vol. 3A 6.15, interrupt 8, Table
 * 6-5); a fault while delivering #DF is a triple fault, which ends the run.
 */
final class InterruptDelivery {
    /** Where an event comes from decides the privilege check, EXT and the RIP pushed. */
    enum Source {
        /** A fault or abort the processor detects: RIP of the instruction is pushed. */
        EXCEPTION,
        /** INT n, INT3: the gate's DPL is checked against CPL; the next RIP is pushed. */
        SOFTWARE,
        /** INT1 (ICEBP): no DPL check (SDM 6.12.1.1); the next RIP is pushed. */
        ICEBP,
        /** An interrupt from the PIC: the RIP of the next instruction to run is pushed. */
        EXTERNAL
    }

    /**
     * One event to deliver. {@code errorCode} is -1 for vectors that push none; {@code returnRip}
     * is what the frame holds, {@code instructionRip} the instruction that caused the event (for
     * INT n the INT itself: a fault in its delivery reports that RIP, SDM 6.5).
     */
    record Event(int vector, int errorCode, long cr2, Source source, long returnRip, long instructionRip, String reason) {

        String name() {
            return source == Source.EXTERNAL ? "interrupt " + vector : ArchitecturalException.name(vector);
        }

        @Override
        public String toString() {
            return name() + (errorCode >= 0 ? String.format("(0x%x)", errorCode) : "")
                    + (vector == ArchitecturalException.PF ? String.format(" CR2=0x%x", cr2) : "")
                    + (reason != null ? " (" + reason + ")" : "");
        }
    }

    /** What a delivery did: the frame pushed, for the tracer and the debugger. */
    record Delivered(Event event, long handler, int newCpl, long frameAddress, long[] frame) {
    }

    // RFLAGS bits (SDM Vol. 1 3.4.3).
    static final long RFLAGS_TF = 1L << 8;
    static final long RFLAGS_IF = 1L << 9;
    static final long RFLAGS_NT = 1L << 14;
    static final long RFLAGS_RF = 1L << 16;
    static final long RFLAGS_VM = 1L << 17;

    // Gate and descriptor types (SDM Vol. 3A 3.5, Table 3-2, 64-bit mode).
    private static final int GATE_INTERRUPT = 0xE;
    private static final int GATE_TRAP = 0xF;
    /** Protected mode only (SDM Table 3-2): a task gate, 16-bit interrupt and trap gates. */
    private static final int GATE_TASK = 0x5;
    private static final int GATE_INTERRUPT_16 = 0x6;
    private static final int GATE_TRAP_16 = 0x7;

    private final Cpu cpu;

    InterruptDelivery(Cpu cpu) {
        this.cpu = cpu;
    }

    /** The outcome of {@link #deliver}: the delivery that succeeded, or the triple fault. */
    sealed interface Outcome permits Success, Shutdown {
    }

    record Success(Delivered delivered, List<Event> chain) implements Outcome {
    }

    record Shutdown(List<Event> chain, String why) implements Outcome {
    }

    /**
     * Delivers {@code event}; a fault found on the way is combined with it by SDM Table 6-5 and
     * delivered instead, until one delivery succeeds or a fault meets a #DF being delivered.
     */
    Outcome deliver(Event event) {
        List<Event> chain = new ArrayList<>();
        Event current = event;
        while (true) {
            chain.add(current);
            if (current.vector() == ArchitecturalException.PF) {
                cpu.control.setCr2(current.cr2()); // CR2 is loaded when the #PF is detected (SDM 6.15, #PF)
            }
            ArchitecturalException second;
            try {
                return new Success(attempt(current), List.copyOf(chain));
            } catch (ArchitecturalException e) {
                second = e;
            }
            Event next = new Event(second.vector(), second.errorCode(), second.faultAddress(), Source.EXCEPTION,
                    faultRip(current), faultRip(current), second.reason() + ", while delivering " + current.name());
            if (current.vector() == ArchitecturalException.DF && current.source() == Source.EXCEPTION) {
                chain.add(next);
                return new Shutdown(List.copyOf(chain), "a fault while delivering #DF is a triple fault (SDM 6.15, interrupt 8)");
            }
            if (current.source() == Source.EXCEPTION && becomesDoubleFault(current.vector(), second.vector())) {
                chain.add(next);
                if (second.vector() == ArchitecturalException.PF) {
                    cpu.control.setCr2(second.faultAddress());
                }
                current = new Event(ArchitecturalException.DF, 0, 0, Source.EXCEPTION, faultRip(current), faultRip(current),
                        ArchitecturalException.name(second.vector()) + " while delivering " + ArchitecturalException.name(current.vector()));
            } else {
                current = next; // handled serially (Table 6-5: benign combinations)
            }
        }
    }

    /** The RIP a fault found during the delivery of {@code e} reports: the instruction's (a fault, SDM 6.5). */
    private static long faultRip(Event e) {
        return e.instructionRip();
    }

    /** SDM Vol. 3A Table 6-5 (conditions for generating a double fault). */
    static boolean becomesDoubleFault(int first, int second) {
        boolean firstContributory = contributory(first);
        boolean secondContributory = contributory(second);
        if (firstContributory && secondContributory) {
            return true;
        }
        return first == ArchitecturalException.PF && (secondContributory || second == ArchitecturalException.PF);
    }

    /** Table 6-4: #DE, #TS, #NP, #SS, #GP are contributory. */
    static boolean contributory(int vector) {
        return vector == ArchitecturalException.DE || vector == ArchitecturalException.TS || vector == ArchitecturalException.NP
                || vector == ArchitecturalException.SS || vector == ArchitecturalException.GP;
    }

    /** One attempt: reads the gate and descriptors, switches stacks, pushes the frame, enters the handler. */
    private Delivered attempt(Event e) {
        if ((cpu.control.efer() & ControlRegisters.EFER_LMA) == 0) {
            return attemptProtected(e);
        }
        int vector = e.vector();
        int ext = e.source() == Source.SOFTWARE ? 0 : 1;
        int idtError = vector << 3 | 2 | ext; // error code naming an IDT entry (SDM 6.13)
        DescriptorRegister idtr = cpu.engine.readDescriptorRegister(X86Reg.IDTR);
        if ((long) vector * 16 + 15 > idtr.limit()) {
            throw new ArchitecturalException(ArchitecturalException.GP, idtError, 0, String.format(
                    "IDT entry %d lies beyond the IDT limit 0x%x", vector, idtr.limit()));
        }
        ByteBuffer gate = implicitRead(idtr.base() + 16L * vector, 16);
        long low = gate.getLong(0);
        long high = gate.getLong(8);
        int type = (int) (low >>> 40) & 0xf;
        int dpl = (int) (low >>> 45) & 3;
        boolean present = (low >>> 47 & 1) != 0;
        int selector = (int) (low >>> 16) & 0xffff;
        int ist = (int) (low >>> 32) & 7;
        long offset = (low & 0xffff) | (low >>> 48 & 0xffff) << 16 | (high & 0xffffffffL) << 32;
        if (type != GATE_INTERRUPT && type != GATE_TRAP) {
            throw new ArchitecturalException(ArchitecturalException.GP, idtError, 0, String.format(
                    "IDT entry %d has type 0x%x, not a 64-bit interrupt (0xE) or trap (0xF) gate", vector, type));
        }
        if (e.source() == Source.SOFTWARE && dpl < cpu.cpl) {
            throw new ArchitecturalException(ArchitecturalException.GP, vector << 3 | 2, 0, String.format(
                    "INT %d from CPL %d through a gate of DPL %d", vector, cpu.cpl, dpl));
        }
        if (!present) {
            throw new ArchitecturalException(ArchitecturalException.NP, idtError, 0, String.format(
                    "IDT entry %d is not present", vector));
        }

        SegmentDescriptor code = SegmentDescriptor.read(cpu, selector, ext, "the gate's code segment");
        if (!code.isCode() || !code.longMode()) {
            throw new ArchitecturalException(ArchitecturalException.GP, (selector & ~3) | ext, 0, String.format(
                    "selector 0x%x of IDT entry %d is not a 64-bit code segment", selector, vector));
        }
        if (code.dpl() > cpu.cpl) {
            throw new ArchitecturalException(ArchitecturalException.GP, (selector & ~3) | ext, 0, String.format(
                    "the handler's code segment 0x%x has DPL %d above CPL %d", selector, code.dpl(), cpu.cpl));
        }
        if (!code.present()) {
            throw new ArchitecturalException(ArchitecturalException.NP, (selector & ~3) | ext, 0, String.format(
                    "the handler's code segment 0x%x is not present", selector));
        }
        if (!cpu.canonical(offset)) {
            throw new ArchitecturalException(ArchitecturalException.GP, ext, 0, String.format(
                    "IDT entry %d points at the non-canonical address 0x%x", vector, offset));
        }
        int newCpl = code.conforming() ? cpu.cpl : code.dpl();
        boolean privilegeChange = newCpl < cpu.cpl;

        long oldRsp = cpu.engine.readRegister(X86Reg.RSP);
        long rsp;
        if (ist != 0) {
            rsp = tssStack(36 + 8 * (ist - 1), ext, "IST" + ist); // SDM 7.7, Figure 7-11
        } else if (privilegeChange) {
            rsp = tssStack(4 + 8 * newCpl, ext, "RSP" + newCpl);
        } else {
            rsp = oldRsp;
        }
        rsp &= ~0xfL; // 64-bit mode aligns the new stack to 16 bytes (SDM 6.14.2)
        if (!cpu.canonical(rsp - 48)) {
            throw new ArchitecturalException(ArchitecturalException.SS, ext, 0, String.format(
                    "the handler's stack 0x%x is not canonical", rsp));
        }
        long rflags = cpu.engine.readRegister(X86Reg.RFLAGS);
        boolean hasError = e.errorCode() >= 0;
        long[] frame = hasError
                ? new long[]{e.errorCode() & 0xffffffffL, e.returnRip(), cpu.cs, rflags, oldRsp, cpu.ss}
                : new long[]{e.returnRip(), cpu.cs, rflags, oldRsp, cpu.ss};
        long frameAddress = rsp - 8L * frame.length;
        ByteBuffer bytes = ByteBuffer.allocate(8 * frame.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : frame) {
            bytes.putLong(v);
        }
        // The pushes are supervisor accesses when the handler runs at CPL 0 (SDM 4.6: implicit
        // accesses to the stack during delivery use the new privilege level).
        cpu.writeLinear(frameAddress, bytes.array(), newCpl == 3 ? AccessMode.USER : AccessMode.IMPLICIT_SUPERVISOR);

        // Committed: nothing below can fault.
        long newFlags = rflags & ~(RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM);
        if (type == GATE_INTERRUPT) {
            newFlags &= ~RFLAGS_IF;
        }
        int oldCpl = cpu.cpl;
        cpu.engine.writeRegister(X86Reg.RSP, frameAddress);
        cpu.engine.writeRegister(X86Reg.RFLAGS, newFlags);
        cpu.cs = (selector & ~3) | newCpl;
        if (privilegeChange) {
            cpu.ss = newCpl; // a NULL selector with RPL = the new CPL (SDM 6.14.4)
            cpu.stackShape = ModeSwitch.FLAT_DATA_32;
        }
        cpu.loadCodeSegment(code, ModeSwitch.FLAT_DATA_32, offset); // from compatibility mode, the engine switches
        cpu.setCpl(newCpl, oldCpl);
        return new Delivered(e, offset, newCpl, frameAddress, frame);
    }

    /**
     * Protected mode (SDM 6.11, 6.12.1): an 8-byte gate; a 32-bit interrupt or trap gate enters a
     * 32-bit code segment; to an inner level the stack comes from the 32-bit TSS (SS0:ESP0 for
     * CPL 0, SDM 7.2.1 Figure 7-2) and SS:ESP are pushed too; the frame is 32-bit slots. Task gates
     * (a task switch) and 16-bit gates are not modelled: the run stops and says so.
     */
    private Delivered attemptProtected(Event e) {
        int vector = e.vector();
        int ext = e.source() == Source.SOFTWARE ? 0 : 1;
        int idtError = vector << 3 | 2 | ext;
        DescriptorRegister idtr = cpu.engine.readDescriptorRegister(X86Reg.IDTR);
        if ((long) vector * 8 + 7 > idtr.limit()) {
            throw new ArchitecturalException(ArchitecturalException.GP, idtError, 0, String.format(
                    "IDT entry %d lies beyond the IDT limit 0x%x", vector, idtr.limit()));
        }
        long gate = implicitRead(idtr.base() + 8L * vector, 8).getLong(0);
        int type = (int) (gate >>> 40) & 0x1f; // with the S bit, which must be 0
        int dpl = (int) (gate >>> 45) & 3;
        boolean present = (gate >>> 47 & 1) != 0;
        int selector = (int) (gate >>> 16) & 0xffff;
        long offset = (gate & 0xffff) | (gate >>> 48 & 0xffff) << 16;
        if (type != GATE_INTERRUPT && type != GATE_TRAP && type != GATE_TASK && type != GATE_INTERRUPT_16 && type != GATE_TRAP_16) {
            throw new ArchitecturalException(ArchitecturalException.GP, idtError, 0, String.format(
                    "IDT entry %d has type 0x%x, not an interrupt, trap or task gate", vector, type));
        }
        if (e.source() == Source.SOFTWARE && dpl < cpu.cpl) {
            throw new ArchitecturalException(ArchitecturalException.GP, vector << 3 | 2, 0, String.format(
                    "INT %d from CPL %d through a gate of DPL %d", vector, cpu.cpl, dpl));
        }
        if (!present) {
            throw new ArchitecturalException(ArchitecturalException.NP, idtError, 0, String.format(
                    "IDT entry %d is not present", vector));
        }
        if (type == GATE_TASK) {
            throw new NotModelledException(String.format("delivering %s through IDT entry %d, a task gate (TSS selector 0x%x): "
                    + "task switches are not modelled", e, vector, selector));
        }
        if (type != GATE_INTERRUPT && type != GATE_TRAP) {
            throw new NotModelledException(String.format("delivering %s through IDT entry %d, a 16-bit gate: 16-bit code is not modelled",
                    e, vector));
        }
        SegmentDescriptor code = SegmentDescriptor.read(cpu, selector, ext, "the gate's code segment");
        if (!code.isCode() || code.longMode()) {
            throw new ArchitecturalException(ArchitecturalException.GP, (selector & ~3) | ext, 0, String.format(
                    "selector 0x%x of IDT entry %d is not a 32-bit code segment", selector, vector));
        }
        if (code.dpl() > cpu.cpl) {
            throw new ArchitecturalException(ArchitecturalException.GP, (selector & ~3) | ext, 0, String.format(
                    "the handler's code segment 0x%x has DPL %d above CPL %d", selector, code.dpl(), cpu.cpl));
        }
        if (!code.present()) {
            throw new ArchitecturalException(ArchitecturalException.NP, (selector & ~3) | ext, 0, String.format(
                    "the handler's code segment 0x%x is not present", selector));
        }
        if (!code.big()) {
            throw new NotModelledException(String.format("IDT entry %d enters the 16-bit code segment 0x%x: 16-bit code is not modelled",
                    vector, selector));
        }
        if (offset > code.limit()) {
            throw new ArchitecturalException(ArchitecturalException.GP, 0, 0, String.format(
                    "IDT entry %d points at EIP 0x%x, beyond the limit 0x%x of its code segment", vector, offset, code.limit()));
        }
        int newCpl = code.conforming() ? cpu.cpl : code.dpl();
        boolean privilegeChange = newCpl < cpu.cpl;

        FarTransfers far = system().far();
        long oldEsp = far.stackPointer();
        int newSs = cpu.ss;
        long stackShape = cpu.stackShape;
        long esp;
        long stackBase;
        if (privilegeChange) {
            // SDM 7.2.1, Figure 7-2: ESP0 at offset 4, SS0 at 8; ESP1/SS1 at 12/16, ESP2/SS2 at 20/24.
            esp = tssStack32(4 + 8 * newCpl, 4, ext, "ESP" + newCpl) & 0xffffffffL;
            newSs = (int) tssStack32(8 + 8 * newCpl, 2, ext, "SS" + newCpl) & 0xffff;
            SegmentDescriptor stack = tssStackSegment(newSs, newCpl, ext);
            stackShape = stack.raw();
            stackBase = stack.base();
        } else {
            esp = oldEsp;
            stackBase = cpu.segmentBase[2];
        }
        long eflags = cpu.engine.readRegister(X86Reg.RFLAGS) & 0xffffffffL;
        boolean hasError = e.errorCode() >= 0;
        List<Long> slots = new ArrayList<>(6);
        if (hasError) {
            slots.add(e.errorCode() & 0xffffffffL);
        }
        slots.addAll(List.of(e.returnRip() & 0xffffffffL, (long) cpu.cs, eflags));
        if (privilegeChange) {
            slots.addAll(List.of(oldEsp, (long) cpu.ss));
        }
        long[] frame = slots.stream().mapToLong(Long::longValue).toArray();
        long frameEsp = (esp - 4L * frame.length) & 0xffffffffL;
        ByteBuffer bytes = ByteBuffer.allocate(4 * frame.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : frame) {
            bytes.putInt((int) v);
        }
        long frameAddress = (stackBase + frameEsp) & 0xffffffffL;
        cpu.writeLinear(frameAddress, bytes.array(), newCpl == 3 ? AccessMode.USER : AccessMode.IMPLICIT_SUPERVISOR);

        // Committed: nothing below can fault.
        long newFlags = eflags & ~(RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM);
        if (type == GATE_INTERRUPT) {
            newFlags &= ~RFLAGS_IF;
        }
        int oldCpl = cpu.cpl;
        cpu.engine.writeRegister(X86Reg.RSP, frameEsp);
        cpu.engine.writeRegister(X86Reg.RFLAGS, newFlags);
        cpu.cs = (selector & ~3) | newCpl;
        if (privilegeChange) {
            cpu.ss = newSs;
            cpu.stackShape = stackShape;
            cpu.segmentBase[2] = stackBase;
        }
        cpu.loadCodeSegment(code, cpu.stackShape, offset);
        cpu.setCpl(newCpl, oldCpl);
        return new Delivered(e, offset, newCpl, frameAddress, frame);
    }

    private SystemInstructions system() {
        return cpu.system;
    }

    /** A field of the 32-bit TSS (SDM 7.2.1): #TS(TSS selector) when TR names none or the field lies beyond its limit. */
    private long tssStack32(int offset, int length, int ext, String field) {
        DescriptorRegister tr = cpu.engine.readDescriptorRegister(X86Reg.TR);
        if (offset + length - 1 > tr.limit() || (tr.selector() & ~3) == 0) {
            throw new ArchitecturalException(ArchitecturalException.TS, (tr.selector() & ~3) | ext, 0, String.format(
                    "the TSS (TR 0x%x, limit 0x%x) has no %s field", tr.selector(), tr.limit(), field));
        }
        ByteBuffer b = implicitRead(tr.base() + offset, length);
        return length == 4 ? b.getInt(0) & 0xffffffffL : b.getShort(0) & 0xffffL;
    }

    /** SDM 6.12.1.1: the TSS's SS must be a present, writable data segment with RPL = DPL = the new CPL (#TS, #SS). */
    private SegmentDescriptor tssStackSegment(int ss, int newCpl, int ext) {
        if ((ss & ~3) == 0 || (ss & 3) != newCpl) {
            throw new ArchitecturalException(ArchitecturalException.TS, (ss & ~3) | ext, 0, String.format(
                    "the TSS's SS%d 0x%x is null or its RPL is not %d", newCpl, ss, newCpl));
        }
        SegmentDescriptor stack = SegmentDescriptor.read(cpu, ss, ext, "the TSS's SS" + newCpl);
        if (!stack.isWritableData() || stack.dpl() != newCpl) {
            throw new ArchitecturalException(ArchitecturalException.TS, (ss & ~3) | ext, 0, String.format(
                    "the TSS's SS%d 0x%x is not a writable data segment of DPL %d", newCpl, ss, newCpl));
        }
        if (!stack.present()) {
            throw new ArchitecturalException(ArchitecturalException.SS, (ss & ~3) | ext, 0, String.format(
                    "the TSS's SS%d 0x%x is not present", newCpl, ss));
        }
        return stack;
    }

    /** A stack pointer from the 64-bit TSS at {@code offset}. */
    private long tssStack(int offset, int ext, String field) {
        DescriptorRegister tr = cpu.engine.readDescriptorRegister(X86Reg.TR);
        if (offset + 7 > tr.limit() || (tr.selector() & ~3) == 0) {
            throw new ArchitecturalException(ArchitecturalException.TS, (tr.selector() & ~3) | ext, 0, String.format(
                    "the TSS (TR 0x%x, limit 0x%x) has no %s field", tr.selector(), tr.limit(), field));
        }
        return implicitRead(tr.base() + offset, 8).getLong(0);
    }

    private ByteBuffer implicitRead(long linear, int length) {
        return ByteBuffer.wrap(cpu.readLinear(linear, length, AccessMode.IMPLICIT_SUPERVISOR)).order(ByteOrder.LITTLE_ENDIAN);
    }
}
