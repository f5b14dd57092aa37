package dev.pml4.cpu;

import dev.pml4.ffi.NativeFunction;
import dev.pml4.ffi.capstone.Capstone;
import dev.pml4.ffi.capstone.Instruction;
import dev.pml4.ffi.unicorn.Hooks;
import dev.pml4.ffi.unicorn.Unicorn;
import dev.pml4.ffi.unicorn.X86Reg;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Fast mode (issue 12, ../shared/spikes/fast/REPORT.md): the engine runs whole translation blocks
 * without a Java call per instruction, and pml4 keeps every architectural promise of precise mode.
 *
 * <ul>
 *   <li><b>Time.</b> The native block hook (src/main/c/pml4fast.c) adds each block's instruction
 *   count to the clock and stops the engine before a block that would run past the next moment
 *   precise mode would look (an interrupt check, the instruction limit). That block is then run
 *   as a <i>stretch</i>: translated again with the code hook from the instruction where precise
 *   mode looks to the block's end (and dropped once it has run), so the interrupt lands on the
 *   same instruction as in precise mode.</li>
 *   <li><b>Sensitive instructions.</b> Every (re)translated block is scanned here before it runs;
 *   a block holding an instruction that Java must see is translated again with the one code hook's
 *   range opened from that instruction to the end of the block. Each hooked instruction goes
 *   through precise mode's own hook, after the clock is set to its exact count.</li>
 *   <li><b>Faults.</b> The native memory hook restores RIP and the lazy flags from the translated
 *   code's return address before Java sees the access (DESIGN.md fact 15); the count is the
 *   block's start plus the instruction's index.</li>
 * </ul>
 * Hooks that only observe (the tracer) or stop anywhere (the debugger) need precise mode.
 */
final class FastExecution {
    // The layout of state_t in pml4fast.c.
    private static final long TOTAL = 0, BASE = 8, LIMIT = 16, CUR_PC = 24, CUR_SIZE = 32,
            STOP_PC = 40, STOP_SIZE = 48, STOPPED = 52, WINDOW = 56, ARMED = 64, LO = 72, HI = 80, SCAN = 88,
            JAVA_MEM = 96, RESTORES = 104, RESTORE = 120, EXACT = 124, BLOCKS = 128, SCANS = 136, ARMED_DONE = 144,
            ARMED_OUTSIDE = 148, KEEP_WINDOW = 160, STRETCHED_PC = 168, STRETCHED_SIZE = 176, ABANDONED = 184, FRESH_PC = 192, PARKED_MASK = 200, CHECKED_PC = 208, CHECK = 216, TLB = 224;
    /**
     * Whole-cache flushes after which fast mode gives up for the run: a guest that keeps switching
     * address spaces (cr3_switch) would spend its time translating again.
     */
    private static final int FLUSHES_BEFORE_PRECISE = 32;

    /** Why the block hook stopped the engine (state.stopped). */
    private static final int STOP_LIMIT = 1, STOP_REARM = 2, STOP_FLUSH = 3, STOP_FETCH_CHECK = 4;

    /** The helper's entry points, or empty when target/libpml4fast.so was not built. */
    record Library(MemorySegment block, MemorySegment edge, MemorySegment mem, long stateSize, NativeFunction checkLayout) {
    }

    private static final Optional<Library> LIBRARY = load();

    private final Cpu cpu;
    private final Unicorn engine;
    private final Capstone capstone;
    private final MemorySegment state;
    /** Instruction offsets of each scanned block (by start address), then its size. */
    private final Map<Long, int[]> blocks = new HashMap<>();
    private boolean enabled;
    private boolean running;
    /** Whole-cache flushes because a block would not leave the cache (see pml4_block). */
    private long flushes;
    private boolean givingUp;
    /** Instructions that went through the Java code hook (the window, stretches, or precise after giving up). */
    private long hooked;
    /** Blocks run with the code hook from an exact look (an interrupt check, the limit) onwards. */
    private long stretches;
    /** Blocks removed again because the first removal left them (see STOP_FLUSH), and the last of them. */
    private long removals;
    /** Blocks stopped because their code lies on a parked page (walked in Java first). */
    private long fetchChecks;
    /** What the last walk of a block on a parked page found (the engine stopped unless it RUNS). */
    private Cpu.BlockCode parkedCodeVerdict = Cpu.BlockCode.RUNS;
    private long lastFlushPc = -1;
    /** Where the current engine run started. */
    private long runStart = -1;
    private String layoutProblem;

