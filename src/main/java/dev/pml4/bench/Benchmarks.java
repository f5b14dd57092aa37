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
        Machine.Config config = Machine.Config.defaults(OutputStream.nullOutputStream()).withInstructionLimit(instructionLimit);
        try (Machine machine = new Machine(config)) {
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

    /** Nanoseconds per operation of the MMU paths that need Java. */
    public record MmuCosts(int pages, double walkOnlyNanos, double missWalkAndMapNanos, double invlpgNanos,
                           double cr3SwitchNanos, int cr3SwitchEntries) {
    }

    private static final long PML4 = 0x1000;
    private static final long PDPT = 0x2000;
    private static final long PD = 0x3000;
    private static final long FIRST_PT = 0x10000;
    private static final long FRAMES = 0x400000;
    private static final long VIRTUAL_BASE = 0x4000_0000L; // PML4[0] PDPT[1]

    /**
     * Builds 4-level tables mapping {@code pages} 4 KiB pages in RAM, then times: a walk alone; a
     * TLB miss (walk, fill, and the Unicorn mapping of the page); INVLPG of a resident page (TLB
     * removal and unmapping); and a MOV to CR3 that flushes a full DTLB's worth of entries.
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
            long walkNanos = 0, missNanos = 0, invlpgNanos = 0, cr3Nanos = 0;
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
                if (round > 0) { // the first round warms the JIT up
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
            return new MmuCosts(pages, walkNanos / per, missNanos / per, invlpgNanos / per, (double) cr3Nanos / measured, cr3Entries);
        }
    }
}
