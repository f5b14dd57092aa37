package dev.pml4.cpu;

import dev.pml4.devices.PortBus;
import dev.pml4.ffi.capstone.Capstone;
import dev.pml4.ffi.unicorn.DescriptorRegister;
import dev.pml4.ffi.unicorn.MemoryAccess;
import dev.pml4.ffi.unicorn.UcError;
import dev.pml4.ffi.unicorn.Unicorn;
import dev.pml4.ffi.unicorn.X86Reg;
import dev.pml4.machine.BootState;
import dev.pml4.machine.PhysicalMemory;
import dev.pml4.mmu.AccessMode;
import dev.pml4.mmu.AccessType;
import dev.pml4.mmu.Mmu;
import dev.pml4.mmu.PagingMode;
import dev.pml4.mmu.PagingState;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.Consumer;

/**
 * The processor in precise mode (DESIGN.md): Unicorn executes every instruction with a Java hook in
 * front of it. The hook counts instructions (virtual time), and hands the few sensitive ones to
 * {@link SystemInstructions} before they run; memory hooks turn the engine's misses into TLB
 * lookups and page walks; port hooks reach the devices.
 */
public final class Cpu {
    /** RFLAGS bits (SDM Vol. 1 3.4.3). */
    static final long RFLAGS_IF = 1L << 9;
    /** RFLAGS.TF, bit 8: a single-step trap after each instruction (SDM Vol. 1 3.4.3.3). */
    static final long RFLAGS_TF = 1L << 8;
    static final long RFLAGS_AC = 1L << 18;

    private static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;

    final Unicorn engine;
    final PhysicalMemory memory;
    final Mmu mmu;
    final ControlRegisters control;
    final PortBus ports;
    final Consumer<String> warnings;
    final SystemInstructions system;
    private final MemorySegment ram;
    private final long instructionLimit;

    /** Retired instructions: pml4's clock. */
    long instructions;
    /**
     * Virtual time spent halted: HLT with interrupts enabled skips ahead to the next timer event.
     * Virtual time, in nominal nanoseconds of a 1 GHz processor, is instructions + idle.
     */
    private long idle;
    /** Virtual time at which to look for a maskable interrupt next (before the next instruction when <= now). */
    long interruptCheckAt = Long.MAX_VALUE;
    private InterruptLine interruptLine = InterruptLine.NONE;
    /** The instruction count when an instruction last asked for an interrupt look (see interruptsMasked). */
    private long checkRequestedAt = -1;
    ExecutionObserver observer = ExecutionObserver.NONE;
    private boolean observed;

    // ---- the debugger's controls (DebugControls); all off unless a debugger is attached ----------
    private boolean debugging;
    /** {@link #debugging}, or the mode-switch trampoline is running: see {@link #unusualInstruction}. */
    private boolean unusual;
    private final java.util.Set<Long> breakpoints = new java.util.HashSet<>();
    private final java.util.Set<Integer> caughtVectors = new java.util.HashSet<>();
    private volatile boolean interruptRequested;
    private boolean stepping;
    private boolean steppedOne;
    /** The RIP a resume starts at: a breakpoint there does not fire before the instruction runs. */
    private long resumedAt = -1;
    private boolean pendingReported;
    private Object watchHit;

    /** What the debugger can ask the processor to do. */
    public interface DebugEvents {
        Object breakpoint(long rip);

        Object stepped();

        Object interrupted();

        Object caught(int vector, int errorCode);
    }

    private DebugEvents debugEvents;
    private VirtualClockDevice timer = VirtualClockDevice.NONE;
    int cpl;
    /** The CS and SS selectors the guest sees; the engine itself always runs on the boot's CPL 0 ones. */
    int cs;
    int ss;
    private StopReason stop;
    private InterruptDelivery.Event pending;
    private final InterruptDelivery delivery = new InterruptDelivery(this);
    /**
     * Where execution resumes after the engine returns, or -1. Unicorn 2.0.1 ignores uc_emu_stop
     * when a code hook also wrote RIP (it stops internally to honour the new RIP and swallows
     * ours), so a hook that must both redirect and stop only stops, and RIP is written here.
     */
    private long resumeRip = -1;
    /** The engine was stopped so that it translates again from RIP (nothing in the block ran). */
    private boolean retranslate;
    /**
     * Precise mode: the instruction QEMU starts again after the engine page table's miss from
     * running code (onPageTableMiss), whose code hook has counted it already; or -1.
     */
    private long retryRip = -1;
    private final FetchFence fence;
    /** How the engine reaches what the TLB holds: the engine page table, or Unicorn regions. */
    final EngineMemory engineMemory;
    /** The regions, when they are the layout: their parked code has machinery of its own below. */
    private final EnginePageMapper enginePages;
    /** Fast mode's controller (null without its native helper); on only when {@link #run} chose it. */
    private final FastExecution fast;
    private ExecutionMode mode = ExecutionMode.FAST; // precise whenever fast cannot be had (installCodeHook)
    private boolean fastOn;
    /**
     * The instruction the code hook last counted and let the engine run natively, or -1 once Java
     * did anything since (emulated an instruction, raised an exception, started the engine). The
     * hook firing there again without an instruction that can repeat itself is QEMU restarting a
     * store that changed its own translation block ({@link SelfModifyingCode}), not a new instruction.
     */
    private long lastNativeRip = -1;
    /** The count at which the instruction at lastNativeRip, found able to follow itself, is counted again. */
    private long repeatingAt = -1;
    private final NonCanonicalAccess nonCanonical;
    /** Writable aliases of frames the engine translated code from, to unmap once it has stopped. */
    private final java.util.List<dev.pml4.mmu.ResidentMappings.Chunk> codeAliasesToUnmap = new java.util.ArrayList<>();
    private boolean codeHooked;
    private boolean fastAbandoned;
    /**
     * Fast mode starts once this many instructions have run precisely (-Dpml4.fastFrom): its
     * set-up (upcall stubs, scanning the first blocks) costs a run as short as hello more than it
     * saves, about 25 ms of a 0.25 s start-up (issue 12 part 3).
     */
    private long fastFrom = Long.getLong("pml4.fastFrom", 50_000);
    /** Fast mode was asked for and may run, but starts at {@link #fastFrom}. */
    private boolean fastPending;
    /** The precise hook while fast mode is pending, to be replaced by fast mode's. */
    private Unicorn.Hook preciseCodeHook;
    /** The precise hook stopped the engine at {@link #fastFrom}: fast mode starts before the next run. */
    private boolean switchToFast;
    private final TranslationGuard guard;
    private final AccessFlagWatch accessFlag = new AccessFlagWatch(this);

    // ---- a task after the current instruction (the TLB checker's write window) ----------------
    /** Look at {@link #afterTask} from this instruction count on; Long.MAX_VALUE while there is none. */
    private long afterTaskFrom = Long.MAX_VALUE;
    private long afterTaskCount;
    private long afterTaskRip;
    private Runnable afterTask;
    /** Something (the TLB checker in stop mode, the debugger) stopped the run before the access being translated. */
    private boolean stopBeforeAccess;

    /** Changes the engine's code mode (64-bit or compatibility) when the guest's code segment changes size. */
    final ModeSwitch modeSwitch = new ModeSwitch(this);
    /** The guest's code segment, and the engine following it. */
    final CodeSegments codeSegments = new CodeSegments(this);
    /** The guest runs 32-bit code: a code segment with L = 0 and D = 1 (SDM Vol. 3A 3.4.5, 5.2.1). */
    boolean code32;
    /** The prefix and opcode tables of the current code size (REX exists in 64-bit code only). */
    private boolean[] prefixes = SensitiveOpcodes.PREFIX;
    private boolean[] oneByte = SensitiveOpcodes.ONE_BYTE;
    /** The guest's SS descriptor as 32-bit code would use it ({@link ModeSwitch#FLAT_DATA_32} for a null SS). */
    long stackShape = ModeSwitch.FLAT_DATA_32;
    /** The bases of ES, CS, SS and DS (in segment-register encoding order) as the guest loaded them; 32-bit code adds them. */
    final long[] segmentBase = new long[4];