    private FastExecution(Cpu cpu, Unicorn engine, Capstone capstone, Library lib, Hooks.MemoryEvent javaMemoryHook) {
        this.cpu = cpu;
        this.engine = engine;
        this.capstone = capstone;
        this.state = engine.allocateForHooks(lib.stateSize());
        state.set(JAVA_LONG, JAVA_MEM, engine.memoryEventStub(javaMemoryHook).address());
        state.set(JAVA_LONG, TLB, cpu.engineMemory.nativeTable()); // the memory hook answers QEMU's refills from it, if there is one
        engine.hookNative(Unicorn.HOOK_MEM_UNMAPPED | Unicorn.HOOK_MEM_PROT, lib.mem(), state, 1, 0);
    }

    /**
     * Installs the memory-event hook through the native helper when it is there (fast mode can be
     * chosen later), else straight; returns the fast-mode controller, or null without the helper.
     */
    static FastExecution installMemoryHook(Cpu cpu, Unicorn engine, Capstone capstone, Hooks.MemoryEvent hook) {
        if (LIBRARY.isEmpty() || !NativeHelper.memoryHookNative()) {
            engine.hookMemoryEvents(Unicorn.HOOK_MEM_UNMAPPED | Unicorn.HOOK_MEM_PROT, hook);
            return null;
        }
        return new FastExecution(cpu, engine, capstone, LIBRARY.get(), hook);
    }

    /**
     * Switches to fast mode for good: the block and edge hooks, and the code hook as a window.
     * False (nothing installed) when the running libunicorn's layout is not the one the native
     * helper was written for (pml4_check_layout); the caller then runs precisely.
     */
    boolean enable(Hooks.Code preciseHook) {
        Library lib = LIBRARY.orElseThrow();
        // int scan_fn(uint64_t pc, uint32_t size, uint32_t icount) in pml4fast.c; registers as NativeCallback passes them.
        state.set(JAVA_LONG, SCAN, engine.upcallStub((pc, size, icount, unused3, unused4, unused5) ->
                scan(pc, (int) size, (int) icount)).address());
        // int abandoned_fn(uint64_t cur_pc, uint32_t cur_size, uint64_t pc, uint32_t size) in pml4fast.c.
        state.set(JAVA_LONG, ABANDONED, engine.upcallStub((curPc, curSize, pc, size, unused4, unused5) ->
                ranBefore(curPc, (int) curSize, pc, (int) size)).address());
        // The one UC_HOOK_CODE (Unicorn calls a single code hook directly); closed: [1, 1].
        Unicorn.Hook window = engine.hookCode(1, 1, (rip, size) -> {
            hooked++;
            beforeInstruction(rip);
            preciseHook.onCode(rip, size);
            afterInstruction(rip);
        });
        int layout;
        try {
            // int pml4_check_layout(uc_engine *uc, uint64_t hook)
            layout = (int) lib.checkLayout().call(engine.nativeHandle().address(),
                    Boolean.getBoolean("pml4.fast.failLayoutCheck") ? 0L : window.id());
        } catch (RuntimeException e) {
            layout = -1;
        }
        if (layout != 0) {
            engine.deleteHook(window);
            layoutProblem = "this libunicorn's internal layout is not Debian's 2.0.1 (check 0x" + Integer.toHexString(layout) + ")";
            return false;
        }
        state.set(JAVA_LONG, WINDOW, window.id());
        if (JAVA_BLOCK_HOOK) {
            engine.hookBlock(1, 0, this::javaBlock); // for `pml4 bench` only: the cost of an upcall per block
        } else {
            engine.hookNative(Unicorn.HOOK_BLOCK, lib.block(), state, 1, 0);
        }
        engine.hookNative(Unicorn.HOOK_EDGE_GENERATED, lib.edge(), state, 1, 0);
        state.set(JAVA_INT, RESTORE, 1);
        enabled = true;
        return true;
    }

    /** Why {@link #enable} refused, or null. */
    String layoutProblem() {
        return layoutProblem;
    }

    boolean enabled() {
        return enabled;
    }

    /**
     * -Dpml4.fastBlockHook=java: the block hook as an FFM upcall, doing pml4_block's counting and
     * limit check (without its re-arming of unscanned blocks), to measure what the native helper saves.
     */
    static final boolean JAVA_BLOCK_HOOK = "java".equals(System.getProperty("pml4.fastBlockHook"));

