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
 * (SDM Vol. 3A 6.14 "Exception and Interrupt Handling in 64-bit Mode", 6.12.1), all in Java: the
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
        int vector = e.vector();
        int ext = e.source() == Source.SOFTWARE ? 0 : 1;
        int idtError = vector << 3 | 2 | ext; // error code naming an IDT entry (SDM 6.13)
        // IA-32e mode has 16-byte gates; protected mode 8-byte ones (SDM 6.10, 6.14.1).
        boolean ia32e = (cpu.control.efer() & ControlRegisters.EFER_LMA) != 0;
        int gateSize = ia32e ? 16 : 8;
        DescriptorRegister idtr = cpu.engine.readDescriptorRegister(X86Reg.IDTR);
        if ((long) vector * gateSize + gateSize - 1 > idtr.limit()) {
            throw new ArchitecturalException(ArchitecturalException.GP, idtError, 0, String.format(
                    "IDT entry %d lies beyond the IDT limit 0x%x", vector, idtr.limit()));
        }
        ByteBuffer gate = implicitRead(idtr.base() + (long) gateSize * vector, gateSize);
        long low = gate.getLong(0);
        long high = ia32e ? gate.getLong(8) : 0;
        int type = (int) (low >>> 40) & 0xf;
        int dpl = (int) (low >>> 45) & 3;
        boolean present = (low >>> 47 & 1) != 0;
        int selector = (int) (low >>> 16) & 0xffff;
        int ist = ia32e ? (int) (low >>> 32) & 7 : 0;
        long offset = (low & 0xffff) | (low >>> 48 & 0xffff) << 16 | (high & 0xffffffffL) << 32;
        if (!ia32e && (type == 0x5 || type == 0x6 || type == 0x7)) {
            throw new NotModelledException(String.format("IDT entry %d is a %s gate: only 32-bit interrupt and trap gates are modelled",
                    vector, type == 0x5 ? "task" : "16-bit"));
        }
        if (type != GATE_INTERRUPT && type != GATE_TRAP) {
            throw new ArchitecturalException(ArchitecturalException.GP, idtError, 0, String.format(
                    "IDT entry %d has type 0x%x, not a %s interrupt (0xE) or trap (0xF) gate", vector, type, ia32e ? "64-bit" : "32-bit"));
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
        if (!code.isCode() || (ia32e && !code.longMode())) {
            throw new ArchitecturalException(ArchitecturalException.GP, (selector & ~3) | ext, 0, String.format(
                    "selector 0x%x of IDT entry %d is not a %s code segment", selector, vector, ia32e ? "64-bit" : ""));
        }
        if (!ia32e) {
            code = system32Code(code, selector);
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
        if (!ia32e) {
            return protectedMode(e, type, selector, code, offset, newCpl, ext);
        }

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
        // accesses to the stack during delivery use the new privilege level). They go one slot at a
        // time from SS down, as the processor pushes: a #PF names the first slot it could not
        // write in CR2 (SS at the new stack top - 8 when that page is missing), as QEMU and Bochs do.
        AccessMode pushes = newCpl == 3 ? AccessMode.USER : AccessMode.IMPLICIT_SUPERVISOR;
        for (int slot = frame.length - 1; slot >= 0; slot--) {
            cpu.writeLinear(frameAddress + 8L * slot, java.util.Arrays.copyOfRange(bytes.array(), 8 * slot, 8 * slot + 8), pushes);
        }

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
        cpu.codeSegments.load(code, ModeSwitch.FLAT_DATA_32, offset); // from compatibility mode, the engine switches
        cpu.setCpl(newCpl, oldCpl);
        return new Delivered(e, offset, newCpl, frameAddress, frame);
    }

    /** A handler's code segment in protected mode: 32-bit code of base 0 (what pml4 models), L ignored. */
    private static SegmentDescriptor system32Code(SegmentDescriptor code, int selector) {
        if (!code.big()) {
            throw new NotModelledException(String.format("the handler's code segment 0x%x is 16-bit code", selector));
        }
        if (code.base() != 0) {
            throw new NotModelledException(String.format("the handler's code segment 0x%x has base 0x%x: code segments with a base other than 0 are not modelled",
                    selector, code.base()));
        }
        return new SegmentDescriptor(code.selector(), code.raw() & ~(1L << 53));
    }

    /**
     * The rest of a delivery in protected mode (SDM Vol. 3A 6.12.1, Figure 6-4): to an inner
     * privilege level the stack is SS0:ESP0 (or SS1/SS2) from the 32-bit TSS, and SS, ESP are
     * pushed first; then EFLAGS, CS, EIP and the error code, four bytes each.
     */
    private Delivered protectedMode(Event e, int type, int selector, SegmentDescriptor code, long offset, int newCpl, int ext) {
        if (offset > code.limit()) {
            throw new ArchitecturalException(ArchitecturalException.GP, ext, 0, String.format(
                    "IDT entry %d points at 0x%x, beyond the limit 0x%x of its code segment", e.vector(), offset, code.limit()));
        }
        FarTransfers far = cpu.system.far();
        boolean privilegeChange = newCpl < cpu.cpl;
        long oldEsp = far.stackPointer();
        long esp = oldEsp;
        long stackBase = cpu.segmentBase[SegmentLoads.SS];
        int newSs = cpu.ss;
        long stack = cpu.stackShape;
        if (privilegeChange) {
            ByteBuffer tss = tssRead(4 + 8 * newCpl, 6, ext, "SS" + newCpl + ":ESP" + newCpl); // SDM 7.2.1, Figure 7-2
            esp = tss.getInt(0) & 0xffffffffL;
            newSs = tss.getShort(4) & 0xffff;
            int error = (newSs & ~3) | ext;
            if ((newSs & ~3) == 0) {
                throw new ArchitecturalException(ArchitecturalException.TS, ext, 0, "the TSS's SS" + newCpl + " is null");
            }
            SegmentDescriptor ss = SegmentDescriptor.read(cpu, newSs, ext, "the TSS's SS" + newCpl);
            if ((newSs & 3) != newCpl || ss.dpl() != newCpl || !ss.isWritableData()) {
                throw new ArchitecturalException(ArchitecturalException.TS, error, 0, String.format(
                        "the TSS's SS%d 0x%x is not a writable data segment of DPL %d", newCpl, newSs, newCpl));
            }
            if (!ss.present()) {
                throw new ArchitecturalException(ArchitecturalException.SS, error, 0, String.format("the TSS's SS%d 0x%x is not present", newCpl, newSs));
            }
            if (!ss.big()) {
                throw new NotModelledException(String.format("the TSS's SS%d 0x%x is a 16-bit stack", newCpl, newSs));
            }
            ss.markAccessed(cpu);
            stack = ss.raw() | SegmentDescriptor.ACCESSED;
            stackBase = ss.base();
        }
        long rflags = cpu.engine.readRegister(X86Reg.RFLAGS);
        List<Long> pushed = new ArrayList<>();
        if (e.errorCode() >= 0) {
            pushed.add(e.errorCode() & 0xffffffffL);
        }
        pushed.addAll(List.of(e.returnRip() & 0xffffffffL, (long) cpu.cs, rflags & 0xffffffffL));
        if (privilegeChange) {
            pushed.addAll(List.of(oldEsp, (long) cpu.ss));
        }
        long[] frame = pushed.stream().mapToLong(Long::longValue).toArray();
        long frameEsp = (esp - 4L * frame.length) & 0xffffffffL;
        ByteBuffer bytes = ByteBuffer.allocate(4 * frame.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : frame) {
            bytes.putInt((int) v);
        }
        long frameAddress = (stackBase + frameEsp) & 0xffffffffL;
        cpu.writeLinear(frameAddress, bytes.array(), newCpl == 3 ? AccessMode.USER : AccessMode.IMPLICIT_SUPERVISOR);

        // Committed: nothing below can fault.
        long newFlags = rflags & ~(RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM);
        if (type == GATE_INTERRUPT) {
            newFlags &= ~RFLAGS_IF;
        }
        int oldCpl = cpu.cpl;
        cpu.engine.writeRegister(X86Reg.RSP, frameEsp);
        cpu.engine.writeRegister(X86Reg.RFLAGS, newFlags);
        cpu.cs = (selector & ~3) | newCpl;
        cpu.ss = newSs;
        cpu.stackShape = stack;
        cpu.segmentBase[SegmentLoads.SS] = stackBase;
        cpu.codeSegments.load(code, stack, offset);
        cpu.setCpl(newCpl, oldCpl);
        return new Delivered(e, offset, newCpl, frameAddress, frame);
    }

    /** {@code length} bytes of the current TSS at {@code offset}, #TS when it has no such field. */
    private ByteBuffer tssRead(int offset, int length, int ext, String field) {
        DescriptorRegister tr = cpu.engine.readDescriptorRegister(X86Reg.TR);
        if (offset + length - 1 > tr.limit() || (tr.selector() & ~3) == 0) {
            throw new ArchitecturalException(ArchitecturalException.TS, (tr.selector() & ~3) | ext, 0, String.format(
                    "the TSS (TR 0x%x, limit 0x%x) has no %s field", tr.selector(), tr.limit(), field));
        }
        return implicitRead(tr.base() + offset, length);
    }

    /** A stack pointer from the 64-bit TSS at {@code offset}. */
    private long tssStack(int offset, int ext, String field) {
        return tssRead(offset, 8, ext, field).getLong(0);
    }

    private ByteBuffer implicitRead(long linear, int length) {
        return ByteBuffer.wrap(cpu.readLinear(linear, length, AccessMode.IMPLICIT_SUPERVISOR)).order(ByteOrder.LITTLE_ENDIAN);
    }
}