    // The code page last fetched from, so that classifying an instruction costs a RAM read.
    private long codePage = -1;
    private long codeFrame;

    public Cpu(Unicorn engine, PhysicalMemory memory, Mmu mmu, ControlRegisters control, PortBus ports,
               Capstone capstone, long instructionLimit, Consumer<String> warnings) {
        this.engine = engine;
        this.memory = memory;
        this.mmu = mmu;
        this.control = control;
        this.ports = ports;
        this.warnings = warnings;
        this.instructionLimit = instructionLimit <= 0 ? Long.MAX_VALUE : instructionLimit;
        this.ram = memory.ramSlice(0, memory.ramSize());
        this.system = new SystemInstructions(this, capstone);
        this.nonCanonical = new NonCanonicalAccess(capstone);
        this.engineMemory = (EngineMemory) mmu.mappings().mapper(); // made by pageMapper
        this.enginePages = engineMemory instanceof EnginePageMapper m ? m : null;
        this.fence = new FetchFence(engineMemory);
        if (enginePages != null) {
            // Both modes keep the code of parked pages: precise mode's hook walks it at the
            // instruction (codeFetchable), fast mode's block hook stops before it (walkBlockCode).
            enginePages.keepParkedCode(() -> codeHooked);
            enginePages.onParkedCodeChange(() -> {
                if (fastOn) { // precise mode's hook asks the mappings themselves (codeFetchable)
                    fastExecution().parkedCode(enginePages.parkedCodePages());
                }
            });
        }
        this.guard = new TranslationGuard(this, capstone);
        // The code hook is installed by the first run, once it is known whether fast mode may be used.
        this.fast = FastExecution.installMemoryHook(this, engine, capstone, (type, address, size, value) -> {
            if (fastOn) {
                fastExecution().syncAtEvent(type.isFetch(), address);
            }
            return onMemoryEvent(type, address, size, value);
        });
        engine.hookPortIn((port, size) -> {
            int value = ports.in(port, size);
            observer.port(false, port, size, value);
            if (fastOn) {
                fast.updateLimit();
            }
            return value;
        });
        engine.hookPortOut((port, size, value) -> {
            observer.port(true, port, size, value);
            ports.out(port, size, value);
            interruptCheckAt = Math.min(interruptCheckAt, instructions); // a PIC write may unmask or EOI
            if (fastOn) {
                fast.updateLimit();
            }
        });
        engine.hookInterrupts(this::onEngineInterrupt);
        engine.hookInvalidInstructions(this::onInvalidInstruction);
    }

    /** The mapper through which the MMU keeps Unicorn's address space equal to the resident TLB entries. */
    public static dev.pml4.mmu.PageMapper pageMapper(Unicorn engine, PhysicalMemory memory, Consumer<String> warnings) {
        return EnginePageTable.create(engine, memory, warnings).<dev.pml4.mmu.PageMapper>map(t -> t)
                .orElseGet(() -> new EnginePageMapper(engine, memory, warnings));
    }

    /**
     * Runs {@code task} at the first instruction boundary after the instruction executing now,
     * whether it retired or was abandoned for another (an exception); not before its retry when the
     * engine runs it again. Call from a memory hook.
     */
    public void afterCurrentInstruction(Runnable task) {
        afterTask = task;
        afterTaskCount = instructions;
        afterTaskRip = engine.readRegister(X86Reg.RIP);
        afterTaskFrom = instructions - 1;
    }

    private void runAfterTask(long rip) {
        if (instructions >= afterTaskCount || rip != afterTaskRip) {
            afterTaskFrom = Long.MAX_VALUE;
            Runnable task = afterTask;
            afterTask = null;
            task.run();
        }
    }

    /**
     * Ends the run with {@code reason} before the memory access being translated now: the
     * instruction does not run (RIP stays on it), as if it had not been reached. From a memory hook;
     * from Java's own accesses the run ends after the instruction.
     */
    public void stopBeforeAccess(StopReason reason) {
        stop(reason);
        stopBeforeAccess = true;
    }

    /** The debug-exit port was written: the run ends after this instruction. */
    public void debugExit(int value) {
        stop(new StopReason.DebugExit(value));
    }

    public long instructions() {
        return instructions;
    }

    /** Asks for fast or precise mode; tracing and the debugger always get precise mode. Before the first run. */
    public void setExecutionMode(ExecutionMode mode) {
        this.mode = mode;
    }

    /** The mode the processor runs in (what was asked for until the first run decides). */
    public ExecutionMode executionMode() {
        return codeHooked ? (fastOn ? ExecutionMode.FAST : ExecutionMode.PRECISE) : mode;
    }

    /** Fast mode's counters, or empty in precise mode. */
    public java.util.Optional<String> fastModeStatistics() {
        return fastOn || fastAbandoned ? java.util.Optional.of(fast.statistics()) : java.util.Optional.empty();
    }

    /** Fast mode: the instruction count that no block may run past before the Java hook looks (precise mode's checks). */
    long nextLook() {
        if (accessFlag.armed() || (debugging && (stepping || interruptRequested))) {
            return instructions; // the next instruction's hook looks at RFLAGS.AC, or stops for the debugger
        }
        long check = interruptCheckAt;
        if (check != Long.MAX_VALUE && (!interruptLine.intr() || interruptsMasked())) {
            // INTR is low, and only a device can raise it: the timer at its next event, or a port
            // access (whose hook asks again). Or RFLAGS.IF = 0, which only an instruction Java
            // sees can change (STI, POPF, IRET, SYSRET; they ask again). A look before the timer's
            // next event would only bring the timer up to date and find nothing to deliver, so
            // fast mode need not stop for it (each stop costs a block translated again); precise
            // mode's looks give the same result.
            check = Math.max(check, timer.nextEventAt());
        }
        long interrupt = check == Long.MAX_VALUE ? Long.MAX_VALUE : check - idle;
        return Math.min(interrupt, instructionLimit);
    }

    /**
     * RFLAGS.IF = 0 for good as far as fast mode's limit is concerned: not while the instruction that
     * asked for a look (STI, POPF at CPL 0) has yet to run in the engine and set IF itself.
     */
    private boolean interruptsMasked() {
        return checkRequestedAt != instructions && (engine.readRegister(X86Reg.RFLAGS) & RFLAGS_IF) == 0;
    }

    /** Fast mode: whether a block overlaps the fenced page (its instructions must go through the code hook). */
    boolean fenceOverlaps(long start, int size) {
        return fence.up() && (fence.covers(start) || fence.covers(start + size - 1));
    }

    /**
     * The code hook must see every instruction from now on (ModeSwitch's trampoline stops on its
     * target there): installs the precise hook if none is yet, or ends fast mode for this run.
     */
    void requireEveryInstruction() {
        fastPending = false; // nor does fast mode take over later
        if (!codeHooked) {
            codeHooked = true;
            engine.hookCode(1, 0, this::onInstruction);
        } else if (fastOn) {
            fast.hookEveryInstruction();
        }
    }

    /** Fast mode gave up for this run (FastExecution): every instruction goes through the hook from now on. */
    void fastModeAbandoned() {
        fastOn = false;
        fastAbandoned = true;
    }

    private FastExecution fastExecution() {
        return fast;
    }

    private void installCodeHook() {
        codeHooked = true;
        boolean fastWanted = mode == ExecutionMode.FAST && fast != null && !observed && !code32;
        // Under the debugger fast mode starts at once: the hook's debugger path never switches.
        boolean now = instructions >= fastFrom || debugging;
        if (fastWanted && now && startFast()) {
            return;
        }
        preciseCodeHook = engine.hookCode(1, 0, this::onInstruction);
        fastPending = fastWanted && !now;
    }

    /** Fast mode's hooks in place of precise mode's; false (nothing changed) when it cannot run here. */
    private boolean startFast() {
        if (fast.enable(this::onInstruction)) {
            fastOn = true;
            return true;
        }
        if (fast.layoutProblem() != null) {
            warnings.accept("fast mode is off, running precisely: " + fast.layoutProblem());
        }
        return false;
    }