    private void javaBlock(long pc, int size) {
        int icount = offsets(pc, size).length - 1;
        long curPc = state.get(JAVA_LONG, CUR_PC);
        int curSize = state.get(JAVA_INT, CUR_SIZE);
        if (pc >= curPc && pc - curPc < curSize && (pc != curPc || size < curSize)) { // as pml4_block: an abandoned block
            int ran = ranBefore(curPc, curSize, pc, size);
            if (ran >= 0) {
                state.set(JAVA_LONG, TOTAL, state.get(JAVA_LONG, BASE) + ran);
            }
        }
        long total = state.get(JAVA_LONG, TOTAL);
        if (total + icount > state.get(JAVA_LONG, LIMIT)) {
            state.set(JAVA_LONG, STOP_PC, pc);
            state.set(JAVA_INT, STOP_SIZE, size);
            state.set(JAVA_INT, STOPPED, STOP_LIMIT);
            engine.stop();
            return;
        }
        state.set(JAVA_LONG, BASE, total);
        state.set(JAVA_LONG, CUR_PC, pc);
        state.set(JAVA_INT, CUR_SIZE, size);
        state.set(JAVA_LONG, TOTAL, total + icount);
    }

    // ---- around each engine run -----------------------------------------------------------------

    /** Before uc_emu_start at {@code rip}: the clock and the limit go to the native side. */
    void beforeRun(long rip) {
        runStart = rip;
        state.set(JAVA_LONG, FRESH_PC, 0);
        state.set(JAVA_LONG, TOTAL, cpu.instructions);
        state.set(JAVA_INT, STOPPED, 0);
        state.set(JAVA_LONG, CUR_PC, 0);
        state.set(JAVA_INT, CUR_SIZE, 0);
        if (state.get(JAVA_LONG, ARMED) == 0) {
            updateLimit(); // else a stretch is pending: the block hook must let it in
        }
        running = true;
    }

    /** After uc_emu_start: whose clock is right, and whether the next block is a stretch. */
    void afterRun(boolean javaStopped) {
        running = false;
        int stopped = state.get(JAVA_INT, STOPPED);
        if (stopped != STOP_FLUSH) {
            lastFlushPc = -1;
        }
        if (stopped != 0 && !javaStopped) {
            cpu.instructions = state.get(JAVA_LONG, TOTAL);
            long pc = state.get(JAVA_LONG, STOP_PC);
            engine.writeRegister(X86Reg.RIP, pc); // RIP read back may be stale (REPORT.md section 8)
            if (stopped == STOP_FETCH_CHECK) {
                switch (parkedCodeVerdict) {
                    // Walked in checkParkedCode: the block runs now (translated again if it must).
                    case RUNS, TRANSLATE_AGAIN -> state.set(JAVA_LONG, CHECKED_PC, pc);
                    case FAULTS -> { } // the exception is pending: the Cpu delivers it
                    case LATER_PAGE -> {
                        // Its instructions go through the hook, which walks each page when the
                        // first instruction on it runs.
                        stretch(pc, state.get(JAVA_INT, STOP_SIZE), 0);
                    }
                }
            } else if (stopped == STOP_LIMIT && givingUp) {
                hookEveryInstruction();
            } else if (stopped == STOP_LIMIT) {
                stretches++;
                stretch(pc, state.get(JAVA_INT, STOP_SIZE), state.get(JAVA_LONG, LIMIT) - state.get(JAVA_LONG, TOTAL));
            } else if (stopped == STOP_FLUSH) {
                // The block was not translated again: its removal found nothing, e.g. because its
                // page was unmapped then (a MOV to CR3 before it). Its page is mapped now, so remove
                // it again; the window stays open for its next translation, which the fetch hook
                // sees (syncAtEvent). Only when that fails too is the whole cache flushed, which in
                // Unicorn 2.0.1 also clears the whole 1 GiB code buffer (seconds, and its memory).
                state.set(JAVA_INT, ARMED_OUTSIDE, 0);
                state.set(JAVA_INT, ARMED_DONE, 0);
                if (pc != lastFlushPc) {
                    lastFlushPc = pc;
                    removals++;
                    engine.removeCodeCache(pc, pc + state.get(JAVA_INT, STOP_SIZE));
                    // QEMU also finds blocks by virtual PC in a cache that only a TLB flush clears
                    // (tb_jmp_cache), and an old block for this PC can sit there. Toggling the
                    // engine's CR4.PGE, which nothing uses (its paging is off), flushes its TLB.
                    long cr4 = engine.readRegister(X86Reg.CR4);
                    engine.writeRegister(X86Reg.CR4, cr4 ^ ControlRegisters.CR4_PGE);
                    engine.writeRegister(X86Reg.CR4, cr4);
                } else {
                    lastFlushPc = -1;
                    engine.flushCodeCache();
                    state.set(JAVA_INT, ARMED_OUTSIDE, 1);
                    if (++flushes > FLUSHES_BEFORE_PRECISE || givingUp) {
                        hookEveryInstruction();
                    }
                }
            }
            // STOP_REARM: the block is translated again with the window open when the engine restarts.
        } else if (stopped == STOP_REARM || stopped == STOP_FLUSH) {
            state.set(JAVA_LONG, ARMED, 0); // a Java hook stopped first: the block is scanned again when it comes
            closeWindow();
        }
        // Otherwise a Java hook stopped the engine, and set the clock exactly when it did.
    }

