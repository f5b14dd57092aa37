package dev.pml4.machine;

import dev.pml4.cpu.ControlRegisters;
import dev.pml4.cpu.Cpu;
import dev.pml4.cpu.CpuModel;
import dev.pml4.cpu.StopReason;
import dev.pml4.devices.DebugExit;
import dev.pml4.devices.Pic8259Pair;
import dev.pml4.devices.Pit8254;
import dev.pml4.devices.PortDevice;
import dev.pml4.devices.PortBus;
import dev.pml4.devices.SerialInput;
import dev.pml4.devices.Uart16550;
import dev.pml4.ffi.capstone.Capstone;
import dev.pml4.ffi.unicorn.Unicorn;
import dev.pml4.mmu.Mmu;
import dev.pml4.mmu.PageWalker;
import dev.pml4.mmu.Tlb;
import dev.pml4.mmu.TlbConfig;

import java.io.OutputStream;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * One PC: physical memory, the processor with its MMU, and the devices on its buses, built from a
 * {@link Config}. Closing it releases the engine before the memory the engine maps.
 */
public final class Machine implements AutoCloseable {
    /**
     * @param ramSize bytes of RAM from physical 0
     * @param tlb the TLB geometry
     * @param instructionLimit the run ends with status 6 after this many instructions (0: never)
     * @param serialOut where COM1's transmitted bytes go
     * @param serialIn where COM1's received bytes come from
     * @param warnings one-line reports of questionable guest behaviour (holes, unknown ports)
     */
    public record Config(long ramSize, TlbConfig tlb, long instructionLimit, OutputStream serialOut,
                         SerialInput serialIn, Consumer<String> warnings) {
        public static final long DEFAULT_RAM = 64L << 20;
        public static final long DEFAULT_INSTRUCTION_LIMIT = 1_000_000_000L;

        public Config {
            Objects.requireNonNull(tlb);
            Objects.requireNonNull(serialOut);
            Objects.requireNonNull(serialIn);
            Objects.requireNonNull(warnings);
        }

        public static Config defaults(OutputStream serialOut) {
            return new Config(DEFAULT_RAM, TlbConfig.skylake(), DEFAULT_INSTRUCTION_LIMIT, serialOut, SerialInput.none(), w -> {
            });
        }

        public Config withRamSize(long bytes) {
            return new Config(bytes, tlb, instructionLimit, serialOut, serialIn, warnings);
        }

        public Config withInstructionLimit(long limit) {
            return new Config(ramSize, tlb, limit, serialOut, serialIn, warnings);
        }

        public Config withWarnings(Consumer<String> sink) {
            return new Config(ramSize, tlb, instructionLimit, serialOut, serialIn, sink);
        }

        public Config withSerialIn(SerialInput in) {
            return new Config(ramSize, tlb, instructionLimit, serialOut, in, warnings);
        }

        public Config withTlb(TlbConfig config) {
            return new Config(ramSize, config, instructionLimit, serialOut, serialIn, warnings);
        }
    }

    /** How a run ended. */
    public record RunResult(StopReason reason, long instructions) {
        public int exitStatus() {
            return reason.exitStatus();
        }
    }

    private final PhysicalMemory memory;
    private final Unicorn engine;
    private final Capstone capstone;
    private final Mmu mmu;
    private final Cpu cpu;
    private final Uart16550 com1;
    private final dev.pml4.devices.VgaText vga;
    private BootState bootState;
    private KernelImage image;
    private dev.pml4.trace.Tracer tracer;
    private dev.pml4.mmu.TlbCoherenceChecker tlbChecker;

    public Machine(Config config) {
        PhysicalMemory mem = new PhysicalMemory(config.ramSize());
        Unicorn uc = null;
        Capstone cs = null;
        try {
            uc = Unicorn.openX86_64();
            cs = Capstone.openX86_64();
            this.memory = mem;
            this.engine = uc;
            this.capstone = cs;
            PortBus ports = new PortBus(config.warnings());
            this.mmu = new Mmu(mem, new PageWalker(mem, CpuModel.MAX_PHYS_ADDR), new Tlb(config.tlb()),
                    Cpu.pageMapper(uc, mem, config.warnings()));
            this.cpu = new Cpu(uc, mem, mmu, new ControlRegisters(CpuModel.MAX_PHYS_ADDR, mem), ports, cs,
                    config.instructionLimit(), config.warnings());
            this.com1 = new Uart16550(Uart16550.COM1, config.serialOut(), config.serialIn());
            ports.attach(Uart16550.COM1, Uart16550.COM1 + 7, com1);
            ports.attach(DebugExit.PORT, DebugExit.PORT, new DebugExit(cpu::debugExit));
            // The 8259A pair and the 8254 (BOOT.md, "Devices"); the PIT is brought up to the
            // processor's virtual time before every access, so that a latched count is exact.
            Pic8259Pair pic = new Pic8259Pair(config.warnings());
            Pit8254 pit = new Pit8254(pic, config.warnings());
            ports.attach(Pic8259Pair.MASTER_PORT, Pic8259Pair.MASTER_PORT + 1, pic);
            ports.attach(Pic8259Pair.SLAVE_PORT, Pic8259Pair.SLAVE_PORT + 1, pic);
            Cpu processor = cpu;
            PortDevice timerPorts = new PortDevice() {
                @Override
                public int in(int port, int size) {
                    pit.advanceTo(processor.now());
                    return pit.in(port, size);
                }

                @Override
                public void out(int port, int size, int value) {
                    pit.advanceTo(processor.now());
                    pit.out(port, size, value);
                }
            };
            ports.attach(Pit8254.PORT, Pit8254.CONTROL_PORT, timerPorts);
            ports.attach(Pit8254.PORT_B, Pit8254.PORT_B, timerPorts);
            cpu.attachInterrupts(pic, pit);
            // VGA text mode: the buffer at 0xB8000 is RAM, blank as a BIOS leaves it; the adapter
            // reads it when the screen is shown (VgaText, "The model").
            this.vga = new dev.pml4.devices.VgaText(mem::readBytes);
            mem.writeBytes(dev.pml4.devices.VgaText.BUFFER, dev.pml4.devices.VgaText.blankBuffer());
            ports.attach(dev.pml4.devices.VgaText.FIRST_PORT, dev.pml4.devices.VgaText.LAST_PORT, vga);
        } catch (RuntimeException | Error e) {
            if (cs != null) {
                cs.close();
            }
            if (uc != null) {
                uc.close();
            }
            mem.close();
            throw e;
        }
    }

