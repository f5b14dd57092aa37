package dev.pml4.bench;

import dev.pml4.cpu.Cpu;
import dev.pml4.cpu.CpuModel;
import dev.pml4.ffi.unicorn.Unicorn;
import dev.pml4.machine.ImageRejectedException;
import dev.pml4.machine.KernelImages;
import dev.pml4.machine.Machine;
import dev.pml4.machine.PhysicalMemory;
import dev.pml4.mmu.AccessMode;
import dev.pml4.mmu.AccessType;
import dev.pml4.mmu.Mmu;
import dev.pml4.mmu.PageWalker;
import dev.pml4.mmu.PagingState;
import dev.pml4.mmu.Tlb;
import dev.pml4.mmu.TlbConfig;

import java.io.OutputStream;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * What pml4's speed is made of, measured on this machine. Wall-clock time is used here and only
 * here: it never reaches a guest (virtual time is the instruction count).
 */
public final class Benchmarks {
    private Benchmarks() {
    }

    /** A guest run: how many instructions in how long (the run itself, not the boot). */
    public record GuestRun(long instructions, long nanos, int exitStatus) {
        public double instructionsPerSecond() {
            return instructions * 1e9 / nanos;
        }
    }

    /** Boots {@code image} on the default machine and times its run. */
    public static GuestRun runGuest(Path image, long instructionLimit) throws ImageRejectedException {
        return runGuest(image, instructionLimit, null);
    }

    /** The same, with the TLB-coherence checker on in {@code check} mode (null: off). */
    public static GuestRun runGuest(Path image, long instructionLimit, dev.pml4.mmu.TlbCoherenceChecker.Mode check)
            throws ImageRejectedException {
        return runGuest(image, instructionLimit, check, dev.pml4.cpu.ExecutionMode.FAST);
    }

    /** The same, in {@code mode} (the TLB checker always runs in precise mode). */
    public static GuestRun runGuest(Path image, long instructionLimit, dev.pml4.mmu.TlbCoherenceChecker.Mode check,
                                    dev.pml4.cpu.ExecutionMode mode) throws ImageRejectedException {
        Machine.Config config = Machine.Config.defaults(OutputStream.nullOutputStream()).withInstructionLimit(instructionLimit);
        try (Machine machine = new Machine(config)) {
            machine.cpu().setExecutionMode(mode);
            if (check != null) {
                machine.checkTlb(check);
            }
            machine.boot(KernelImages.read(image, OptionalLong.empty(), OptionalLong.empty()), null);
            long start = System.nanoTime();
            Machine.RunResult result = machine.run();
            long nanos = System.nanoTime() - start;
            return new GuestRun(result.instructions(), nanos, result.exitStatus());
        }
    }

    /** Boots {@code image}, traces its run with {@code options} into {@code out}, and times the run. */
    public static GuestRun runTraced(Path image, long instructionLimit, dev.pml4.trace.TraceOptions options, java.io.Writer out)
            throws ImageRejectedException {
        Machine.Config config = Machine.Config.defaults(OutputStream.nullOutputStream()).withInstructionLimit(instructionLimit);
        try (Machine machine = new Machine(config)) {
            machine.boot(KernelImages.read(image, OptionalLong.empty(), OptionalLong.empty()), null);
            machine.trace(options, out);
            long start = System.nanoTime();
            Machine.RunResult result = machine.run();
            long nanos = System.nanoTime() - start;
            return new GuestRun(result.instructions(), nanos, result.exitStatus());
        }
    }

    /**
     * A run traced into the ring only ({@code --trace-ring}): the time spent running and recording,
     * and the time spent formatting and writing the ring's lines at the end (a run that ends
     * badly writes them; the first character written marks the change).
     */
    public record RingRun(long instructions, long recordNanos, long writeNanos, long lines) {
        public double recordingPerSecond() {
            return instructions * 1e9 / recordNanos;
        }
    }