    /**
     * Gives fast mode up for the rest of the run: the code hook's window covers every address and
     * nothing is counted natively any more, so the processor is in precise mode from here on.
     */
    void hookEveryInstruction() {
        enabled = false;
        state.set(JAVA_INT, RESTORE, 0);
        state.set(JAVA_INT, KEEP_WINDOW, 1);
        state.set(JAVA_LONG, LIMIT, Long.MAX_VALUE);
        state.set(JAVA_LONG, ARMED, 0);
        state.set(JAVA_LONG, STRETCHED_PC, 0);
        MemorySegment hook = MemorySegment.ofAddress(state.get(JAVA_LONG, WINDOW)).reinterpret(40);
        hook.set(JAVA_LONG, 24, 0);
        hook.set(JAVA_LONG, 32, -1L);
        // Every translated block must be translated again, now with the hook on each instruction.
        // Not by flushing the whole cache: Unicorn 2.0.1's first tb_flush clears its whole 1 GiB
        // code buffer (5.5 s, and 1 GiB of memory); code can only be where RAM is mapped.
        cpu.forgetTranslatedCode();
        cpu.fastModeAbandoned();
    }

    private void closeWindow() {
        MemorySegment hook = MemorySegment.ofAddress(state.get(JAVA_LONG, WINDOW)).reinterpret(40);
        hook.set(JAVA_LONG, 24, 1);
        hook.set(JAVA_LONG, 32, 1);
    }

    /**
     * The block at {@code pc} runs next with the code hook on its instructions from its {@code
     * look}-th (where precise mode looks: the limit) to its end; the native block hook drops that
     * translation once the block has run, so that it does not stay instrumented.
     */
    private void stretch(long pc, int size, long look) {
        long lo = pc;
        int[] offsets = blocks.get(pc);
        if (offsets != null && offsets[offsets.length - 1] == size && look >= 0 && look < offsets.length - 1) {
            lo = pc + offsets[(int) look]; // the instructions before it are counted by the block hook
        }
        state.set(JAVA_LONG, LO, lo);
        state.set(JAVA_LONG, HI, pc + size - 1);
        state.set(JAVA_LONG, ARMED, pc);
        long w = state.get(JAVA_LONG, WINDOW);
        MemorySegment hook = MemorySegment.ofAddress(w).reinterpret(40);
        hook.set(JAVA_LONG, 24, lo);
        hook.set(JAVA_LONG, 32, pc + size - 1);
        engine.removeCodeCache(pc, pc + size);
        state.set(JAVA_LONG, STRETCHED_PC, pc);
        state.set(JAVA_LONG, STRETCHED_SIZE, size);
        state.set(JAVA_INT, ARMED_OUTSIDE, 1); // the first block of a run has no edge event
        state.set(JAVA_INT, ARMED_DONE, 0);
        state.set(JAVA_LONG, LIMIT, Long.MAX_VALUE); // the block hook lets it in; its first hook sets the limit
    }

    /** The guest went to 32-bit code: the run goes on in precise mode from the next block. */
    void preciseFromNextBlock() {
        givingUp = true;
        state.set(JAVA_LONG, LIMIT, 0);
    }