    /**
     * Between engine runs, at {@link #fastFrom}: precise mode's hook goes, fast mode's hooks come,
     * and every translated block is dropped, since each carries a call to the old hook.
     */
    private void switchToFastMode() {
        switchToFast = false;
        fastPending = false;
        engine.deleteHook(preciseCodeHook);
        if (!startFast()) {
            preciseCodeHook = engine.hookCode(1, 0, this::onInstruction);
            return;
        }
        forgetTranslatedCode();
    }

    /** Drops every translated block. */
    void forgetTranslatedCode() {
        engineMemory.forgetTranslatedCode();
    }

    /** From which instruction count fast mode runs (before the first run; tests use 0). */
    public void setFastModeFrom(long count) {
        fastFrom = count;
    }

    /** Fast mode was asked for but the run has not reached the count where it starts (or ended before). */
    public boolean fastModePending() {
        return fastPending;
    }

    /** The instruction count from which fast mode runs. */
    public long fastModeFrom() {
        return fastFrom;
    }

    /** Virtual time: one nanosecond per instruction, plus the time spent halted. */
    public long now() {
        return instructions + idle;
    }

    /** Lets {@code o} watch every instruction and event (the tracer); never steers. */
    public void setObserver(ExecutionObserver o) {
        observer = o == null ? ExecutionObserver.NONE : o;
        observed = o != null;
    }

    /** Turns on the debugger's controls; {@code events} makes the stop events it wants to see. */
    public void enableDebugging(DebugEvents events) {
        this.debugEvents = events;
        this.debugging = true;
        refreshUnusual();
    }

    public java.util.Set<Long> breakpoints() {
        return breakpoints;
    }

    public void catchVectors(java.util.Set<Integer> vectors) {
        caughtVectors.clear();
        caughtVectors.addAll(vectors);
    }

    /** Safe from any thread: stop before the next instruction. */
    public void requestDebugInterrupt() {
        interruptRequested = true;
        if (fastOn) {
            fast.lookSoon(); // the next block stops, and its first instruction's hook sees the request
        }
    }

    /**
     * A breakpoint was set or cleared at {@code address}: code translated over it must be scanned
     * again, so that fast mode puts the hook on it (or takes it off).
     */
    public void breakpointsChanged(long address) {
        if (codeHooked) {
            engineMemory.forgetTranslatedCodeAt(address);
        }
    }

    /**
     * A memory-access hook was added (the debugger's watchpoints). It runs during the access, and
     * only the next instruction's hook can stop there, so every instruction goes through the hook
     * from now on (precise mode). And hooks apply only to code translated after they were added
     * (DESIGN.md fact 11), so every translated block goes; fast mode's giving up drops them itself.
     */
    public void memoryHooksAdded() {
        boolean givesUpFast = fastOn; // which drops every block itself
        requireEveryInstruction();
        if (!givesUpFast) {
            forgetTranslatedCode();
        }
    }

    /** Fast mode's scan: whether the debugger stops at {@code address} (so the hook must see it). */
    boolean breakpointAt(long address) {
        return !breakpoints.isEmpty() && breakpoints.contains(address);
    }

    /** A watchpoint matched during the current instruction: stop after it. */
    public void watchpointHit(Object event) {
        watchHit = event;
    }

    /** Runs one instruction (or until something stops the machine). */
    public StopReason step() {
        stepping = true;
        steppedOne = false;
        try {
            return run();
        } finally {
            stepping = false;
        }
    }

    private void debugStop(Object event) {
        if (stop == null) {
            stop = new StopReason.DebugBreak(event);
        }
        engine.stop();
    }

    /** The debugger's checks at an instruction boundary; true when the machine stops here. */
    private boolean debugCheck(long rip) {
        if (interruptRequested) {
            interruptRequested = false;
            debugStop(debugEvents.interrupted());
            return true;
        }
        if (watchHit != null) {
            Object hit = watchHit;
            watchHit = null;
            debugStop(hit);
            return true;
        }
        if (stepping && steppedOne) {
            debugStop(debugEvents.stepped());
            return true;
        }
        boolean first = resumedAt == rip;
        resumedAt = -1;
        if (!first && breakpoints.contains(rip)) {
            debugStop(debugEvents.breakpoint(rip));
            return true;
        }
        if (stepping) {
            steppedOne = true;
        }
        return false;
    }

    /** Connects the interrupt controller (INTR/INTA) and the device that keeps time. */
    public void attachInterrupts(InterruptLine line, VirtualClockDevice clock) {
        this.interruptLine = line;
        this.timer = clock;
        this.interruptCheckAt = 0;
    }

    /** Something may have raised INTR or set IF: look before the next instruction. */
    void requestInterruptCheck() {
        interruptCheckAt = Math.min(interruptCheckAt, now());
        checkRequestedAt = instructions;
    }

    /** After STI: not before the next instruction has run (the STI interrupt shadow, SDM Vol. 2B STI). */
    void requestInterruptCheckAfterNext() {
        interruptCheckAt = Math.min(interruptCheckAt, now() + 1);
        checkRequestedAt = instructions;
    }

    /**
     * At an instruction boundary: brings the timer up to now, and takes a maskable interrupt when
     * INTR is up and RFLAGS.IF = 1. Returns true when one is pending delivery.
     */
    private boolean takeInterrupt(long rip) {
        long t = now();
        timer.advanceTo(t);
        interruptCheckAt = timer.nextEventAt();
        if (!interruptLine.intr() || (engine.readRegister(X86Reg.RFLAGS) & RFLAGS_IF) == 0) {
            return false; // STI, POPF, IRETQ and PIC writes ask again
        }
        int vector = interruptLine.acknowledge();
        pending = new InterruptDelivery.Event(vector, -1, 0, InterruptDelivery.Source.EXTERNAL, rip, rip, "IRQ");
        return true;
    }

    /**
     * HLT with RFLAGS.IF = 1: the processor sleeps until an interrupt (SDM Vol. 2A HLT). Virtual time
     * jumps to the timer's next event; with none coming, or past the limit, the run ends.
     */
    void haltUntilInterrupt(long rip, long next) {
        while (true) {
            if (takeInterrupt(next)) {
                resumeRip = next;
                engine.stop();
                return;
            }
            long wake = timer.nextEventAt();
            if (wake == Long.MAX_VALUE) {
                stopAfterEmulated(new StopReason.Idle(rip), next);
                return;
            }
            if (wake > instructionLimit) {
                stopAfterEmulated(new StopReason.InstructionLimit(instructionLimit, next), next);
                return;
            }
            idle += Math.max(0, wake - now());
        }
    }

    public int cpl() {
        return cpl;
    }

    /** How often the translator's fetches came to the {@link TranslationGuard}, and what it did. */
    public TranslationGuard.Statistics translationGuard() {
        return guard.statistics();
    }

    public ControlRegisters controlRegisters() {
        return control;
    }

    /** Puts the processor in the state BOOT.md promises at entry. */
    public void reset(BootState boot) {
        control.reset(boot.cr0(), boot.cr3(), boot.cr4(), boot.efer());
        cpl = 0;
        cs = boot.cs();
        ss = boot.ss();
        for (X86Reg r : X86Reg.GPR_BY_ENCODING) {
            engine.writeRegister(r, 0);
        }
        engine.writeRegister(X86Reg.RSP, boot.rsp());
        engine.writeRegister(X86Reg.RDI, boot.rdi());
        engine.writeRegister(X86Reg.RFLAGS, boot.rflags());
        engine.writeRegister(X86Reg.RIP, boot.rip());
        mirrorFpuControl();
        engine.writeDescriptorRegister(X86Reg.GDTR, new DescriptorRegister(0, boot.gdtBase(), boot.gdtLimit(), 0));
        engine.writeDescriptorRegister(X86Reg.IDTR, new DescriptorRegister(0, 0, 0, 0));
        // Loading a selector reads its descriptor through the engine, so the GDT must be mapped
        // first: translate it as the processor's own (implicit supervisor) access would.
        Mmu.AccessResult gdt = mmu.access(boot.gdtBase(), boot.gdtLimit() + 1, AccessType.READ,
                AccessMode.IMPLICIT_SUPERVISOR, pagingState());
        if (gdt.fault() != null) {
            throw new IllegalStateException("the boot GDT is not mapped by the boot page tables: " + gdt.fault());
        }
        // A host write of FS or GS loads the descriptor in the engine (REPORT.md Q1a), and QEMU then
        // writes its accessed flag: set it first, as the loader's processor would have, so that
        // nothing is written (and no memory hook fires) outside a run.
        for (int selector : new int[]{boot.fs(), boot.gs()}) {
            if ((selector & ~3) != 0) {
                try {
                    SegmentDescriptor.read(this, selector, 0, "a boot data segment").markAccessed(this);
                } catch (ArchitecturalException e) {
                    throw new IllegalStateException("the boot GDT does not hold the data segments: " + e.reason(), e);
                }
            }
        }
        engine.writeRegister(X86Reg.CS, boot.cs());
        engine.writeRegister(X86Reg.SS, boot.ss());
        engine.writeRegister(X86Reg.DS, boot.ds());
        engine.writeRegister(X86Reg.ES, boot.es());
        engine.writeRegister(X86Reg.FS, boot.fs());
        engine.writeRegister(X86Reg.GS, boot.gs());
        engine.writeRegister(X86Reg.FS_BASE, 0);
        engine.writeRegister(X86Reg.GS_BASE, 0);
        setCodeSize(false);
        stackShape = ModeSwitch.FLAT_DATA_32;
        java.util.Arrays.fill(segmentBase, 0);
        codeSegments.reset(boot);
    }