    /**
     * Turns the TLB-coherence checker on (--check-tlb); before {@link #boot}. In {@code STOP} mode
     * the first stale use ends the run before the access, with exit status 10.
     */
    public dev.pml4.mmu.TlbCoherenceChecker checkTlb(dev.pml4.mmu.TlbCoherenceChecker.Mode mode) {
        if (bootState != null) {
            throw new IllegalStateException("turn the TLB check on before booting");
        }
        cpu.setExecutionMode(dev.pml4.cpu.ExecutionMode.PRECISE); // its write windows close after each instruction
        tlbChecker = dev.pml4.mmu.TlbCoherenceChecker.attach(mode, mmu, memory, new dev.pml4.mmu.TlbCoherenceChecker.Processor() {
            public long instructions() {
                return cpu.instructions();
            }

            public long rip() {
                return engine.readRegister(dev.pml4.ffi.unicorn.X86Reg.RIP);
            }

            public void afterCurrentInstruction(Runnable task) {
                cpu.afterCurrentInstruction(task);
            }
        });
        if (mode == dev.pml4.mmu.TlbCoherenceChecker.Mode.STOP) {
            tlbChecker.addListener(f -> {
                if (f instanceof dev.pml4.mmu.TlbCheckFinding.StaleUse u) {
                    cpu.stopBeforeAccess(new StopReason.StaleTranslation(u.rip(), u.linear(), u.access().name().toLowerCase(java.util.Locale.ROOT)));
                }
            });
        }
        return tlbChecker;
    }

    /** What the TLB-coherence checker found so far (an empty report with {@code enabled} false when it is off). */
    public dev.pml4.mmu.TlbCheckFinding.Report tlbCheck() {
        return tlbChecker != null ? tlbChecker.report() : new dev.pml4.mmu.TlbCheckFinding.Report(false, java.util.List.of());
    }

    /** Loads {@code image} by boot protocol version 1 and puts the processor at its entry. */
    public BootState boot(KernelImage image, String commandLine) throws ImageRejectedException {
        return boot(image, commandLine, java.util.List.of());
    }

    /**
     * Loads {@code image} by the protocol it was read for: a {@link MultibootImage} by Multiboot 1
     * or 2 with {@code modules}, anything else by boot protocol 1 (which has no modules).
     */
    public BootState boot(KernelImage image, String commandLine, java.util.List<BootModule> modules)
            throws ImageRejectedException {
        if (image instanceof MultibootImage multiboot) {
            bootState = MultibootLoader.load(memory, multiboot, commandLine, modules);
        } else if (!modules.isEmpty()) {
            throw new ImageRejectedException(image.name(), "--module is for Multiboot kernels: boot protocol 1 has "
                    + "no modules (the image has no Multiboot header; --boot multiboot or multiboot2 needs one)");
        } else {
            bootState = BootLoader.load(memory, image, commandLine);
        }
        this.image = image;
        cpu.reset(bootState);
        return bootState;
    }

    /**
     * Puts the processor at {@code state}, which a loader (or a test) has already laid out in
     * memory for {@code image}: the entry of a boot protocol other than version 1.
     */
    public void enter(BootState state, KernelImage image) {
        this.bootState = state;
        this.image = image;
        cpu.reset(state);
    }

    /** One instruction (for the debugger), or until something stops the machine. */
    public StopReason step() {
        return cpu.step();
    }

    public RunResult run() {
        if (bootState == null) {
            throw new IllegalStateException("boot an image before running");
        }
        StopReason reason = cpu.run();
        if (tlbChecker != null) {
            tlbChecker.finish();
        }
        com1.flush();
        if (tracer != null) {
            tracer.close(reason.abnormal());
        }
        return new RunResult(reason, cpu.instructions());
    }