    /**
     * The 4 KiB pages whose translated code was kept while the TLB does not hold them (parked):
     * a block on one stops first (see pml4_block). A 64-bit filter by page number; a false hit
     * only costs a stop.
     */
    void parkedCode(java.util.Set<Long> pages) {
        long mask = 0;
        for (long page : pages) {
            mask |= 1L << ((page >>> 12) & 63);
        }
        if (mask != 0 && state.get(JAVA_LONG, CHECK) == 0) {
            // Made when first needed: an upcall stub costs milliseconds to make, and a kernel with
            // one address space never parks code (start-up, issue 12 part 3).
            // int check_fn(uint64_t pc, uint32_t size) in pml4fast.c; registers as NativeCallback passes them.
            state.set(JAVA_LONG, CHECK, engine.upcallStub((pc, size, unused2, unused3, unused4, unused5) ->
                    checkParkedCode(pc, (int) size)).address());
        }
        state.set(JAVA_LONG, PARKED_MASK, mask);
    }

    /**
     * Called by the block hook before a block on a parked page: walks it as precise mode's hook
     * would at the block's first instruction. 0: the block runs now; else the engine stops before
     * it (an exception is pending, or a later page needs the hook: afterRun stretches the block).
     */
    private int checkParkedCode(long pc, int size) {
        fetchChecks++;
        cpu.instructions = state.get(JAVA_LONG, TOTAL);
        // Stop also when the page came back on another frame: the code about to run is the old
        // frame's, dropped now, and the block must be translated again (tlbbug_code).
        parkedCodeVerdict = cpu.walkBlockCode(pc, size);
        return parkedCodeVerdict == Cpu.BlockCode.RUNS ? 0 : 1;
    }

    /** The next block stops and runs as a stretch from its first instruction (the debugger's interrupt, from any thread). */
    void lookSoon() {
        state.set(JAVA_LONG, LIMIT, 0);
    }

    void updateLimit() {
        if (givingUp) {
            state.set(JAVA_LONG, LIMIT, 0);
        } else if (enabled) {
            state.set(JAVA_LONG, LIMIT, cpu.nextLook());
        }
    }

    // ---- the clock at a Java hook ---------------------------------------------------------------

    private void beforeInstruction(long rip) {
        if (!enabled) {
            return; // precise mode: the hook counts
        }
        cpu.instructions = state.get(JAVA_LONG, BASE) + index(rip);
    }

    private void afterInstruction(long rip) {
        if (!enabled) {
            return;
        }
        if (engine.readRegister(X86Reg.RIP) != rip) {
            state.set(JAVA_LONG, TOTAL, cpu.instructions); // redirected: the rest of the block does not run
            state.set(JAVA_LONG, CUR_PC, 0); // and the next block, wherever it starts, is not a restart in it
            state.set(JAVA_INT, CUR_SIZE, 0);
        }
        updateLimit();
    }

    /**
     * In a memory, interrupt or invalid-opcode hook during a run: the clock as precise mode has it
     * there, i.e. with the instruction at RIP counted by its code hook.
     */
    void syncAtEvent(boolean fetch, long address) {
        if (!enabled || !running) {
            return;
        }
        if (fetch) {
            cpu.instructions = state.get(JAVA_LONG, TOTAL); // while translating: the block before has ended
            if (address == runStart) {
                // The run's first block is being translated: it gets no edge event, so the block
                // hook must scan it itself (new code there, or a breakpoint set or cleared).
                state.set(JAVA_LONG, FRESH_PC, address);
            }
            long armed = state.get(JAVA_LONG, ARMED);
            if (armed != 0 && address >= armed && address < armed + 16) {
                // The engine never holds the right to execute (EnginePageMapper), so every
                // translation fetches through this hook: the armed block is being translated
                // again now, even as the first block of a run, which has no edge event.
                state.set(JAVA_INT, ARMED_DONE, 1);
            }
            return;
        }
        if (state.get(JAVA_INT, EXACT) == 0) {
            throw new IllegalStateException("fast mode could not make the state at a memory fault exact; run with --mode precise");
        }
        cpu.instructions = state.get(JAVA_LONG, BASE) + index(engine.readRegister(X86Reg.RIP)) + 1;
    }