    /** Which instruction tables the code hook uses: 32-bit code has no REX prefixes, and far transfers of its own. */
    void setCodeSize(boolean bits32) {
        code32 = bits32;
        if (bits32 && fastOn) {
            fast.preciseFromNextBlock(); // fast mode scans and classifies 64-bit code only
        }
        prefixes = bits32 ? SensitiveOpcodes.PREFIX_32 : SensitiveOpcodes.PREFIX;
        oneByte = bits32 ? SensitiveOpcodes.ONE_BYTE_32 : SensitiveOpcodes.ONE_BYTE;
    }

    /** "64-bit mode", "compatibility mode" or "protected mode" (SDM Vol. 3A 2.2, 9.8.5): for traces and messages. */
    public String processorMode() {
        if ((control.efer() & ControlRegisters.EFER_LMA) == 0) {
            return "protected mode";
        }
        return code32 ? "compatibility mode" : "64-bit mode";
    }

    public boolean code32() {
        return code32;
    }

    /** Tells the tracer when the processor's mode is no longer {@code before}. */
    void modeChanged(String before) {
        String now = processorMode();
        if (observed && !now.equals(before)) {
            observer.modeSwitched(before, now, cs);
        }
    }

    /**
     * Copies the guest's FPU/SSE control bits into the engine's CR0 and CR4 (they decide whether
     * x87/SSE instructions run or raise #NM/#UD there); the paging bits never go to the engine.
     */
    void mirrorFpuControl() {
        long fpu0 = ControlRegisters.CR0_MP | ControlRegisters.CR0_EM | ControlRegisters.CR0_TS | ControlRegisters.CR0_NE;
        long engineCr0 = engine.readRegister(X86Reg.CR0);
        engine.writeRegister(X86Reg.CR0, (engineCr0 & ~fpu0 & ~ControlRegisters.CR0_PG) | (control.cr0() & fpu0) | ControlRegisters.CR0_PE);
        long fpu4 = ControlRegisters.CR4_OSFXSR | ControlRegisters.CR4_OSXMMEXCPT;
        long engineCr4 = engine.readRegister(X86Reg.CR4);
        engine.writeRegister(X86Reg.CR4, (engineCr4 & ~fpu4) | (control.cr4() & fpu4));
    }

    /**
     * Canonical for IA-32e mode's current linear-address width: 57 bits with CR4.LA57 = 1, else 48
     * (SDM Vol. 1 3.3.7.1, Vol. 3A 4.5).
     */
    boolean canonical(long address) {
        return ((control.cr4() & ControlRegisters.CR4_LA57) != 0 ? PagingMode.FIVE_LEVEL : PagingMode.FOUR_LEVEL)
                .canonical(address);
    }

    public PagingState pagingState() {
        boolean ac = (control.cr4() & ControlRegisters.CR4_SMAP) != 0 && (engine.readRegister(X86Reg.RFLAGS) & RFLAGS_AC) != 0;
        return control.pagingState(ac);
    }

    AccessMode dataMode() {
        return cpl == 3 ? AccessMode.USER : AccessMode.SUPERVISOR;
    }

    /** Runs until the guest stops, the limit is reached, or something breaks. */
    public StopReason run() {
        if (stop instanceof StopReason.DebugBreak) {
            stop = null; // the debugger resumes
            resumedAt = engine.readRegister(X86Reg.RIP);
        }
        if (stop != null) {
            return stop; // the run has ended for good
        }
        if (!codeHooked) {
            installCodeHook();
        }
        if (pending != null && pendingReported) { // a caught exception, reported: deliver it now
            InterruptDelivery.Event e = pending;
            pending = null;
            pendingReported = false;
            deliver(e);
            if (stop != null) {
                return stop;
            }
            steppedOne = stepping;
        }
        int idleStarts = 0;
        while (stop == null) {
            codeSegments.followIfPending();
            long before = instructions;
            long rip = engine.readRegister(X86Reg.RIP);
            int err;
            if (fastOn) {
                fast.beforeRun(rip);
            }
            lastNativeRip = -1;
            try {
                err = engine.start(rip, guard.takeUntil(), 0, 0); // "until" is an address: normally one never reached
            } catch (Unicorn.HookFailure f) {
                stop = new StopReason.InternalError("a hook failed at RIP 0x" + Long.toHexString(safeRip()), f.getCause());
                break;
            } catch (RuntimeException e) {
                stop = new StopReason.InternalError("the engine failed at RIP 0x" + Long.toHexString(rip), e);
                break;
            }
            if (fastOn) {
                fast.afterRun(stop != null || pending != null || retranslate || resumeRip >= 0);
            }
            if (retryRip >= 0) {
                instructions--; // the run ended before QEMU started it again: the next run counts it
                retryRip = -1;
            }
            if (switchToFast) {
                switchToFastMode();
            }
            fence.endOfRun();
            if (!codeAliasesToUnmap.isEmpty()) {
                unmapCodeAliases();
            }
            stopBeforeAccess = false;
            if (err == UcError.OK && pending == null && stop == null && resumeRip < 0 && safeRip() == TranslationGuard.NO_STOP) {
                // The engine stops before that address, which no jump may reach (SDM 3.3.7.1).
                raiseNonCanonicalBranch(TranslationGuard.NO_STOP);
            }
            if (resumeRip >= 0) {
                engine.writeRegister(X86Reg.RIP, resumeRip);
                resumeRip = -1;
            }
            if (stop != null) {
                break;
            }
            if (pending != null) {
                if (debugging && !pendingReported && caughtVectors.contains(pending.vector())
                        && pending.source() != InterruptDelivery.Source.EXTERNAL) {
                    pendingReported = true; // stop before delivery; the next resume delivers it
                    engine.writeRegister(X86Reg.RIP, pending.instructionRip());
                    if (pending.vector() == ArchitecturalException.PF) {
                        control.setCr2(pending.cr2()); // CR2 is loaded when the #PF is detected (SDM 6.15)
                    }
                    stop = new StopReason.DebugBreak(debugEvents.caught(pending.vector(), pending.errorCode()));
                    break;
                }
                InterruptDelivery.Event e = pending;
                pending = null;
                pendingReported = false;
                deliver(e);
                if (stepping && stop == null) {
                    steppedOne = true; // stepping into a handler stops at its first instruction
                }
                continue;
            }
            idleStarts = instructions == before ? idleStarts + 1 : 0;
            if (retranslate) {
                retranslate = false;
                if (idleStarts > 1000) {
                    stop = new StopReason.InternalError(String.format("the engine translates again and again at RIP 0x%x", safeRip()), null);
                }
                continue;
            }
            if (err != UcError.OK) {
                stop = new StopReason.InternalError(String.format("the engine stopped with \"%s\" at RIP 0x%x",
                        Unicorn.errorText(err), safeRip()), null);
                break;
            }
            // A hook that redirected RIP makes the engine return; carry on, unless nothing moves.
            if (idleStarts > 1000) {
                stop = new StopReason.InternalError(String.format("the engine makes no progress at RIP 0x%x", safeRip()), null);
            }
        }
        return stop;
    }