    /** Boots {@code image}, traces its run into the ring that {@code options} asks for, and times both parts. */
    public static RingRun runRing(Path image, long instructionLimit, dev.pml4.trace.TraceOptions options) throws ImageRejectedException {
        long[] written = {0, 0, 0}; // first write, last write, lines
        java.io.Writer timing = new java.io.Writer() {
            @Override
            public void write(char[] text, int offset, int length) {
                long now = System.nanoTime();
                written[0] = written[0] == 0 ? now : written[0];
                written[1] = now;
                for (int i = offset; i < offset + length; i++) {
                    written[2] += text[i] == '\n' ? 1 : 0;
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        GuestRun run = runTraced(image, instructionLimit, options, timing);
        long writing = written[1] - written[0];
        return new RingRun(run.instructions(), run.nanos() - writing, writing, written[2]);
    }

    /** Nanoseconds per operation of the MMU paths that need Java. */
    public record MmuCosts(int pages, double walkOnlyNanos, double missWalkAndMapNanos, double invlpgNanos,
                           double cr3SwitchNanos, int cr3SwitchEntries, double missParkedNanos, int parkedPages, String engineMemory) {
    }

    /** Pages the parked-miss measure cycles through: well within the DTLB and the engine's parking. */
    private static final int PARKED_PAGES = 16;

    private static final long PML4 = 0x1000;
    private static final long PDPT = 0x2000;
    private static final long PD = 0x3000;
    private static final long FIRST_PT = 0x10000;
    private static final long FRAMES = 0x400000;
    private static final long VIRTUAL_BASE = 0x4000_0000L; // PML4[0] PDPT[1]

    /**
     * Builds 4-level tables mapping {@code pages} 4 KiB pages in RAM, then times: a walk alone; a
     * TLB miss (walk, fill, and the engine's mapping of the page: a store into the engine page table,
     * or a Unicorn region where there is none); INVLPG of a resident page (TLB removal and
     * unmapping); a MOV to CR3 that flushes a full DTLB's worth of entries; and a TLB miss on a
     * page the TLB held before (INVLPG'd, as after a CR3 switch back; with regions, a parked one).
     */
    public static MmuCosts mmuCosts(int pages, int rounds) {
        if (pages > 512 * 16) {
            throw new IllegalArgumentException("at most " + 512 * 16 + " pages");
        }
        try (PhysicalMemory memory = new PhysicalMemory(64L << 20); Unicorn engine = Unicorn.openX86_64()) {
            memory.write64(PML4, PDPT | 0x3);
            memory.write64(PDPT + 8, PD | 0x3);
            for (int t = 0; t < (pages + 511) / 512; t++) {
                memory.write64(PD + 8L * t, (FIRST_PT + 0x1000L * t) | 0x3);
            }
            for (int i = 0; i < pages; i++) {
                memory.write64(FIRST_PT + 8L * i, (FRAMES + 0x1000L * i) | 0x3);
            }
            PagingState state = new PagingState(PagingState.CR0_PG | 1, PML4, PagingState.CR4_PAE,
                    PagingState.EFER_LME | PagingState.EFER_LMA, false);
            PageWalker walker = new PageWalker(memory, CpuModel.MAX_PHYS_ADDR);
            Mmu mmu = new Mmu(memory, walker, new Tlb(TlbConfig.skylake()), Cpu.pageMapper(engine, memory, w -> {
            }));
            long sink = 0;
            for (int warm = 0; warm < 40; warm++) { // let the JIT compile the walker first
                for (int i = 0; i < pages; i++) {
                    sink += walker.translate(VIRTUAL_BASE + 0x1000L * i, AccessType.READ, AccessMode.SUPERVISOR, state).hashCode();
                }
            }
            long walkNanos = 0, missNanos = 0, invlpgNanos = 0, cr3Nanos = 0, parkedNanos = 0;
            int cr3Entries = 0;
            for (int round = 0; round < rounds; round++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < pages; i++) {
                    sink += walker.translate(VIRTUAL_BASE + 0x1000L * i, AccessType.READ, AccessMode.SUPERVISOR, state).hashCode();
                }
                long t1 = System.nanoTime();
                for (int i = 0; i < pages; i++) {
                    mmu.access(VIRTUAL_BASE + 0x1000L * i, 8, AccessType.READ, AccessMode.SUPERVISOR, state);
                }
                long t2 = System.nanoTime();
                // The DTLB holds fewer entries than there are pages: INVLPG what is resident.
                var resident = mmu.tlb().entries(Tlb.Kind.DATA);
                for (var e : resident) {
                    mmu.invlpg(e.pageBase(), state);
                }
                long t3 = System.nanoTime();
                for (int i = 0; i < pages; i++) {
                    mmu.access(VIRTUAL_BASE + 0x1000L * i, 8, AccessType.READ, AccessMode.SUPERVISOR, state);
                }
                int before = mmu.tlb().entries(Tlb.Kind.DATA).size();
                long t4 = System.nanoTime();
                mmu.invalidate("MOV to CR3", mmu.tlb().flushNonGlobal(0));
                mmu.rightsContextChanged();
                long t5 = System.nanoTime();
                // The same few pages missed again and again: after two cycles their regions park.
                long parkedRound = 0;
                for (int cycle = 0; cycle < 20; cycle++) {
                    for (int i = 0; i < PARKED_PAGES; i++) {
                        mmu.invlpg(VIRTUAL_BASE + 0x1000L * i, state);
                    }
                    long c0 = System.nanoTime();
                    for (int i = 0; i < PARKED_PAGES; i++) {
                        mmu.access(VIRTUAL_BASE + 0x1000L * i, 8, AccessType.READ, AccessMode.SUPERVISOR, state);
                    }
                    if (cycle >= 4) {
                        parkedRound += System.nanoTime() - c0;
                    }
                }
                if (round > 0) { // the first round warms the JIT up
                    parkedNanos += parkedRound;
                    walkNanos += t1 - t0;
                    missNanos += t2 - t1;
                    invlpgNanos += (t3 - t2) * pages / Math.max(1, resident.size());
                    cr3Nanos += t5 - t4;
                    cr3Entries = before;
                }
            }
            if (sink == 42) {
                System.out.print(""); // keeps the walks from being optimised away
            }
            int measured = Math.max(1, rounds - 1);
            double per = (double) pages * measured;
            String engineMemory = mmu.mappings().mapper().getClass().getSimpleName().equals("EnginePageTable")
                    ? "the engine page table (docs/engine-page-table.md)" : "Unicorn regions, parked when dropped";
            return new MmuCosts(pages, walkNanos / per, missNanos / per, invlpgNanos / per, (double) cr3Nanos / measured, cr3Entries,
                    parkedNanos / (16.0 * PARKED_PAGES * measured), PARKED_PAGES, engineMemory);
        }
    }

    // ---- 32-bit code and mode switches -------------------------------------------------------------

    private static final long CODE = 0x100000;
    private static final long GDT = 0x7000;
    /** null, 0x08 flat 32-bit code, 0x10 flat data, 0x18 64-bit code (SDM 3.4.5). */
    private static final long[] FLAT_GDT = {0, 0x00cf9a000000ffffL, 0x00cf92000000ffffL, 0x00af9a000000ffffL};

    /**
     * The compute kernel's loop as 32-bit code, entered in protected mode with paging off as a
     * Multiboot loader leaves a kernel: 10 instructions an iteration (add, xor, rol, imul, add,
     * xor, ror, sub, dec, jnz on 32-bit registers), then HLT.
     */
    public static GuestRun compute32(int iterations) {
        var code = new java.io.ByteArrayOutputStream();
        code.writeBytes(new byte[]{(byte) 0xb8, (byte) 0xef, (byte) 0xcd, (byte) 0xab, (byte) 0x89}); // mov eax, 0x89abcdef
        code.writeBytes(new byte[]{(byte) 0xbb, 0x10, 0x32, 0x54, 0x76});                            // mov ebx, 0x76543210
        code.writeBytes(new byte[]{0x31, (byte) 0xd2});                                              // xor edx, edx
        code.writeBytes(new byte[]{(byte) 0xbe, 0x15, 0x7c, 0x4a, 0x7f});                            // mov esi, 0x7f4a7c15
        code.write(0xb9);                                                                              // mov ecx, iterations
        code.writeBytes(java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(iterations).array());
        code.writeBytes(new byte[]{
                0x01, (byte) 0xd8,                  // add eax, ebx
                0x31, (byte) 0xc3,                  // xor ebx, eax
                (byte) 0xc1, (byte) 0xc0, 0x0d,     // rol eax, 13
                0x0f, (byte) 0xaf, (byte) 0xde,     // imul ebx, esi
                0x01, (byte) 0xc2,                  // add edx, eax
                0x31, (byte) 0xda,                  // xor edx, ebx
                (byte) 0xc1, (byte) 0xca, 0x07,     // ror edx, 7
                0x29, (byte) 0xd0,                  // sub eax, edx
                0x49,                               // dec ecx (one byte in 32-bit code)
                0x75, (byte) 0xea,                  // jnz loop (-22)
                (byte) 0xf4});                      // hlt
        return runEntered(code.toByteArray(), dev.pml4.machine.EntryMode.PROTECTED_32, 0);
    }

    /**
     * Mode switches: 64-bit code (4-level paging, identity) calls 32-bit code with CALL m16:32,
     * which returns with a 32-bit RETF: two switches of the engine's code mode an iteration.
     */
    public static GuestRun modeSwitches(int roundTrips) {
        var code = java.nio.ByteBuffer.allocate(64).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        code.put((byte) 0xb9).putInt(roundTrips);                              // 0x00 mov ecx, n
        code.put(new byte[]{(byte) 0xff, 0x1c, 0x25}).putInt((int) CODE + 0x20); // 0x05 call far [CODE + 0x20]
        code.put(new byte[]{(byte) 0xff, (byte) 0xc9});                         // 0x0c dec ecx
        code.put(new byte[]{0x75, (byte) 0xf5});                                // 0x0e jnz 0x05
        code.put((byte) 0xf4);                                                  // 0x10 hlt
        code.position(0x18).put((byte) 0xcb);                                   // 0x18 (32-bit code) retf
        code.position(0x20).putInt((int) CODE + 0x18).putShort((short) 0x08);   // 0x20 m16:32 -> 0x08:0x18
        return runEntered(code.array(), dev.pml4.machine.EntryMode.LONG_64, 0);
    }

    private static GuestRun runEntered(byte[] code, dev.pml4.machine.EntryMode mode, long instructionLimit) {
        Machine.Config config = Machine.Config.defaults(OutputStream.nullOutputStream()).withInstructionLimit(instructionLimit);
        try (Machine machine = new Machine(config)) {
            PhysicalMemory memory = machine.memory();
            memory.writeBytes(CODE, code);
            for (int i = 0; i < FLAT_GDT.length; i++) {
                memory.write64(GDT + 8L * i, FLAT_GDT[i]);
            }
            dev.pml4.machine.BootState state;
            if (mode == dev.pml4.machine.EntryMode.PROTECTED_32) {
                state = new dev.pml4.machine.BootState(CODE, 0x90000, 0, 2, 0x11, 0, 0, 0, GDT, 8 * FLAT_GDT.length - 1,
                        0x08, 0x10, 0x10, 0x10, 0x10, 0x10, CODE, CODE + code.length, CODE + code.length, 0, 0, mode);
            } else {
                memory.write64(PML4, PDPT | 0x3); // the first GiB, identity, with 2 MiB pages
                memory.write64(PDPT, PD | 0x3);
                for (int i = 0; i < 512; i++) {
                    memory.write64(PD + 8L * i, ((long) i << 21) | 0x83);
                }
                state = new dev.pml4.machine.BootState(CODE, 0x90000, 0, 2, 0x80000011L, PML4, PagingState.CR4_PAE, 0x500,
                        GDT, 8 * FLAT_GDT.length - 1, 0x18, 0x10, 0x10, 0x10, 0x10, 0x10, CODE, CODE + code.length, CODE + code.length);
            }
            machine.enter(state, dev.pml4.machine.FlatImage.of("bench.bin", code, CODE, CODE));
            long start = System.nanoTime();
            Machine.RunResult result = machine.run();
            long nanos = System.nanoTime() - start;
            return new GuestRun(result.instructions(), nanos, result.exitStatus());
        } catch (ImageRejectedException e) {
            throw new IllegalStateException(e);
        }
    }
}