    /**
     * An exception QEMU raised itself: RIP is exact there (cpu_loop_exit_restore). A fault's
     * instruction is counted, as precise mode's hook has counted it; a trap's RIP is already past the
     * instruction that completed (the single-step trap of RFLAGS.TF).
     */
    void syncAtException(boolean trap) {
        if (enabled && running) {
            cpu.instructions = state.get(JAVA_LONG, BASE) + index(engine.readRegister(X86Reg.RIP)) + (trap ? 0 : 1);
        }
    }

    /**
     * QEMU will run the instruction at {@code rip}, in the current block, again from its start, in
     * a block of its own (the engine page table's miss, Cpu.onPageTableMiss): the clock stands
     * before it, and the current block, counted whole when it began, ends there.
     */
    void restartAt(long rip) {
        if (!enabled || !running) {
            return;
        }
        long before = state.get(JAVA_LONG, BASE) + index(rip);
        cpu.instructions = before;
        state.set(JAVA_LONG, TOTAL, before);
        state.set(JAVA_LONG, CUR_PC, 0); // the next block is not a restart for SelfModifyingCode
        state.set(JAVA_INT, CUR_SIZE, 0);
    }

    /**
     * The current block's last instruction, a branch, took the engine to a non-canonical address;
     * it faults instead (see Cpu): the clock stops before it. Its address, or -1 when there is no
     * current block.
     */
    long faultingBranch() {
        long pc = state.get(JAVA_LONG, CUR_PC);
        int size = state.get(JAVA_INT, CUR_SIZE);
        if (!enabled || pc == 0 || size == 0) {
            return -1;
        }
        int[] offsets = offsets(pc, size);
        cpu.instructions = state.get(JAVA_LONG, TOTAL) - 1;
        return pc + offsets[offsets.length - 2];
    }

    /** The instruction offsets of the block at {@code pc}, then its size: as scanned, or decoded now. */
    private int[] offsets(long pc, int size) {
        int[] offsets = blocks.get(pc);
        if (offsets == null || offsets[offsets.length - 1] != size) {
            offsets = decode(pc, size).offsets;
            blocks.put(pc, offsets);
        }
        return offsets;
    }

    /** The index of the instruction at {@code rip} in the current block. */
    private int index(long rip) {
        long pc = state.get(JAVA_LONG, CUR_PC);
        int[] offsets = offsets(pc, state.get(JAVA_INT, CUR_SIZE));
        long off = rip - pc;
        for (int i = 0; i < offsets.length - 1; i++) {
            if (offsets[i] >= off) {
                return i;
            }
        }
        return offsets.length - 1;
    }

    /**
     * The block at {@code pc}, {@code size} bytes, starts inside the block at {@code curPc} that
     * began last (and is not that block again): how many of that block's instructions ran, if QEMU
     * abandoned it at {@code pc} to run a store into its own code again, alone ({@link
     * SelfModifyingCode}); -1 when the new block is more than that one instruction, or is the last
     * instruction of the block before and a branch (which ends a block by itself, so that a jump
     * may have gone there after the whole block ran).
     */
    private int ranBefore(long curPc, int curSize, long pc, int size) {
        byte[] code = cpu.instructionBytes(pc, 15);
        int length = capstone.length(code, pc, false);
        if (length != size) {
            return -1; // more than one instruction: an ordinary block
        }
        int[] offsets = offsets(curPc, curSize);
        int ran = java.util.Arrays.binarySearch(offsets, 0, offsets.length - 1, (int) (pc - curPc));
        if (ran < 0) {
            return -1; // not an instruction boundary of the block before: a jump into an instruction
        }
        // One instruction alone: a block is cut after one that is not its last only by QEMU's
        // restart; one that ends blocks itself (a branch) may have been jumped to.
        if (ran < offsets.length - 2 || SelfModifyingCode.fallsThroughOnly(code, pc, length)) {
            // A stretch abandoned before its look had no hook run to set the limit again (it
            // stands open while a stretch runs): set it now, or no look would come until Java
            // next sees an instruction (smc_timer: the timer's ticks waited for the loop's end).
            updateLimit();
            return ran;
        }
        return -1;
    }

    // ---- scanning -------------------------------------------------------------------------------

    /** Decoded.firstSite of a block without one (no instruction can start at the last byte of the address space and be in a block). */
    private static final long NO_SITE = -1;