    private long safeRip() {
        try {
            return engine.readRegister(X86Reg.RIP);
        } catch (RuntimeException e) {
            return -1;
        }
    }

    /** Ends the run after the current hook. */
    void stop(StopReason reason) {
        if (stop == null) {
            stop = reason;
        }
        engine.stop();
    }

    /**
     * Ends the run from the code hook of an instruction that Java has just emulated: the engine
     * does not run it, and RIP is set to {@code next} once the engine has returned.
     */
    void stopAfterEmulated(StopReason reason, long next) {
        resumeRip = next;
        stop(reason);
    }

    /**
     * The instruction at {@code rip} raises {@code e}: it does not retire, and the exception is
     * delivered once the engine has returned. Called from a code hook (the engine then does not
     * run the instruction) or from a memory hook that returns false (the engine abandons it).
     */
    void raise(ArchitecturalException e, long rip) {
        lastNativeRip = -1;
        if (pending == null) {
            InterruptDelivery.Source source = e.isIcebp() ? InterruptDelivery.Source.ICEBP
                    : e.isSoftware() ? InterruptDelivery.Source.SOFTWARE : InterruptDelivery.Source.EXCEPTION;
            pending = new InterruptDelivery.Event(e.vector(), e.errorCode(), e.faultAddress(), source,
                    e.isSoftware() ? e.softwareReturn() : rip, rip, e.reason());
        }
        engine.stop();
    }

    /**
     * The block the engine is translating starts with an instruction it must not see: it raises
     * #UD at its own RIP, after what happens at any instruction boundary first (a breakpoint, an
     * interrupt: SDM 6.9 puts external interrupts before faults from decoding the next instruction).
     */
    void undefinedAtBlockStart(long rip, String why) {
        if (stop != null) {
            engine.stop();
            return;
        }
        if (debugging && debugCheck(rip)) {
            return;
        }
        if (now() >= interruptCheckAt && takeInterrupt(rip)) {
            engine.stop();
            return;
        }
        raise(ArchitecturalException.ud(why), rip);
    }

    /** Nothing of the block being translated runs: the engine starts again from RIP. */
    void translateAgain() {
        retranslate = true;
    }

    /** The guest's privilege level changed: what the engine maps was derived from the old one. */
    void setCpl(int newCpl, int oldCpl) {
        cpl = newCpl;
        if (newCpl == oldCpl) {
            return;
        }
        // Going to CPL 3, supervisor-only pages must stop being reachable (DESIGN.md, "The TLB
        // model"); going to CPL 0, only SMEP and SMAP take rights away from what CPL 3 had.
        long smepSmap = ControlRegisters.CR4_SMEP | ControlRegisters.CR4_SMAP;
        if (newCpl == 3 || (control.cr4() & smepSmap) != 0) {
            mmu.restrictTo(newCpl == 3 ? AccessMode.USER : AccessMode.SUPERVISOR, pagingState());
        }
        codeMappingsChanged();
    }

    private Unicorn.RegisterFile registerFile;

    /** RAX..R15 and RFLAGS in snapshots, for the tracer at every instruction. */
    public Unicorn.RegisterFile registerFile() {
        if (registerFile == null) {
            registerFile = engine.registerFile();
        }
        return registerFile;
    }

    /**
     * The bytes {@link #instructionBytes(long, int)} returns, little-endian in {@code into[0]}
     * (bytes 0-7) and {@code into[1]} (bytes 8-14), zero past {@code size}: without allocating when
     * the instruction lies in one resident RAM chunk, as nearly every one does (the trace ring
     * records them at every instruction).
     */
    public void instructionBytes(long rip, int size, long[] into) {
        var chunk = mmu.mappings().chunkAt(rip);
        long physical = chunk != null ? chunk.physical() + (rip - chunk.linear()) : -1;
        if (chunk != null && chunk.ram() && rip + size <= chunk.linear() + chunk.size() && physical + 16 <= memory.ramSize()) {
            long low = memory.read64(physical);
            long high = memory.read64(physical + 8);
            into[0] = size >= 8 ? low : low & ((1L << (8 * size)) - 1);
            into[1] = size <= 8 ? 0 : high & ((1L << (8 * (size - 8))) - 1);
            return;
        }
        byte[] bytes = instructionBytes(rip, size);
        into[0] = 0;
        into[1] = 0;
        for (int i = 0; i < bytes.length; i++) {
            into[i >> 3] |= (bytes[i] & 0xffL) << (8 * (i & 7));
        }
    }

    /** The bytes of the instruction the engine is about to run (it is mapped). */
    public byte[] instructionBytes(long rip, int size) {
        // Not through the engine: a fill during the instruction before may have evicted the TLB
        // entry, and with it the mapping, of the page the engine is still running from.
        byte[] out = new byte[size];
        for (int done = 0; done < size; ) {
            long linear = rip + done;
            int n = (int) Math.min(size - done, 0x1000 - (linear & 0xfff));
            var chunk = mmu.mappings().chunkAt(linear);
            long physical;
            if (chunk != null && chunk.ram()) {
                physical = chunk.physical() + (linear - chunk.linear());
            } else if (mmu.walker().probe(linear, AccessType.FETCH, dataMode(), pagingState()) instanceof dev.pml4.mmu.Translation t) {
                physical = t.physicalAddress(); // a walk without side effects: the tracer may ask too
            } else {
                break; // past the instruction, in a page that does not translate: leave zeros
            }
            System.arraycopy(memory.readBytes(physical, n), 0, out, done, n);
            done += n;
        }
        return out;
    }

    public int cs() {
        return cs;
    }

    public int ss() {
        return ss;
    }

    /** Delivers an event through the guest's IDT; a triple fault ends the run. */
    private void deliver(InterruptDelivery.Event e) {
        long rip = e.instructionRip();
        engine.writeRegister(X86Reg.RIP, rip);
        InterruptDelivery.Outcome outcome;
        try {
            outcome = delivery.deliver(e);
        } catch (NotModelledException n) {
            stop = new StopReason.NotModelled("delivering " + e + ": " + n.getMessage(), rip);
            return;
        }
        switch (outcome) {
            case InterruptDelivery.Success s -> {
                if (observed) {
                    var d = s.delivered();
                    observer.delivered(String.join(", then ", s.chain().stream().map(InterruptDelivery.Event::toString).toList()),
                            d.event().vector(), d.event().errorCode(), control.cr2(), d.handler(), d.newCpl(), d.frameAddress(), d.frame());
                }
            }
            case InterruptDelivery.Shutdown s -> {
                String chain = String.join(", then ", s.chain().stream().map(InterruptDelivery.Event::toString).toList());
                stop = new StopReason.TripleFault(chain, rip, control.cr2(), control.cr3(), s.why());
            }
        }
    }

    // ---- hooks --------------------------------------------------------------------------------