    /** Traces the run to {@code out} (boot first, so that the kernel's symbols are known). */
    public dev.pml4.trace.Tracer trace(dev.pml4.trace.TraceOptions options, java.io.Writer out) {
        if (image == null) {
            throw new IllegalStateException("boot an image before tracing it");
        }
        tracer = new dev.pml4.trace.Tracer(cpu, capstone, image.symbols(), options, out);
        cpu.setObserver(tracer);
        mmu.setListener(tracer);
        if (tlbChecker != null) {
            tlbChecker.addListener(tracer::tlbCheck);
        }
        return tracer;
    }

    /** Views of the MMU state as it is now (after a run, or while the debugger holds the machine). */
    public dev.pml4.inspect.Inspector inspector() {
        var idtr = engine.readDescriptorRegister(dev.pml4.ffi.unicorn.X86Reg.IDTR);
        var inspector = new dev.pml4.inspect.Inspector(memory, mmu.walker(), cpu.pagingState(), mmu.tlb(),
                image != null ? image.symbols() : SymbolTable.empty(), idtr.base(), idtr.limit());
        return tlbChecker != null ? inspector.withTlbMarks(tlbChecker::staleMark) : inspector;
    }

    /** Writes RAM and the processor's state for {@code pml4 inspect} ({@code image}: where the kernel came from, for symbols). */
    public void dump(java.nio.file.Path file, String image) throws java.io.IOException {
        var tlbEntries = new java.util.EnumMap<Tlb.Kind, java.util.List<dev.pml4.mmu.TlbEntry>>(Tlb.Kind.class);
        for (Tlb.Kind k : Tlb.Kind.values()) {
            tlbEntries.put(k, mmu.tlb().entries(k));
        }
        dev.pml4.inspect.MachineDump.write(file, memory, new dev.pml4.inspect.MachineDump.State(registers(), tlbEntries, mmu.tlb().config(), image));
    }

    /**
     * The processor's registers by lower-case name: the general-purpose registers, rip, rflags,
     * cs, ss, cpl, cr0, cr2, cr3, cr4, cr8, efer, and the base, limit and selector of gdtr, idtr
     * and tr (as {@code gdtr_base} ...), in that order.
     */
    public java.util.SequencedMap<String, Long> registers() {
        var regs = new java.util.LinkedHashMap<String, Long>();
        for (var r : dev.pml4.ffi.unicorn.X86Reg.GPR_BY_ENCODING) {
            regs.put(r.name().toLowerCase(java.util.Locale.ROOT), engine.readRegister(r));
        }
        regs.put("rip", engine.readRegister(dev.pml4.ffi.unicorn.X86Reg.RIP));
        regs.put("rflags", engine.readRegister(dev.pml4.ffi.unicorn.X86Reg.RFLAGS));
        regs.put("cs", (long) cpu.cs());
        regs.put("ss", (long) cpu.ss());
        regs.put("cpl", (long) cpu.cpl());
        var cr = cpu.controlRegisters();
        regs.put("cr0", cr.cr0());
        regs.put("cr2", cr.cr2());
        regs.put("cr3", cr.cr3());
        regs.put("cr4", cr.cr4());
        regs.put("cr8", cr.cr8());
        regs.put("efer", cr.efer());
        if (cr.pdptes() != null) { // PAE's PDPTE registers, which a PDPT in memory may no longer match (SDM 4.4.1)
            regs.put("pdpt_loaded_from", cr.pdptes().tableAddress());
            for (int i = 0; i < 4; i++) {
                regs.put("pdpte" + i, cr.pdptes().entry(i));
            }
        }
        for (var d : java.util.List.of(dev.pml4.ffi.unicorn.X86Reg.GDTR, dev.pml4.ffi.unicorn.X86Reg.IDTR, dev.pml4.ffi.unicorn.X86Reg.TR)) {
            var v = engine.readDescriptorRegister(d);
            String n = d.name().toLowerCase(java.util.Locale.ROOT);
            regs.put(n + "_base", v.base());
            regs.put(n + "_limit", (long) v.limit());
            regs.put(n + "_selector", (long) v.selector());
        }
        return regs;
    }

    /** The booted kernel's symbols (empty before boot, or when it has none). */
    public SymbolTable symbols() {
        return image != null ? image.symbols() : SymbolTable.empty();
    }

    /** The VGA adapter, whose {@code screen()} shows the text screen as it is now. */
    public dev.pml4.devices.VgaText vga() {
        return vga;
    }

    public PhysicalMemory memory() {
        return memory;
    }

    public Mmu mmu() {
        return mmu;
    }

    public Cpu cpu() {
        return cpu;
    }

    public Unicorn engine() {
        return engine;
    }

    @Override
    public void close() {
        // The engine maps slices of physical memory: it must go first (DESIGN.md, "Physical memory").
        try {
            engine.close();
            capstone.close();
        } finally {
            memory.close();
            dev.pml4.ffi.libc.Malloc.trim();
        }
    }
}