    /**
     * A block as Capstone decodes it: each instruction's offset (then the block's size), and the
     * window the code hook needs over it: from the first instruction Java must see to the last one
     * (or to the block's end when the engine runs a site whose effect the next boundary must see).
     */
    private record Decoded(int[] offsets, long firstSite, long lastHooked) {
    }

    /**
     * Called by the native side for every new translation: records the block's instructions, and
     * asks for the window over the instructions Java must see.
     * Returns the instruction count as decoded (used when QEMU did not say).
     */
    private int scan(long pc, int size, int icount) {
        if (!enabled) {
            state.set(JAVA_LONG, LO, 1);
            state.set(JAVA_LONG, HI, 0);
            return icount;
        }
        Decoded d = decode(pc, size);
        blocks.put(pc, d.offsets);
        int n = d.offsets.length - 1;
        // Capstone and QEMU disagree, or the instruction reaching into the fenced page is here
        // (FetchFence): the whole block goes through the code hook.
        boolean whole = (icount != 0 && icount != n) || cpu.fenceOverlaps(pc, size);
        long lo = whole ? pc : d.firstSite;
        if (lo != NO_SITE) {
            state.set(JAVA_LONG, LO, lo);
            state.set(JAVA_LONG, HI, whole ? pc + size - 1 : d.lastHooked);
        } else {
            state.set(JAVA_LONG, LO, 1);
            state.set(JAVA_LONG, HI, 0);
        }
        return n;
    }

    private Decoded decode(long pc, int size) {
        byte[] code = cpu.instructionBytes(pc, size + 15);
        int[] offsets = new int[size + 1];
        int n = 0;
        long firstSite = NO_SITE, lastHooked = NO_SITE;
        int off = 0;
        while (off < size) {
            offsets[n++] = off;
            byte[] window = java.util.Arrays.copyOfRange(code, off, Math.min(code.length, off + 15));
            Optional<Instruction> insn = capstone.decode(window, pc + off);
            if (insn.isEmpty()) {
                if (firstSite == NO_SITE) {
                    firstSite = pc + off; // no valid instruction: precise mode's hook raises #UD
                }
                lastHooked = pc + size - 1;
                off = size;
                break;
            }
            int kind = cpu.breakpointAt(pc + off) ? Math.max(SensitiveOpcodes.SENSITIVE_ALONE, SensitiveOpcodes.anyPrivilege(window))
                    : SensitiveOpcodes.anyPrivilege(window);
            if (kind != SensitiveOpcodes.NOT_SENSITIVE) {
                if (firstSite == NO_SITE) {
                    firstSite = pc + off;
                }
                lastHooked = kind == SensitiveOpcodes.SENSITIVE_ALONE ? Math.max(lastHooked, pc + off) : pc + size - 1;
            }
            off += insn.get().length();
        }
        int[] out = java.util.Arrays.copyOf(offsets, n + 1);
        out[n] = size;
        return new Decoded(out, firstSite, lastHooked);
    }

    /** Counters for --stats and bench: blocks run, translations scanned, faults made exact. */
    String statistics() {
        return String.format("%,d blocks, %,d instructions through the code hook, %,d translations scanned, %,d stretches, "
                        + "%,d blocks on parked pages, %,d memory events made exact, %,d blocks removed again, %,d cache flushes%s",
                state.get(JAVA_LONG, BLOCKS), hooked, state.get(JAVA_LONG, SCANS), stretches, fetchChecks,
                state.get(JAVA_LONG, RESTORES), removals, flushes, enabled ? "" : " (then precise for the rest of the run)");
    }

    // ---- the helper library -----------------------------------------------------------------------

    private static Optional<Library> load() {
        if (NativeHelper.LOOKUP.isEmpty()) {
            return Optional.empty();
        }
        try {
            SymbolLookup lib = NativeHelper.LOOKUP.get();
            // Through the plain shape every binding shares (see dev.pml4.ffi): size_t pml4_state_size(void).
            long size = NativeFunction.plain("pml4_state_size", lib.find("pml4_state_size").orElseThrow()).call();
            NativeFunction check = NativeFunction.plain("pml4_check_layout", lib.find("pml4_check_layout").orElseThrow());
            return Optional.of(new Library(lib.find("pml4_block").orElseThrow(), lib.find("pml4_edge").orElseThrow(),
                    lib.find("pml4_mem").orElseThrow(), size, check));
        } catch (Throwable e) {
            return Optional.empty();
        }
    }
}