    private void onInstruction(long rip, int size) {
        if (rip == retryRip) {
            retryRip = -1;
            return; // started again after the engine page table's miss: counted and checked when it first started
        }
        if (rip == lastNativeRip && !fastOn && size > 0 && size <= 15) {
            // Decoded only when the instruction before was not this one found repeating itself
            // just now: a LOOP or JMP to itself comes here on every turn.
            if (instructions != repeatingAt && !SelfModifyingCode.mayContinueAt(instructionBytes(rip, size), rip, size, rip)) {
                return; // counted when it first started; QEMU abandoned it for a store into its own block
            }
            repeatingAt = instructions + 1;
        }
        if (fastPending && instructions >= fastFrom && !unusual && afterTask == null && pending == null && stop == null
                && !code32) {
            switchToFast = true; // the instruction does not run yet: fast mode runs it
            engine.stop();
            return;
        }
        if (instructions >= afterTaskFrom && !modeSwitch.active()) {
            runAfterTask(rip); // not on the trampoline's instructions, which are not the guest's
        }
        if (unusual) {
            if (unusualInstruction(rip)) {
                return;
            }
        } else if (stop != null) {
            engine.stop(); // a device ended the run during the instruction before (the debug-exit port)
            return;
        }
        if (size <= 0 || size > 15) {
            // Unicorn reports an undecodable instruction with a nonsense size (0xF1F1F1F1): it
            // would raise #UD itself, which must never happen (DESIGN.md, fact 1).
            raise(ArchitecturalException.ud("invalid opcode"), rip);
            return;
        }
        if (fence.reachedBy(rip, size)) {
            fetchReachesFence(rip);
            return;
        }
        if (((rip & ~0xfffL) != fetchablePage || mmu.mappings().version() != fetchableVersion
                || (rip & 0xfff) + size > 0x1000) && !codeFetchable(rip, size)) {
            return;
        }
        accessFlag.check();
        if (now() >= interruptCheckAt && takeInterrupt(rip)) {
            engine.stop(); // the instruction does not run; the interrupt is delivered first
            return;
        }
        if (observed) {
            observer.instruction(instructions + 1, rip, size);
        }
        if (++instructions > instructionLimit) {
            instructions--;
            stop(new StopReason.InstructionLimit(instructionLimit, rip));
            return;
        }
        lastNativeRip = rip;
        int offset = 0;
        boolean[] prefix = prefixes;
        int b = codeByte(rip);
        while (prefix[b] && offset < 14) {
            b = codeByte(rip + ++offset);
        }
        if (!oneByte[b]) {
            if (cpl != 3 || !SensitiveOpcodes.USER_ONE_BYTE[b]) {
                return;
            }
        } else if (b == 0x0f) {
            if (!SensitiveOpcodes.TWO_BYTE[codeByte(rip + offset + 1)]) {
                return;
            }
        } else if (harmlessForm(b, rip + offset + 1)) {
            return;
        }
        lastNativeRip = -1; // Java's: it may leave RIP where it was (HLT waiting, an exception)
        if (b != 0xf6 && b != 0xf7) {
            accessFlag.arm(); // CLAC, POPF, IRETQ, SYSRET, SYSCALL may clear RFLAGS.AC; DIV and IDIV do not
        }
        try {
            long flags = engine.readRegister(X86Reg.RFLAGS);
            system.execute(rip, size);
            if ((flags & RFLAGS_TF) != 0) {
                singleStepAfterEmulated(rip + size);
            }
        } catch (NotModelledException e) {
            instructions--;
            stop(new StopReason.NotModelled(e.getMessage(), rip));
        } catch (ArchitecturalException e) {
            if (!e.isSoftware()) {
                instructions--; // a fault does not retire; INT n, INT3 and INT1 do (they are traps)
            }
            raise(e, rip);
        }
    }

    /**
     * RFLAGS.TF was set when an instruction Java emulates began: the processor takes a single-step
     * trap after it (SDM Vol. 3B 17.3.1.4), which QEMU raises for what it runs but never sees here.
     * Only for instructions that went on to the next one; control transfers pml4 emulates (SYSCALL,
     * IRETQ, INT n, far transfers) and HLT have rules of their own, not modelled.
     */
    private void singleStepAfterEmulated(long next) {
        if (pending == null && stop == null && resumeRip < 0 && engine.readRegister(X86Reg.RIP) == next) {
            system.singleStepTrapped();
            raise(new ArchitecturalException(ArchitecturalException.DB, -1, 0, "single-step trap (RFLAGS.TF)"), next);
        }
    }

    /**
     * The code hook while a debugger is attached or the mode-switch trampoline runs (one flag, so
     * that the common path checks no more than it did before either existed). True when the
     * instruction is not the guest's to run now.
     */
    private boolean unusualInstruction(long rip) {
        if (modeSwitch.active()) {
            if (modeSwitch.reachedTarget(rip)) {
                engine.stop(); // the trampoline has done its far jump: the target runs later, counted
            }
            return true;
        }
        if (stop != null) {
            engine.stop(); // a device ended the run during the instruction before (the debug-exit port)
            return true;
        }
        return debugging && debugCheck(rip);
    }

    /** Debugging or a mode switch: the code hook takes {@link #unusualInstruction} first. */
    void refreshUnusual() {
        unusual = debugging || modeSwitch.active();
    }

    /** An opcode of a sensitive group whose ModRM byte (at {@code modrm}) makes it an ordinary instruction. */
    private boolean harmlessForm(int opcode, long modrm) {
        return switch (opcode) {
            case 0xf6, 0xf7, 0xff -> !SensitiveOpcodes.groupFormIsJavas(opcode, codeByte(modrm));
            case 0xc4, 0xc5 -> (codeByte(modrm) >> 6) == 3; // in 32-bit code, VEX prefixes rather than LES/LDS
            default -> false;
        };
    }

    /** A byte of the instruction stream, read from RAM through the engine's current mapping. */
    private int codeByte(long linear) {
        long page = linear & ~0xfffL;
        if (page != codePage) {
            var chunk = mmu.mappings().chunkAt(linear);
            if (chunk == null || !chunk.ram()) {
                // Unmapped between fetch and hook (cannot happen in one instruction): read via the engine.
                return instructionBytes(linear, 1)[0] & 0xff;
            }
            codePage = page;
            codeFrame = chunk.physical() + (page - chunk.linear());
        }
        return ram.get(BYTE, codeFrame + (linear & 0xfff)) & 0xff;
    }

    /**
     * Whether the instruction at RIP may run from what the engine holds. A parked region keeps its
     * translated code in precise mode (EnginePageMapper), so the engine may run a block from a page
     * the TLB has dropped: that is the ITLB miss translation would otherwise have shown. Walk it
     * now, before the instruction counts: a fault is raised at RIP, a page that came back onto
     * another frame has its code translated again.
     */
    private boolean codeFetchable(long rip, int size) {
        long first = rip & ~0xfffL;
        for (long page = first; page <= ((rip + size - 1) & ~0xfffL); page += 0x1000) {
            if (mmu.mappings().executable(page)) {
                continue;
            }
            long changes = engineMemory.codeChanges();
            long at = page == first ? rip : page;
            if (fetchWalkFaults(at, rip)) {
                return false;
            }
            if (engineMemory.codeChanges() != changes || !mmu.mappings().executable(at)) {
                retranslate = true; // the block running was translated from another frame
                engine.stop();
                return false;
            }
        }
        fetchablePage = first;
        fetchableVersion = mmu.mappings().version();
        return true;
    }

    /**
     * The ITLB miss of kept code: walks the fetch of {@code at} and forgets QEMU's cached
     * translation of its page; true when it faults, raised at {@code rip}.
     */
    private boolean fetchWalkFaults(long at, long rip) {
        Mmu.AccessResult r = mmu.access(at, 1, AccessType.FETCH, dataMode(), pagingState());
        engineMemory.forgetCachedTranslation(at & ~0xfffL);
        codePage = -1;
        if (r.fault() != null || r.nonexistentMemory()) {
            raise(exceptionFor(r, AccessType.FETCH), rip);
            return true;
        }
        return false;
    }

    /** What {@link #walkBlockCode} found. */
    enum BlockCode {
        /** The block may run as it was translated. */
        RUNS,
        /** The page came back on another frame: its code was dropped, the block must be translated again. */
        TRANSLATE_AGAIN,
        /** The fetch of its first instruction faults: the exception is pending. */
        FAULTS,
        /** A later page of the block is not resident: the hook must walk it at its first instruction there. */
        LATER_PAGE
    }

    /**
     * Fast mode, before a block whose code lies on a parked page: the ITLB miss precise mode's hook
     * finds at the block's first instruction (codeFetchable), here before the block is entered.
     */
    BlockCode walkBlockCode(long pc, int size) {
        long changes = engineMemory.codeChanges();
        long first = pc & ~0xfffL;
        if (!mmu.mappings().executable(first) && fetchWalkFaults(pc, pc)) {
            return BlockCode.FAULTS;
        }
        long last = (pc + size - 1) & ~0xfffL;
        if (last != first && !mmu.mappings().executable(last)) {
            return BlockCode.LATER_PAGE;
        }
        return engineMemory.codeChanges() != changes ? BlockCode.TRANSLATE_AGAIN : BlockCode.RUNS;
    }

