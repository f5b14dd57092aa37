package dev.pml4.ffi.unicorn;

import dev.pml4.ffi.NativeCallback;
import dev.pml4.ffi.NativeFunction;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.util.ArrayList;
import java.util.List;

import static dev.pml4.ffi.NativeFunction.pointer;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * One Unicorn engine ({@code uc_engine*}) in x86-64 mode, through FFM over Debian's
 * {@code libunicorn.so.2} (2.0.1). A thin, typed binding: every {@code uc_err} becomes a
 * {@link UnicornException}; everything else about the machine lives elsewhere.
 *
 * <p>Lifetime: the upcall stubs of every hook and the scratch buffers live in an arena owned by this
 * object and are freed by {@link #close()}, after {@code uc_close}. Memory mapped with
 * {@link #mapPointer} belongs to the caller, who must keep it alive until this engine is closed.
 *
 * <p>An exception thrown by a Java hook must never unwind into native code (it would take the JVM
 * down), so every trampoline catches it, remembers the first one, and stops emulation;
 * {@link #start} then throws it as a {@link HookFailure}.
 */
public final class Unicorn implements AutoCloseable {
    private static final int UC_ARCH_X86 = 4;
    private static final int UC_MODE_64 = 1 << 3;
    private static final int UC_HOOK_INTR = 1;
    private static final int UC_HOOK_INSN = 1 << 1;
    private static final int UC_HOOK_CODE = 1 << 2;
    private static final int UC_HOOK_BLOCK = 1 << 3;
    private static final int UC_HOOK_INSN_INVALID = 1 << 14;
    /** Called once per (re)translated block, before it runs (DESIGN.md fact 16). */
    public static final int HOOK_EDGE_GENERATED = 1 << 15;
    public static final int HOOK_CODE = UC_HOOK_CODE;
    public static final int HOOK_BLOCK = UC_HOOK_BLOCK;
    /** UC_HOOK_MEM_READ_UNMAPPED | WRITE_UNMAPPED | FETCH_UNMAPPED. */
    public static final int HOOK_MEM_UNMAPPED = (1 << 4) | (1 << 5) | (1 << 6);
    /** UC_HOOK_MEM_READ_PROT | WRITE_PROT | FETCH_PROT. */
    public static final int HOOK_MEM_PROT = (1 << 7) | (1 << 8) | (1 << 9);
    public static final int HOOK_MEM_READ = 1 << 10;
    public static final int HOOK_MEM_WRITE = 1 << 11;
    public static final int HOOK_MEM_FETCH = 1 << 12;
    private static final int UC_X86_INS_IN = 218;
    private static final int UC_X86_INS_OUT = 500;
    /** UC_CTL_WRITE(UC_CTL_TB_REMOVE_CACHE, 2) and UC_CTL_WRITE(UC_CTL_CPU_MODEL, 1), unicorn.h. */
    private static final int UC_CTL_WRITE_TB_REMOVE_CACHE = 9 | (2 << 26) | (1 << 30);
    private static final int UC_CTL_WRITE_TB_FLUSH = 10 | (1 << 30);
    private static final int UC_CTL_WRITE_CPU_MODEL = 7 | (1 << 26) | (1 << 30);

    private static final Native NATIVE;
    /**
     * Why {@link #NATIVE} is null: kept rather than thrown from this class's initializer, so that
     * the initializer may run on any thread ({@link #link()}) and {@link #openX86_64()} still
     * throws the library's own error, not a NoClassDefFoundError.
     */
    private static final UnsatisfiedLinkError LOAD_FAILURE;

    static {
        Native loaded = null;
        UnsatisfiedLinkError failure = null;
        try {
            loaded = Native.load();
        } catch (UnsatisfiedLinkError e) {
            failure = e;
        }
        NATIVE = loaded;
        LOAD_FAILURE = failure;
    }
    private final Arena arena = Arena.ofShared();
    private final MemorySegment scratch = arena.allocate(64, 16);
    private final MemorySegment handleOut = arena.allocate(JAVA_LONG);
    /** Their addresses, passed to every call that fills them; the arena is closed after uc_close. */
    private final long scratchAddress = scratch.address();
    private final long handleOutAddress = handleOut.address();
    private MemorySegment uc;
    private Throwable hookFailure;

    private Unicorn(MemorySegment uc) {
        this.uc = uc;
    }

    /**
     * Loads the library and links its functions, which this class's initializer does, so that a
     * caller can have it done on another thread ({@code dev.pml4.machine.NativeWarmUp}); never
     * throws: a missing library is {@link #openX86_64()}'s to report.
     */
    public static void link() {
        // Nothing more: calling a static method runs the initializer.
    }

    /** Opens an engine in 64-bit mode. */
    public static Unicorn openX86_64() {
        if (LOAD_FAILURE != null) {
            throw LOAD_FAILURE;
        }
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment out = tmp.allocate(ADDRESS);
            check("uc_open", (int) NATIVE.open.call(UC_ARCH_X86, UC_MODE_64, pointer(out)));
            return new Unicorn(out.get(ADDRESS, 0));
        }
    }

    /** "major.minor" of the loaded library, from {@code uc_version}. */
    public static String libraryVersion() {
        if (LOAD_FAILURE != null) {
            throw LOAD_FAILURE;
        }
        int v = fullVersion();
        return (v >>> 24) + "." + ((v >>> 16) & 0xff);
    }

    /** Selects the emulated CPU model ({@code UC_CPU_X86_*}); only before anything else is done. */
    public void setCpuModel(int model) {
        check("uc_ctl(CPU_MODEL)", (int) NATIVE.ctl.call(handle(), UC_CTL_WRITE_CPU_MODEL, model));
    }

    // ---- memory -------------------------------------------------------------------------------

    /** {@code uc_mem_map_ptr}: maps caller-owned, page-aligned host memory at {@code address}. */
    public void mapPointer(long address, long size, int perms, MemorySegment memory) {
        if (memory.byteSize() < size) {
            throw new IllegalArgumentException("backing memory smaller than the mapping");
        }
        check("uc_mem_map_ptr", (int) NATIVE.memMapPtr.call(handle(), address, size, perms, pointer(memory)));
    }

    /**
     * The callbacks of MMIO ranges. One pair of upcall stubs serves every range mapped with it, so
     * that mapping and unmapping ranges all day allocates nothing; each range tells its callbacks
     * apart by the {@code userData} it was mapped with. The stubs are made when the first range is
     * mapped: most runs map none, and making a stub is not free.
     */
    public static final class MmioHandlers {
        private final Unicorn owner;
        private final Hooks.MmioRead read;
        private final Hooks.MmioWrite write;
        private MemorySegment readStub;
        private MemorySegment writeStub;

        private MmioHandlers(Unicorn owner, Hooks.MmioRead read, Hooks.MmioWrite write) {
            this.owner = owner;
            this.read = read;
            this.write = write;
        }

        private void makeStubs() {
            if (readStub == null) {
                readStub = owner.stub(new MmioReadTrampoline(owner, read));
                writeStub = owner.stub(new MmioWriteTrampoline(owner, write));
            }
        }
    }

    public MmioHandlers mmioHandlers(Hooks.MmioRead read, Hooks.MmioWrite write) {
        return new MmioHandlers(this, read, write);
    }

    /** {@code uc_mmio_map}: a range whose reads and writes call {@code handlers} with {@code userData}. */
    public void mapMmio(long address, long size, MmioHandlers handlers, long userData) {
        if (handlers.owner != this) {
            throw new IllegalArgumentException("MMIO handlers of another engine");
        }
        handlers.makeStubs();
        check("uc_mmio_map", (int) NATIVE.mmioMap.call(handle(), address, size,
                handlers.readStub.address(), userData, handlers.writeStub.address(), userData));
    }

    public void unmap(long address, long size) {
        check("uc_mem_unmap", (int) NATIVE.memUnmap.call(handle(), address, size));
    }

    public void protect(long address, long size, int perms) {
        check("uc_mem_protect", (int) NATIVE.memProtect.call(handle(), address, size, perms));
    }

    /** Reads mapped memory (no hooks run); throws if any byte is unmapped. */
    public void read(long address, MemorySegment into) {
        check("uc_mem_read", (int) NATIVE.memRead.call(handle(), address, pointer(into), into.byteSize()));
    }

    public byte[] read(long address, int length) {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment buf = tmp.allocate(Math.max(1, length));
            read(address, buf.asSlice(0, length));
            return buf.asSlice(0, length).toArray(JAVA_BYTE);
        }
    }

    public void write(long address, byte[] data) {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment buf = tmp.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, buf, JAVA_BYTE, 0, data.length);
            check("uc_mem_write", (int) NATIVE.memWrite.call(handle(), address, pointer(buf), data.length));
        }
    }

    /** {@code uc_mem_regions}: what is mapped now, in address order. */
    public List<MemoryRegion> regions() {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment regionsOut = tmp.allocate(ADDRESS);
            MemorySegment countOut = tmp.allocate(JAVA_INT);
            check("uc_mem_regions", (int) NATIVE.memRegions.call(handle(), pointer(regionsOut), pointer(countOut)));
            int count = countOut.get(JAVA_INT, 0);
            MemorySegment array = regionsOut.get(ADDRESS, 0).reinterpret(24L * count);
            List<MemoryRegion> out = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                out.add(new MemoryRegion(array.get(JAVA_LONG, 24L * i), array.get(JAVA_LONG, 24L * i + 8),
                        array.get(JAVA_INT, 24L * i + 16)));
            }
            if (count > 0) {
                NATIVE.free.call(regionsOut.get(JAVA_LONG, 0));
            }
            return out;
        }
    }

    /** {@code uc_ctl_remove_cache}: drops translated code for [start, end). */
    public void removeCodeCache(long start, long end) {
        if (codeRemoval != null) {
            codeRemoval.remove(start, end);
            return;
        }
        check("uc_ctl(TB_REMOVE_CACHE)", (int) NATIVE.ctl.call(handle(), UC_CTL_WRITE_TB_REMOVE_CACHE, start, end));
    }

    /** How translated code of a linear range goes, when not by {@code uc_ctl} alone. */
    @FunctionalInterface
    public interface CodeRemoval {
        void remove(long start, long end);
    }

    private CodeRemoval codeRemoval;
    private final List<Runnable> beforeClose = new ArrayList<>();

    /**
     * From now on {@link #removeCodeCache} goes through {@code removal}: pml4's engine page table,
     * whose pages QEMU must only look up through it (cpu.EnginePageTable).
     */
    public void routeCodeRemoval(CodeRemoval removal) {
        this.codeRemoval = removal;
    }

    /** Runs {@code action} just before the engine closes, while its CPU still exists. */
    public void onClose(Runnable action) {
        beforeClose.add(action);
    }

    /**
     * Whether {@link #flushSoftTlbPage} can work here: Debian's 2.0.1 exports QEMU's
     * {@code tlb_flush_page_x86_64}, and {@link #cpuState} knows where 2.0.1 keeps the CPU; another
     * version or build may differ, and then nothing calls into QEMU's internals.
     */
    public static boolean canFlushSoftTlb() {
        return SOFT_TLB_FLUSH;
    }

    /**
     * The library is 2.0.1, the build whose internals pml4 reads (the CPU state, QEMU's soft TLB, RAM
     * blocks) at the offsets its disassembly gave; uc_version: major << 24 | minor << 16 | patch << 8 | extra.
     */
    private static final boolean IS_2_0_1 = NATIVE != null && (fullVersion() >>> 8) == 0x020001;

    private static final boolean SOFT_TLB_FLUSH = IS_2_0_1 && NATIVE.tlbFlushPage != null && NATIVE.tlbFlush != null;

    private static int fullVersion() {
        return (int) NATIVE.version.call(0L, 0L); // NULL major and minor: uc_version skips them
    }

    /**
     * Drops QEMU's own software-TLB entries for the 4 KiB page of {@code address} (all MMU indexes),
     * so that the next access to it takes the slow path, where Unicorn checks the region's
     * permissions and calls the memory hooks. {@code uc_mem_protect} alone does not: a translated
     * load still hits QEMU's cached entry unless a region change flushed it. ~0.06 us.
     */
    public void flushSoftTlbPage(long address) {
        NATIVE.tlbFlushPage.call(cpuState(), address);
    }

    /** Drops every entry of QEMU's software TLB (~1 us): cheaper than page by page beyond a few pages. */
    public void flushSoftTlb() {
        NATIVE.tlbFlush.call(cpuState());
    }

    /**
     * {@code uc->cpu}, QEMU's CPUState: at offset 0x180 of Debian's 2.0.1 {@code struct uc_struct}
     * (read from the disassembly of {@code uc_emu_stop}; src/main/c/pml4fast.c relies on the same).
     */
    private long cpuState() {
        return MemorySegment.ofAddress(handle()).reinterpret(UC_CPU_OFFSET + 8).get(JAVA_LONG, UC_CPU_OFFSET);
    }

    private static final long UC_CPU_OFFSET = 0x180;
    /** CPUState.env_ptr in Debian's 2.0.1 (as RegisterFile and src/main/c/pml4fast.c use it). */
    private static final long CPU_ENV_PTR = 0x128;
    /**
     * CPUX86State.old_exception in Debian's 2.0.1: {@code x86_cpu_do_interrupt} stores -1 there
     * (at X86CPU + 0x9ca8, env being X86CPU + 0x8750), and {@code raise_interrupt2}'s
     * check_exception compares it with 8 and 14 (docs/shadow-paging.md, offsets).
     */
    private static final long ENV_OLD_EXCEPTION = 0x1558;

    /**
     * Marks an exception QEMU raised itself, and reported through the interrupt hook, as delivered,
     * as QEMU's own {@code do_interrupt} would have (Unicorn skips it: DESIGN.md fact 1, upstream
     * issue 1883). Otherwise the next contributory exception QEMU raises comes as #DF, and the one
     * after that stops the engine silently. The field is written only when it holds the vector just
     * reported (QEMU stores each contributory exception and #PF there), so a library with another
     * layout is left as it was.
     *
     * @return whether it was reset
     */
    public boolean markExceptionDelivered(int vector) {
        if (!IS_2_0_1) {
            return false;
        }
        long cpu = cpuState();
        if (cpu == 0) {
            return false;
        }
        long env = MemorySegment.ofAddress(cpu).reinterpret(CPU_ENV_PTR + 8).get(JAVA_LONG, CPU_ENV_PTR);
        if (env == 0) {
            return false;
        }
        MemorySegment field = MemorySegment.ofAddress(env + ENV_OLD_EXCEPTION).reinterpret(4);
        if (field.get(JAVA_INT, 0) != vector) {
            return false;
        }
        field.set(JAVA_INT, 0, -1);
        return true;
    }

    /**
     * Whether {@link #retargetRegion} can work here: the same 2.0.1 build as {@link
     * #canFlushSoftTlb}, which also exports {@code memory_mapping}, Unicorn's own region lookup.
     */
    public static boolean canRetargetRegions() {
        return SOFT_TLB_FLUSH && NATIVE.memoryMapping != null;
    }

    /**
     * Points the RAM region that {@link #mapPointer} mapped at [address, address + size) onto
     * {@code memory} instead of {@code mapped}, without Unicorn rebuilding its view of memory (a
     * remap costs ~10 us and more with every region, this a few stores): QEMU keeps a RAM region's
     * host address in one place, its RAMBlock, and reads it only when it fills its software TLB or
     * copies memory. So the caller must flush QEMU's software TLB for the range afterwards, and drop
     * the code translated from the old memory before (its cached translations are keyed by it).
     * Offsets from the disassembly of Debian's 2.0.1 ({@code memory_mapping}: MemoryRegion.addr at
     * 0x40, .end at 0x90; {@code memory_region_get_ram_addr}: .ram_block at 0x8;
     * {@code qemu_ram_get_host_addr} and {@code qemu_ram_get_used_length}: RAMBlock.host at 0x8,
     * .used_length at 0x18); every one is checked against what was mapped before the one store.
     *
     * @return false, changing nothing, when the region is not found exactly as mapped
     */
    public boolean retargetRegion(long address, long size, MemorySegment mapped, MemorySegment memory) {
        if (!canRetargetRegions() || memory.byteSize() < size) {
            return false;
        }
        long regionAddress = NATIVE.memoryMapping.call(handle(), address);
        if (regionAddress == 0) {
            return false;
        }
        MemorySegment region = MemorySegment.ofAddress(regionAddress).reinterpret(MR_END + 8);
        if (region.get(JAVA_LONG, MR_ADDR) != address || region.get(JAVA_LONG, MR_END) != address + size) {
            return false;
        }
        MemorySegment block = region.get(ADDRESS, MR_RAM_BLOCK);
        if (block.address() == 0) {
            return false;
        }
        block = block.reinterpret(RB_USED_LENGTH + 8);
        if (block.get(JAVA_LONG, RB_HOST) != mapped.address() || block.get(JAVA_LONG, RB_USED_LENGTH) != size) {
            return false;
        }
        block.set(JAVA_LONG, RB_HOST, memory.address());
        return true;
    }

    private static final long MR_RAM_BLOCK = 0x8;
    private static final long MR_ADDR = 0x40;
    private static final long MR_END = 0x90;
    private static final long RB_HOST = 0x8;
    private static final long RB_USED_LENGTH = 0x18;

    /** {@code uc_ctl(UC_CTL_TB_FLUSH)}: forgets every translated block. */
    public void flushCodeCache() {
        check("uc_ctl(TB_FLUSH)", (int) NATIVE.ctl.call(handle(), UC_CTL_WRITE_TB_FLUSH));
    }

    // ---- registers ----------------------------------------------------------------------------

    public long readRegister(X86Reg reg) {
        scratch.set(JAVA_LONG, 0, 0L);
        check("uc_reg_read", (int) NATIVE.regRead.call(handle(), reg.id, scratchAddress));
        return switch (reg) {
            case CS, DS, ES, FS, GS, SS -> scratch.get(JAVA_SHORT, 0) & 0xffffL;
            default -> scratch.get(JAVA_LONG, 0);
        };
    }

    /**
     * RAX..R15 and RFLAGS, which the tracer reads at every instruction: 17 {@code uc_reg_read}
     * calls would cost more than all the rest of its work, so this reads a snapshot that costs no
     * call at all where it can.
     *
     * <p>With Debian's 2.0.1, a snapshot is read straight from the CPU state: {@code
     * CPUX86State.regs} (which Unicorn keeps current in a code hook, and which is all that
     * {@code uc_reg_read} returns for them), and RFLAGS as QEMU holds it, lazily: the flags word
     * and the condition-code state ({@code cc_dst}, {@code cc_src}, {@code cc_src2}, {@code
     * cc_op}, {@code df}). {@link #rflags} computes the architectural value from those as {@code
     * uc_reg_read} does, only when the tracer writes a line. When the snapshot is made, each
     * register read directly must equal what {@code uc_reg_read} returns; with another library,
     * or if one does not, a snapshot is read with {@code uc_reg_read_batch}, RFLAGS computed.
     */
    public final class RegisterFile {
        /** The snapshot's length: RAX..R15 in encoding order, then {@link #FLAG_WORDS} words of RFLAGS. */
        public static final int LENGTH = 21;
        public static final int FLAG_WORDS = 5;
        /** Where the flag words begin; as a bit of a mask of changed registers, RFLAGS. */
        public static final int FLAGS = 16;
        /** Debian libunicorn 2.0.1: CPUState.env_ptr, as in src/main/c/pml4fast.c. */
        private static final long CPU_ENV = 0x128;
        /** CPUX86State (2.0.1, from the disassembly of helper_read_eflags): regs[16], eip, eflags, cc_dst, cc_src, cc_src2, cc_op and df. */
        private static final int ENV_EFLAGS = 17;
        private static final long ENV_LENGTH = 22 * 8L;
        /** The flag bits QEMU keeps in cc_* instead of eflags (OF, DF, SF, ZF, AF, PF, CF), and DF. */
        private static final int NOT_CC = 0xfffff32a;
        private static final int DF = 0x400;
        /** A computed RFLAGS in the flag words: marks the last word, the first holds it. */
        private static final long COMPUTED = -1;

        private final MemorySegment ids;
        private final MemorySegment pointers;
        private final MemorySegment values;
        private final long idsAddress;
        private final long pointersAddress;
        /** CPUX86State from regs to df, or null when it cannot be trusted. */
        private final MemorySegment env;

        private RegisterFile(boolean fromState) {
            X86Reg[] regs = java.util.stream.Stream.concat(java.util.Arrays.stream(X86Reg.GPR_BY_ENCODING),
                    java.util.stream.Stream.of(X86Reg.RFLAGS)).toArray(X86Reg[]::new);
            ids = arena.allocate(JAVA_INT, regs.length);
            pointers = arena.allocate(ADDRESS, regs.length);
            values = arena.allocate(JAVA_LONG, regs.length);
            for (int i = 0; i < regs.length; i++) {
                ids.setAtIndex(JAVA_INT, i, regs[i].id);
                pointers.setAtIndex(ADDRESS, i, values.asSlice(i * 8L, 8));
            }
            idsAddress = ids.address();
            pointersAddress = pointers.address();
            env = fromState ? checkedState() : null;
        }

        /** CPUX86State if this is 2.0.1 and it holds what uc_reg_read returns. */
        private MemorySegment checkedState() {
            if (!IS_2_0_1 || NATIVE.ccComputeAll == null) {
                return null;
            }
            MemorySegment uc = MemorySegment.ofAddress(handle()).reinterpret(UC_CPU_OFFSET + 8);
            if (uc.get(JAVA_INT, 0) != UC_ARCH_X86 || uc.get(JAVA_INT, 4) != UC_MODE_64) {
                return null; // uc_struct does not begin with arch and mode: not the layout these offsets are for
            }
            MemorySegment cpu = uc.get(ADDRESS, UC_CPU_OFFSET);
            if (cpu.equals(MemorySegment.NULL)) {
                return null;
            }
            MemorySegment state = cpu.reinterpret(CPU_ENV + 8).get(ADDRESS, CPU_ENV);
            if (state.equals(MemorySegment.NULL)) {
                return null;
            }
            state = state.reinterpret(ENV_LENGTH);
            for (int i = 0; i < 16; i++) {
                if (state.getAtIndex(JAVA_LONG, i) != readRegister(X86Reg.GPR_BY_ENCODING[i])) {
                    return null;
                }
            }
            long rip = readRegister(X86Reg.RIP);
            long[] snapshot = new long[LENGTH];
            MemorySegment.copy(state, JAVA_LONG, ENV_EFLAGS * 8L, snapshot, FLAGS, FLAG_WORDS);
            return rip != 0 && state.getAtIndex(JAVA_LONG, 16) == rip && rflags(snapshot) == readRegister(X86Reg.RFLAGS)
                    ? state : null;
        }

        /** Whether snapshots are read from the CPU state directly. */
        public boolean direct() {
            return env != null;
        }

        /** Reads a snapshot into {@code into[0..LENGTH)}. */
        public void read(long[] into) {
            if (env != null) {
                MemorySegment.copy(env, JAVA_LONG, 0, into, 0, 16);
                MemorySegment.copy(env, JAVA_LONG, ENV_EFLAGS * 8L, into, FLAGS, FLAG_WORDS);
                return;
            }
            check("uc_reg_read_batch", (int) NATIVE.regReadBatch.call(handle(), idsAddress, pointersAddress, 17));
            MemorySegment.copy(values, JAVA_LONG, 0, into, 0, 17);
            into[FLAGS + 1] = 0;
            into[FLAGS + 2] = 0;
            into[FLAGS + 3] = 0;
            into[FLAGS + FLAG_WORDS - 1] = COMPUTED;
        }

        /** RFLAGS of a snapshot: what {@code uc_reg_read} returned or would have (QEMU's helper_read_eflags). */
        public long rflags(long[] snapshot) {
            long op = snapshot[FLAGS + 4];
            if (op == COMPUTED) {
                return snapshot[FLAGS];
            }
            // helper_cc_compute_all(dst, src1, src2, int op): the low half of the word is cc_op.
            long cc = NATIVE.ccComputeAll.call(snapshot[FLAGS + 1], snapshot[FLAGS + 2], snapshot[FLAGS + 3], (int) op);
            return ((int) snapshot[FLAGS] & NOT_CC | (int) cc | (int) (op >>> 32) & DF) & 0xffffffffL;
        }
    }

    /** The general registers and RFLAGS, for snapshots at every instruction. */
    public RegisterFile registerFile() {
        return new RegisterFile(true);
    }

    /** The same, always read with uc_reg_read_batch (as with another library): for tests. */
    RegisterFile registerFileByBatch() {
        return new RegisterFile(false);
    }

    /** Writes a register. Segment registers load their descriptor from the GDT, as MOV Sreg does. */
    public void writeRegister(X86Reg reg, long value) {
        switch (reg) {
            case CS, DS, ES, FS, GS, SS -> scratch.set(JAVA_SHORT, 0, (short) value);
            default -> scratch.set(JAVA_LONG, 0, value);
        }
        check("uc_reg_write " + reg, (int) NATIVE.regWrite.call(handle(), reg.id, scratchAddress));
    }

    /** Reads GDTR, IDTR, LDTR or TR as {@code uc_x86_mmr} {selector u16 @0, base u64 @8, limit u32 @16, flags u32 @20}. */
    public DescriptorRegister readDescriptorRegister(X86Reg reg) {
        requireDescriptor(reg);
        scratch.fill((byte) 0);
        check("uc_reg_read " + reg, (int) NATIVE.regRead.call(handle(), reg.id, scratchAddress));
        return new DescriptorRegister(scratch.get(JAVA_SHORT, 0) & 0xffff, scratch.get(JAVA_LONG, 8),
                scratch.get(JAVA_INT, 16), scratch.get(JAVA_INT, 20));
    }

    public void writeDescriptorRegister(X86Reg reg, DescriptorRegister value) {
        requireDescriptor(reg);
        scratch.fill((byte) 0);
        scratch.set(JAVA_SHORT, 0, (short) value.selector());
        scratch.set(JAVA_LONG, 8, value.base());
        scratch.set(JAVA_INT, 16, value.limit());
        scratch.set(JAVA_INT, 20, value.flags());
        check("uc_reg_write " + reg, (int) NATIVE.regWrite.call(handle(), reg.id, scratchAddress));
    }

    /** Reads an MSR through {@code uc_x86_msr} {rid u32 @0, value u64 @8}. */
    public long readMsr(int msr) {
        scratch.fill((byte) 0);
        scratch.set(JAVA_INT, 0, msr);
        check("uc_reg_read MSR 0x" + Integer.toHexString(msr), (int) NATIVE.regRead.call(handle(), X86Reg.MSR.id, scratchAddress));
        return scratch.get(JAVA_LONG, 8);
    }

    public void writeMsr(int msr, long value) {
        scratch.fill((byte) 0);
        scratch.set(JAVA_INT, 0, msr);
        scratch.set(JAVA_LONG, 8, value);
        check("uc_reg_write MSR 0x" + Integer.toHexString(msr), (int) NATIVE.regWrite.call(handle(), X86Reg.MSR.id, scratchAddress));
    }

    private static void requireDescriptor(X86Reg reg) {
        if (reg != X86Reg.GDTR && reg != X86Reg.IDTR && reg != X86Reg.LDTR && reg != X86Reg.TR) {
            throw new IllegalArgumentException(reg + " is not a descriptor-table or system segment register");
        }
    }

    // ---- hooks --------------------------------------------------------------------------------

    /** An installed hook; pass to {@link #deleteHook}. */
    public record Hook(long id) {
    }

    public Hook hookCode(long begin, long end, Hooks.Code hook) {
        return addHook(UC_HOOK_CODE, stub(new CodeTrampoline(this, hook)), begin, end);
    }

    public Hook hookBlock(long begin, long end, Hooks.Code hook) {
        return addHook(UC_HOOK_BLOCK, stub(new CodeTrampoline(this, hook)), begin, end);
    }

    /** @param types {@link #HOOK_MEM_UNMAPPED} and/or {@link #HOOK_MEM_PROT} */
    public Hook hookMemoryEvents(int types, Hooks.MemoryEvent hook) {
        return addHook(types, memoryEventStub(hook), 1, 0);
    }

    /** @param types {@link #HOOK_MEM_READ}, {@link #HOOK_MEM_WRITE}, {@link #HOOK_MEM_FETCH} */
    public Hook hookMemoryAccesses(int types, long begin, long end, Hooks.MemoryTrace hook) {
        return addHook(types, stub(new MemoryTraceTrampoline(this, hook)), begin, end);
    }

    public Hook hookInterrupts(Hooks.Interrupt hook) {
        return addHook(UC_HOOK_INTR, stub(new InterruptTrampoline(this, hook)), 1, 0);
    }

    public Hook hookInvalidInstructions(Hooks.InvalidInstruction hook) {
        return addHook(UC_HOOK_INSN_INVALID, stub(new InvalidTrampoline(this, hook)), 1, 0);
    }

    public Hook hookPortIn(Hooks.PortIn hook) {
        return addInsnHook(UC_X86_INS_IN, stub(new PortInTrampoline(this, hook)));
    }

    public Hook hookPortOut(Hooks.PortOut hook) {
        return addInsnHook(UC_X86_INS_OUT, stub(new PortOutTrampoline(this, hook)));
    }

    /**
     * Installs a hook whose callback is native code (fast mode's helper), with {@code userData}
     * passed to it. The returned id is Unicorn's {@code struct hook} pointer.
     */
    public Hook hookNative(int type, MemorySegment callback, MemorySegment userData, long begin, long end) {
        return addHook(type, callback, pointer(userData), begin, end);
    }

    /** Native memory that lives exactly as long as this engine (state shared with native hooks). */
    public MemorySegment allocateForHooks(long size) {
        return arena.allocate(size, 64).fill((byte) 0);
    }

    /**
     * An upcall stub that lives exactly as long as this engine, for a native helper's callback
     * (see {@link NativeCallback} for what {@code callback} must do with its arguments). Unlike a
     * hook's, an exception it throws is not caught here.
     */
    public MemorySegment upcallStub(NativeCallback callback) {
        return NativeCallback.stub(callback, arena);
    }

    /** The native entry point of a memory-event hook, for a native hook that calls Java after its own work. */
    public MemorySegment memoryEventStub(Hooks.MemoryEvent hook) {
        return stub(new MemoryEventTrampoline(this, hook));
    }

    public void deleteHook(Hook hook) {
        check("uc_hook_del", (int) NATIVE.hookDel.call(handle(), hook.id()));
    }

    private Hook addHook(int type, MemorySegment callback, long begin, long end) {
        return addHook(type, callback, 0L, begin, end);
    }

    private Hook addHook(int type, MemorySegment callback, long userData, long begin, long end) {
        check("uc_hook_add", (int) NATIVE.hookAdd.call(handle(), handleOutAddress, type, callback.address(), userData, begin, end));
        return new Hook(handleOut.get(JAVA_LONG, 0));
    }

    private Hook addInsnHook(int instruction, MemorySegment callback) {
        // The instruction is uc_hook_add's one variadic argument, read as va_arg(int).
        check("uc_hook_add(INSN)", (int) NATIVE.hookAdd.call(handle(), handleOutAddress, UC_HOOK_INSN, callback.address(),
                0L, 1L, 0L, instruction));
        return new Hook(handleOut.get(JAVA_LONG, 0));
    }

    /** A hook's native entry point, which lives exactly as long as this engine. */
    private MemorySegment stub(NativeCallback trampoline) {
        return NativeCallback.stub(trampoline, arena);
    }

    // ---- running ------------------------------------------------------------------------------

    /**
     * {@code uc_emu_start}: runs from {@code begin} until {@code until}, a stop, an error, or
     * {@code count} instructions (0: no limit). Returns the {@code uc_err} (0 when stopped or done)
     * rather than throwing, because an error here is often the machine's business (an access the
     * hooks refused). A Java hook that threw is rethrown as {@link HookFailure}.
     */
    public int start(long begin, long until, long timeoutMicros, long count) {
        int err = (int) NATIVE.emuStart.call(handle(), begin, until, timeoutMicros, count);
        if (hookFailure != null) {
            Throwable failure = hookFailure;
            hookFailure = null;
            throw new HookFailure(failure);
        }
        return err;
    }

    /** {@code uc_emu_stop}; safe inside a hook. */
    public void stop() {
        NATIVE.emuStop.call(handle());
    }

    /** {@code uc_strerror}. */
    public static String errorText(int code) {
        try {
            return MemorySegment.ofAddress(NATIVE.strerror.call(code)).reinterpret(256).getString(0);
        } catch (RuntimeException e) {
            return "uc_err " + code;
        }
    }

    @Override
    public void close() {
        if (uc == null) {
            return;
        }
        try {
            for (Runnable action : beforeClose) {
                action.run();
            }
            beforeClose.clear();
            NATIVE.close.call(uc.address());
        } finally {
            uc = null;
            arena.close();
        }
    }

    /** The uc_engine pointer, for pml4's own native helper (fast mode), which calls Unicorn itself. */
    public MemorySegment nativeHandle() {
        return MemorySegment.ofAddress(handle());
    }

    /** The uc_engine pointer, as every call passes it. */
    private long handle() {
        if (uc == null) {
            throw new IllegalStateException("the Unicorn engine is closed");
        }
        return uc.address();
    }

    private static void check(String operation, int err) {
        if (err != UcError.OK) {
            throw new UnicornException(operation, err, errorText(err));
        }
    }

    /** Remembers the first failure of a Java hook and stops the engine; called from trampolines only. */
    void hookFailed(Throwable t) {
        if (hookFailure == null) {
            hookFailure = t;
        }
        try {
            NATIVE.emuStop.call(uc.address());
        } catch (Throwable ignored) {
            // Nothing more can be done from inside native code.
        }
    }

    /** A Java hook threw; its exception is the cause. */
    public static final class HookFailure extends RuntimeException {
        HookFailure(Throwable cause) {
            super("a hook failed inside uc_emu_start: " + cause, cause);
        }
    }

    // ---- trampolines: the only code that runs as an upcall ----------------------------------------
    // Each receives its C type's arguments as registers (NativeCallback): 32-bit ones are masked
    // with (int), registers beyond the C type are ignored, and a bool is returned as 0 or 1.

    /** {@code void uc_cb_hookcode_t(uc_engine *uc, uint64_t address, uint32_t size, void *user_data)}. */
    record CodeTrampoline(Unicorn owner, Hooks.Code hook) implements NativeCallback {
        @Override
        public long call(long uc, long address, long size, long userData, long unused4, long unused5) {
            try {
                hook.onCode(address, (int) size);
            } catch (Throwable t) {
                owner.hookFailed(t);
            }
            return 0;
        }
    }

    /**
     * {@code bool uc_cb_eventmem_t(uc_engine *uc, uc_mem_type type, uint64_t address, int size,
     * int64_t value, void *user_data)}.
     */
    record MemoryEventTrampoline(Unicorn owner, Hooks.MemoryEvent hook) implements NativeCallback {
        @Override
        public long call(long uc, long type, long address, long size, long value, long userData) {
            try {
                return hook.onEvent(MemoryAccess.of((int) type), address, (int) size, value) ? 1 : 0;
            } catch (Throwable t) {
                owner.hookFailed(t);
                return 0;
            }
        }
    }

    /**
     * {@code void uc_cb_hookmem_t(uc_engine *uc, uc_mem_type type, uint64_t address, int size,
     * int64_t value, void *user_data)}.
     */
    record MemoryTraceTrampoline(Unicorn owner, Hooks.MemoryTrace hook) implements NativeCallback {
        @Override
        public long call(long uc, long type, long address, long size, long value, long userData) {
            try {
                hook.onAccess(MemoryAccess.of((int) type), address, (int) size, value);
            } catch (Throwable t) {
                owner.hookFailed(t);
            }
            return 0;
        }
    }

    /** {@code void uc_cb_hookintr_t(uc_engine *uc, uint32_t intno, void *user_data)}. */
    record InterruptTrampoline(Unicorn owner, Hooks.Interrupt hook) implements NativeCallback {
        @Override
        public long call(long uc, long vector, long userData, long unused3, long unused4, long unused5) {
            try {
                hook.onInterrupt((int) vector);
            } catch (Throwable t) {
                owner.hookFailed(t);
            }
            return 0;
        }
    }

    /** {@code bool uc_cb_hookinsn_invalid_t(uc_engine *uc, void *user_data)}. */
    record InvalidTrampoline(Unicorn owner, Hooks.InvalidInstruction hook) implements NativeCallback {
        @Override
        public long call(long uc, long userData, long unused2, long unused3, long unused4, long unused5) {
            try {
                return hook.onInvalid() ? 1 : 0;
            } catch (Throwable t) {
                owner.hookFailed(t);
                return 1;
            }
        }
    }

    /** {@code uint32_t uc_cb_insn_in_t(uc_engine *uc, uint32_t port, int size, void *user_data)}. */
    record PortInTrampoline(Unicorn owner, Hooks.PortIn hook) implements NativeCallback {
        @Override
        public long call(long uc, long port, long size, long userData, long unused4, long unused5) {
            try {
                return hook.onIn((int) port, (int) size);
            } catch (Throwable t) {
                owner.hookFailed(t);
                return -1;
            }
        }
    }

    /** {@code void uc_cb_insn_out_t(uc_engine *uc, uint32_t port, int size, uint32_t value, void *user_data)}. */
    record PortOutTrampoline(Unicorn owner, Hooks.PortOut hook) implements NativeCallback {
        @Override
        public long call(long uc, long port, long size, long value, long userData, long unused5) {
            try {
                hook.onOut((int) port, (int) size, (int) value);
            } catch (Throwable t) {
                owner.hookFailed(t);
            }
            return 0;
        }
    }

    /** {@code uint64_t uc_cb_mmio_read_t(uc_engine *uc, uint64_t offset, unsigned size, void *user_data)}. */
    record MmioReadTrampoline(Unicorn owner, Hooks.MmioRead hook) implements NativeCallback {
        @Override
        public long call(long uc, long offset, long size, long userData, long unused4, long unused5) {
            try {
                return hook.read(userData, offset, (int) size);
            } catch (Throwable t) {
                owner.hookFailed(t);
                return -1L;
            }
        }
    }

    /**
     * {@code void uc_cb_mmio_write_t(uc_engine *uc, uint64_t offset, unsigned size, uint64_t value,
     * void *user_data)}.
     */
    record MmioWriteTrampoline(Unicorn owner, Hooks.MmioWrite hook) implements NativeCallback {
        @Override
        public long call(long uc, long offset, long size, long value, long userData, long unused5) {
            try {
                hook.write(userData, offset, (int) size, value);
            } catch (Throwable t) {
                owner.hookFailed(t);
            }
            return 0;
        }
    }

    /**
     * Unicorn's functions, all linked when the library is loaded: each goes through one of the
     * shapes every binding shares (see {@link dev.pml4.ffi}), so that linking one more costs a
     * symbol lookup, not a dozen classes. A record, so that the JIT trusts its fields: every call
     * through {@link #NATIVE} is a call of a constant method handle. The C prototypes are
     * unicorn.h's (2.0.1).
     */
    private record Native(NativeFunction open, NativeFunction close, NativeFunction version, NativeFunction strerror,
                          NativeFunction free, NativeFunction memMapPtr, NativeFunction mmioMap, NativeFunction memUnmap,
                          NativeFunction memProtect, NativeFunction memRead, NativeFunction memWrite,
                          NativeFunction memRegions, NativeFunction regRead, NativeFunction regReadBatch,
                          NativeFunction ccComputeAll, NativeFunction regWrite, NativeFunction hookAdd,
                          NativeFunction hookDel, NativeFunction emuStart, NativeFunction emuStop, NativeFunction ctl,
                          NativeFunction tlbFlushPage, NativeFunction tlbFlush, NativeFunction memoryMapping) {

        static Native load() {
            SymbolLookup lib;
            try {
                lib = SymbolLookup.libraryLookup("libunicorn.so.2", Arena.global());
            } catch (IllegalArgumentException e) {
                throw new UnsatisfiedLinkError(
                        "libunicorn.so.2 not found: install Debian's libunicorn2 (apt-get install -y libunicorn2), or run make, which does");
            }
            // Critical: hot calls that never run a hook, so never call back into Java. Not
            // uc_reg_write (writing a segment register reads the GDT, which may call a memory hook),
            // nor uc_mem_write, uc_emu_start, or anything that changes mappings.
            return new Native(
                    plain(lib, "uc_open"),             // uc_err (uc_arch, uc_mode, uc_engine **)
                    plain(lib, "uc_close"),            // uc_err (uc_engine *)
                    plain(lib, "uc_version"),          // unsigned (unsigned *major, unsigned *minor)
                    plain(lib, "uc_strerror"),         // const char *(uc_err)
                    plain(lib, "uc_free"),             // uc_err (void *)
                    plain(lib, "uc_mem_map_ptr"),      // uc_err (uc, uint64_t address, size_t, uint32_t perms, void *)
                    // uc_err (uc, uint64_t, size_t, read_cb, void *, write_cb, void *): seven arguments
                    NativeFunction.variadic("uc_mmio_map", find(lib, "uc_mmio_map")),
                    plain(lib, "uc_mem_unmap"),        // uc_err (uc, uint64_t address, size_t size)
                    plain(lib, "uc_mem_protect"),      // uc_err (uc, uint64_t address, size_t size, uint32_t perms)
                    NativeFunction.critical("uc_mem_read", find(lib, "uc_mem_read")), // uc_err (uc, uint64_t, void *, size_t)
                    plain(lib, "uc_mem_write"),        // uc_err (uc, uint64_t, const void *, size_t)
                    plain(lib, "uc_mem_regions"),      // uc_err (uc, uc_mem_region **, uint32_t *count)
                    NativeFunction.critical("uc_reg_read", find(lib, "uc_reg_read")), // uc_err (uc, int regid, void *)
                    // uc_err (uc, int *regs, void **vals, int count)
                    NativeFunction.critical("uc_reg_read_batch", find(lib, "uc_reg_read_batch")),
                    // QEMU's helper_cc_compute_all(target_ulong dst, src1, src2, int op): the lazy flags made
                    // architectural; optional, as QEMU's internals are.
                    lib.find("helper_cc_compute_all_x86_64").map(a -> NativeFunction.critical("helper_cc_compute_all", a)).orElse(null),
                    plain(lib, "uc_reg_write"),        // uc_err (uc, int regid, const void *)
                    // uc_err (uc, uc_hook *, int type, void *callback, void *user_data, uint64_t begin,
                    // uint64_t end, ...): an instruction hook passes the instruction as its variadic int.
                    NativeFunction.variadic("uc_hook_add", find(lib, "uc_hook_add")),
                    plain(lib, "uc_hook_del"),         // uc_err (uc, uc_hook)
                    plain(lib, "uc_emu_start"),        // uc_err (uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count)
                    plain(lib, "uc_emu_stop"),         // uc_err (uc)
                    NativeFunction.variadic("uc_ctl", find(lib, "uc_ctl")), // uc_err (uc, uc_control_type, ...)
                    // QEMU internals that Debian's build exports (optional: without them, mappings are
                    // never kept parked): void tlb_flush_page(CPUState *, target_ulong), void tlb_flush(CPUState *).
                    lib.find("tlb_flush_page_x86_64").map(a -> NativeFunction.critical("tlb_flush_page", a)).orElse(null),
                    lib.find("tlb_flush_x86_64").map(a -> NativeFunction.critical("tlb_flush", a)).orElse(null),
                    // MemoryRegion *memory_mapping(struct uc_struct *, uint64_t): Unicorn's own region
                    // lookup, which 2.0.1 exports (optional: without it, regions are never re-pointed).
                    lib.find("memory_mapping").map(a -> NativeFunction.critical("memory_mapping", a)).orElse(null));
        }

        private static NativeFunction plain(SymbolLookup lib, String name) {
            return NativeFunction.plain(name, find(lib, name));
        }

        private static MemorySegment find(SymbolLookup lib, String name) {
            return lib.find(name).orElseThrow(
                    () -> new UnsatisfiedLinkError(name + " is missing from libunicorn.so.2 (need Unicorn 2.0.1 or newer)"));
        }
    }

}