    /** The code page {@link #codeFetchable} last found resident, and the mappings' version then. */
    private long fetchablePage = -1;
    private long fetchableVersion = -1;

    /** Forgets the cached code page (its mapping may have gone). */
    void codeMappingsChanged() {
        codePage = -1;
    }

    private boolean onMemoryEvent(MemoryAccess type, long address, int size, long value) {
        if (pending != null || retranslate) {
            // The instruction has already faulted (or is to run again), but a helper such as
            // FNSAVE or FXSAVE goes on storing after a refused access: it gets no more mappings.
            // Remapping under it killed the process (qemu_ram_alloc_from_ptr, found by pml4 fuzz).
            return false;
        }
        if (modeSwitch.active()) {
            // The trampoline's target is fetched later, by the guest's own run (and checked by the
            // translation guard then, in the target's code size). The trampoline's own code comes
            // here only with the engine page table, whose linear space holds no right to execute.
            return type == MemoryAccess.FETCH_PROT && modeSwitch.onTrampoline(address);
        }
        if (type == MemoryAccess.FETCH_PROT && fence.covers(address)) {
            // The fence's NOPs, translated so that the instructions before it run (FetchFence); only
            // with the page table, whose linear space holds no right to execute, does this come here.
            return true;
        }
        engineMemory.touched(address); // nothing the engine caches on the way outlives what Java decides
        if (type == MemoryAccess.FETCH_PROT && mmu.mappings().executable(address)) {
            engineMemory.translatedFrom(address);
            if (!engineMemory.seesWritesToCode() && watchTranslatedCode(address)) {
                return false;
            }
            return guard.fetch(address, size, () -> engine.readRegister(X86Reg.RIP)); // the translator at work
        }
        codePage = -1;
        if (type.isFetch()) {
            return onFetchMiss(type, address, size);
        }
        if (fence.covers(address) || fence.covers(address + size - 1)) {
            fence.lower(); // a data access to the fenced page: translate it as usual
        }
        AccessType access = type.isWrite() || readsForWriting(address) ? AccessType.WRITE : AccessType.READ;
        if (!canonical(address) || !canonical(address + size - 1)) {
            // QEMU with its paging off does not check; the processor raises #GP(0), or #SS(0) for a
            // reference through SS (SDM Vol. 3A 3.3.7.1).
            instructions--;
            long rip = engine.readRegister(X86Reg.RIP);
            raise(nonCanonical.fault(instructionBytes(rip, 15), rip, code32, address, engine.readRegister(X86Reg.RSP),
                    access.name().toLowerCase()), rip);
            return false;
        }
        long rebuildsBefore = engineMemory.rebuilds();
        Mmu.AccessResult r = mmu.access(address, size, access, dataMode(), pagingState());
        if (stopBeforeAccess) {
            instructions--; // it does not run; it runs on resume (the debugger)
            resumeRip = engine.readRegister(X86Reg.RIP);
            return false;
        }
        if (r.fault() == null && !r.nonexistentMemory()) {
            if (type.isWrite() && !engineMemory.seesWritesToCode()) {
                dropCodeWrittenThroughAlias(address, size);
            }
            if ((type == MemoryAccess.WRITE_PROT || type == MemoryAccess.READ_PROT) && engineMemory.rebuilds() != rebuildsBefore) {
                // The mapping changed under an access the engine is in the middle of: Unicorn 2.0.1
                // crashes when a read-modify-write instruction retries its store after a PROT hook
                // remapped the page (measured: `inc qword [fresh page]`). Abandon the instruction
                // instead (it has changed nothing yet) and run it again on the new mapping. A parked
                // region given back its rights without a rebuild of the engine's memory view (see
                // EnginePageMapper) is what fact 2 of DESIGN.md measured safe: the access is retried.
                instructions--;
                retranslate = true;
                return false;
            }
            return true;
        }
        instructions--; // the instruction whose data access faulted does not retire
        raise(exceptionFor(r, access), engine.readRegister(X86Reg.RIP));
        return false;
    }

    /**
     * The engine went to the non-canonical {@code target}, where RIP can never be: the near branch
     * that went there faults instead, #GP(0) with the saved RIP at the branch and nothing of it
     * done (SDM Vol. 2A JMP and CALL, Vol. 2B RET, "64-Bit Mode Exceptions": "#GP(0) If the target
     * offset is non-canonical"), so CALL's push and RET's pop are taken back. The branch is the
     * last instruction the code hook let run (precise mode), or the current block's last (fast).
     */
    private void raiseNonCanonicalBranch(long target) {
        long branch = fastOn ? fast.faultingBranch() : lastNativeRip;
        String why = String.format("a branch to the non-canonical address 0x%x", target);
        if (branch < 0 || !canonical(branch)) {
            raise(ArchitecturalException.gp(why), target); // no branch known: as fetched
            return;
        }
        if (!fastOn) {
            instructions--; // counted by its hook; it does not retire
        }
        long undo = nonCanonical.stackUndo(instructionBytes(branch, 15), branch, code32);
        if (undo != 0) {
            engine.writeRegister(X86Reg.RSP, engine.readRegister(X86Reg.RSP) + undo);
        }
        raise(ArchitecturalException.gp(why), branch);
    }

    /**
     * The engine translated code from the page of {@code linear}: a guest write to its frame through
     * another linear address must come back here (DESIGN.md fact 12), since the engine would not
     * see it and would go on running the old code.
     */
    private boolean watchTranslatedCode(long linear) {
        var chunk = mmu.mappings().chunkAt(linear);
        if (chunk == null || !chunk.ram()) {
            return false;
        }
        var writable = mmu.mappings().watchCode((chunk.physical() + (linear - chunk.linear())) & ~0xfffL, linear & ~0xfffL);
        if (writable.isEmpty()) {
            return false;
        }
        // Writable aliases of the frame are mapped: they go before the block runs, but not while the
        // engine translates (a mapping changed under the translator kills the process). Nothing of
        // the block has run: it is translated again once they are gone.
        codeAliasesToUnmap.addAll(writable);
        retranslate = true;
        return true;
    }

    /** After an engine run: writable aliases of code frames that a translation found (see watchTranslatedCode). */
    private void unmapCodeAliases() {
        for (var c : codeAliasesToUnmap) {
            mmu.mappings().removeRange(c.linear(), c.linear() + c.size());
        }
        codeAliasesToUnmap.clear();
    }

    /**
     * A guest write to {@code [address, address + size)}: where it goes to a frame whose code the
     * engine translated at another linear address, that code goes, so that the next fetch there
     * sees the new bytes, as the processor's check by physical address does (SDM Vol. 3A 11.6).
     */
    private void dropCodeWrittenThroughAlias(long address, int size) {
        for (long page = address & ~0xfffL; page <= ((address + Math.max(size, 1) - 1) & ~0xfffL); page += 0x1000) {
            var chunk = mmu.mappings().chunkAt(page);
            if (chunk == null || !chunk.ram()) {
                continue;
            }
            for (long x : mmu.mappings().codeWrittenThroughAlias(page, chunk.physical() + (page - chunk.linear()))) {
                engine.removeCodeCache(x, x + 0x1000);
                engineMemory.forgetCachedTranslation(x);
            }
        }
    }

    /**
     * Whether the engine's read of {@code address} is the first half of an instruction that writes
     * the location back ({@link ReadModifyWrite}): the processor translates it for writing.
     */
    private boolean readsForWriting(long address) {
        long rip = engine.readRegister(X86Reg.RIP);
        return canonical(rip) && ReadModifyWrite.isReadModifyWrite(instructionBytes(rip, 15), code32);
    }

    /**
     * The engine could not fetch from {@code address} while translating a block that starts at RIP.
     * Nothing of the block has run yet.
     */
    private boolean onFetchMiss(MemoryAccess type, long address, int size) {
        long blockStart = engine.readRegister(X86Reg.RIP);
        if (!canonical(address)) {
            if (!canonical(blockStart)) {
                raiseNonCanonicalBranch(blockStart); // a branch went there
            } else {
                raise(ArchitecturalException.gp(String.format("instruction fetch from the non-canonical address 0x%x", address)), blockStart);
            }
            return false;
        }
        Mmu.AccessResult r = mmu.access(address, size, AccessType.FETCH, dataMode(), pagingState());
        if (stopBeforeAccess) {
            resumeRip = blockStart; // nothing of the block has run
            return false;
        }
        if (r.fault() == null && !r.nonexistentMemory()) {
            engineMemory.translatedFrom(address);
            if (!engineMemory.seesWritesToCode() && watchTranslatedCode(address)) {
                return false;
            }
            if (type == MemoryAccess.FETCH_UNMAPPED && !fastOn) {
                return true; // the fetch is retried and finds the new mapping
            }
            // Fast mode: a block whose page was mapped in the middle of its translation cannot be
            // removed from Unicorn 2.0.1's cache afterwards (uc_ctl_remove_cache finds nothing),
            // so it could not get the code hook's window. Translate it again from the start.
            // Unicorn 2.0.1 crashes when a FETCH_PROT hook asks for a retry, whatever it remapped
            // (measured again with a parked region given back its rights, nothing rebuilt): stop
            // instead and translate the block again.
            retranslate = true;
            return false;
        }
        if ((address & ~0xfffL) == (blockStart & ~0xfffL) || address == blockStart) {
            raise(exceptionFor(r, AccessType.FETCH), blockStart); // the block's first instruction faults
        } else {
            // An instruction after the block's first reaches into the page: let those before it run.
            fence.raise(address);
            retranslate = true;
        }
        return false;
    }

    /** The code hook of an instruction with a byte in the fenced page: its fetch is checked again now. */
    private void fetchReachesFence(long rip) {
        long linear = fence.firstFencedByte(rip);
        fence.lower();
        Mmu.AccessResult r = mmu.access(linear, 1, AccessType.FETCH, dataMode(), pagingState());
        if (r.fault() == null && !r.nonexistentMemory()) {
            // The instructions before it changed what the page translates to: fetch it for real.
            retranslate = true;
            engine.stop();
        } else {
            raise(exceptionFor(r, AccessType.FETCH), rip);
        }
    }

    /**
     * A data read that an emulated instruction makes (an INVPCID descriptor, later an IDT entry):
     * translated like the engine's own accesses, TLB and A/D included.
     *
     * @throws ArchitecturalException #PF when the translation fails
     */
    byte[] readVirtual(long linear, int length) {
        return readLinear(linear, length, dataMode());
    }

    /** Reads guest-linear memory as an access of {@code mode} would, without mapping it in the engine. */
    byte[] readLinear(long linear, int length, AccessMode mode) {
        byte[] out = new byte[length];
        PagingState state = pagingState();
        for (int done = 0; done < length; ) {
            long address = linear + done;
            int chunk = (int) Math.min(length - done, 0x1000 - (address & 0xfff));
            requireCanonical(address);
            Mmu.AccessResult r = mmu.translate(address, AccessType.READ, mode, state);
            if (r.fault() != null) {
                throw exceptionFor(r, AccessType.READ);
            }
            System.arraycopy(memory.readBytes(r.physicalAddress(), chunk), 0, out, done, chunk);
            done += chunk;
        }
        return out;
    }

    /** Writes guest-linear memory as an access of {@code mode} would (D set), without mapping it in the engine. */
    void writeLinear(long linear, byte[] data, AccessMode mode) {
        PagingState state = pagingState();
        // Translate every page first: a fault on the second page leaves the first unwritten.
        long[] physical = new long[2 + data.length / 0x1000];
        int pages = 0;
        for (int done = 0; done < data.length; pages++) {
            long address = linear + done;
            int chunk = (int) Math.min(data.length - done, 0x1000 - (address & 0xfff));
            requireCanonical(address);
            Mmu.AccessResult r = mmu.translate(address, AccessType.WRITE, mode, state);
            if (r.fault() != null) {
                throw exceptionFor(r, AccessType.WRITE);
            }
            physical[pages] = r.physicalAddress();
            done += chunk;
        }
        int page = 0;
        for (int done = 0; done < data.length; page++) {
            long address = linear + done;
            int chunk = (int) Math.min(data.length - done, 0x1000 - (address & 0xfff));
            memory.writeBytes(physical[page], java.util.Arrays.copyOfRange(data, done, done + chunk));
            done += chunk;
        }
    }

    void requireCanonical(long address) {
        if (!canonical(address)) {
            throw ArchitecturalException.gp(String.format("access to the non-canonical address 0x%x", address));
        }
    }

    private static ArchitecturalException exceptionFor(Mmu.AccessResult r, AccessType access) {
        if (r.nonexistentMemory()) {
            // A fetch from nowhere reads all-ones, which decodes as no valid instruction.
            return ArchitecturalException.ud(String.format("instruction fetch from physical 0x%x, where there is no memory", r.physicalAddress()));
        }
        var f = r.fault();
        return new ArchitecturalException(ArchitecturalException.PF, f.errorCode(), f.linearAddress(),
                String.format("%s 0x%x: %s", access.name().toLowerCase(), f.linearAddress(), f.reason()));
    }

    private void onEngineInterrupt(int vector) {
        EngineMemory.Miss miss = engineMemory.takeMiss(vector);
        if (miss != null) {
            onPageTableMiss(miss.address(), miss.fromRunningCode());
            return;
        }
        engine.markExceptionDelivered(vector); // pml4 delivers it: QEMU must not count it as pending (fact 1)
        if (fastOn) {
            fast.syncAtException(vector == ArchitecturalException.DB);
        }
        // QEMU raised something itself (DESIGN.md fact 1 says it must not): deliver it as ours.
        long rip = engine.readRegister(X86Reg.RIP);
        if (vector == ArchitecturalException.DB) {
            system.singleStepTrapped(); // RFLAGS.TF: the only #DB the engine raises (INT1 and DRn are Java's)
        }
        raise(new ArchitecturalException(vector, ArchitecturalException.name(vector).equals("#GP") ? 0 : -1, 0,
                "raised by the execution engine"), rip);
    }

    /**
     * QEMU needed a translation the engine page table does not hold, outside the memory hook's
     * view. Looking up a block it translated before (the common case: nothing of the block has run,
     * RIP is the block's start), this is the ITLB miss the translator's fetch would have been, and
     * is handled as one: when the engine just returns, QEMU looks the block up again. From running
     * code it is a store's second page (below), or a non-canonical address that one of the
     * engine-physical regions lies at (no region refuses it first): #GP or #SS, as from the hook.
     */
    /** How the engine holds the TLB's translations, and what that cost (pml4 run --stats). */
    public String engineMemoryStatistics() {
        return engineMemory.statistics();
    }

    /** The debugger wrote guest RAM: code translated from those bytes must go (DESIGN.md fact 12). */
    public void ramWritten(long physical, long length) {
        engineMemory.ramWritten(physical, length);
    }

    private void onPageTableMiss(long address, boolean fromRunningCode) {
        if (!fromRunningCode) {
            if (fastOn) {
                fast.syncAtEvent(true, address);
            }
            if (!onMemoryEvent(MemoryAccess.FETCH_UNMAPPED, address, 1, 0)) {
                engine.stop();
            }
            return; // else QEMU looks the block up again and finds the page
        }
        // QEMU's store helper fills the TLB for the second page of a store that crosses into it
        // before it stores a byte, without asking the memory hook (the store's own check covers
        // the first page): the miss is the store's. State is exact here (QEMU restored it), and
        // nothing of the instruction has happened yet, which is what the SDM asks of the #PF.
        if (fastOn) {
            fast.syncAtException(false);
        }
        long rip = engine.readRegister(X86Reg.RIP);
        if (!onMemoryEvent(MemoryAccess.WRITE_UNMAPPED, address, 1, 0)) {
            engine.stop();
            return;
        }
        // Mapped: QEMU runs the instruction again from its start, once more through the hooks.
        if (fastOn) {
            fast.restartAt(rip);
        } else {
            retryRip = rip;
        }
    }

    private boolean onInvalidInstruction() {
        if (fastOn) {
            fast.syncAtException(false);
        }
        long rip = engine.readRegister(X86Reg.RIP);
        raise(ArchitecturalException.ud("invalid opcode"), rip);
        return true;
    }
}
