package dev.pml4.ffi.unicorn;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
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
    /**
     * The tracer's per-instruction calls, in static finals: the JIT inlines a constant method
     * handle's call, but goes through its lambda forms (tens of nanoseconds) for one in an
     * instance field. A holder class, so that they are linked only when the tracer first reads
     * registers (start-up links what a run uses, on first use).
     */
    private static final class TraceCalls {
        static final MethodHandle CC_COMPUTE_ALL = NATIVE.ccComputeAll == null ? null : NATIVE.ccComputeAll.handle();
        static final MethodHandle REG_READ_BATCH = NATIVE.regReadBatch.handle();
    }

    private final Arena arena = Arena.ofShared();
    private final MemorySegment scratch = arena.allocate(64, 16);
    private final MemorySegment handleOut = arena.allocate(JAVA_LONG);
    private MemorySegment uc;
    private Throwable hookFailure;

    private Unicorn(MemorySegment uc) {
        this.uc = uc;
    }

    /**
     * Loads the library and links, on the calling thread, what every run uses: the downcalls a run
     * of a kernel makes and the upcall shapes of the hooks a machine installs (each shape is spun
     * once per JVM, see {@link Downcall}). For a caller that wants it done on another thread
     * ({@code dev.pml4.machine.NativeWarmUp}); never throws: a missing library is
     * {@link #openX86_64()}'s to report.
     */
    public static void link() {
        if (NATIVE != null) {
            NATIVE.linkWhatRunsUse();
        }
    }

    /** Opens an engine in 64-bit mode. */
    public static Unicorn openX86_64() {
        if (LOAD_FAILURE != null) {
            throw LOAD_FAILURE;
        }
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment out = tmp.allocate(ADDRESS);
            check("uc_open", (int) NATIVE.open.handle().invokeExact(UC_ARCH_X86, UC_MODE_64, out));
            return new Unicorn(out.get(ADDRESS, 0));
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("uc_open", t);
        }
    }

    /** "major.minor" of the loaded library, from {@code uc_version}. */
    public static String libraryVersion() {
        if (LOAD_FAILURE != null) {
            throw LOAD_FAILURE;
        }
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment major = tmp.allocate(JAVA_INT);
            MemorySegment minor = tmp.allocate(JAVA_INT);
            int ignored = (int) NATIVE.version.handle().invokeExact(major, minor);
            return major.get(JAVA_INT, 0) + "." + minor.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw new IllegalStateException("uc_version", t);
        }
    }

    /** Selects the emulated CPU model ({@code UC_CPU_X86_*}); only before anything else is done. */
    public void setCpuModel(int model) {
        try {
            check("uc_ctl(CPU_MODEL)", (int) NATIVE.ctlInt.handle().invokeExact(handle(), UC_CTL_WRITE_CPU_MODEL, model));
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    // ---- memory -------------------------------------------------------------------------------

    /** {@code uc_mem_map_ptr}: maps caller-owned, page-aligned host memory at {@code address}. */
    public void mapPointer(long address, long size, int perms, MemorySegment memory) {
        if (memory.byteSize() < size) {
            throw new IllegalArgumentException("backing memory smaller than the mapping");
        }
        try {
            check("uc_mem_map_ptr", (int) NATIVE.memMapPtr.handle().invokeExact(handle(), address, size, perms, memory));
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * The callbacks of MMIO ranges. One pair of upcall stubs serves every range mapped with it, so
     * that mapping and unmapping ranges all day allocates nothing; each range tells its callbacks
     * apart by the {@code userData} it was mapped with. The stubs are made when the first range is
     * mapped: most runs map none, and each upcall shape costs start-up (see {@link Downcall}).
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
                readStub = owner.stub(new MmioReadTrampoline(owner, read), NATIVE.mmioReadTarget, NATIVE.mmioReadDesc);
                writeStub = owner.stub(new MmioWriteTrampoline(owner, write), NATIVE.mmioWriteTarget, NATIVE.mmioWriteDesc);
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
        MemorySegment tag = MemorySegment.ofAddress(userData);
        try {
            check("uc_mmio_map", (int) NATIVE.mmioMap.handle().invokeExact(handle(), address, size,
                    handlers.readStub, tag, handlers.writeStub, tag));
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public void unmap(long address, long size) {
        try {
            check("uc_mem_unmap", (int) NATIVE.memUnmap.handle().invokeExact(handle(), address, size));
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public void protect(long address, long size, int perms) {
        try {
            check("uc_mem_protect", (int) NATIVE.memProtect.handle().invokeExact(handle(), address, size, perms));
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Reads mapped memory (no hooks run); throws if any byte is unmapped. */
    public void read(long address, MemorySegment into) {
        try {
            check("uc_mem_read", (int) NATIVE.memRead.handle().invokeExact(handle(), address, into, into.byteSize()));
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
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
            check("uc_mem_write", (int) NATIVE.memWrite.handle().invokeExact(handle(), address, buf, (long) data.length));
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** {@code uc_mem_regions}: what is mapped now, in address order. */
    public List<MemoryRegion> regions() {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment regionsOut = tmp.allocate(ADDRESS);
            MemorySegment countOut = tmp.allocate(JAVA_INT);
            check("uc_mem_regions", (int) NATIVE.memRegions.handle().invokeExact(handle(), regionsOut, countOut));
            int count = countOut.get(JAVA_INT, 0);
            MemorySegment array = regionsOut.get(ADDRESS, 0).reinterpret(24L * count);
            List<MemoryRegion> out = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                out.add(new MemoryRegion(array.get(JAVA_LONG, 24L * i), array.get(JAVA_LONG, 24L * i + 8),
                        array.get(JAVA_INT, 24L * i + 16)));
            }
            if (count > 0) {
                int ignored = (int) NATIVE.free.handle().invokeExact(regionsOut.get(ADDRESS, 0));
            }
            return out;
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** {@code uc_ctl_remove_cache}: drops translated code for [start, end). */
    public void removeCodeCache(long start, long end) {
        try {
            check("uc_ctl(TB_REMOVE_CACHE)", (int) NATIVE.ctlLongLong.handle().invokeExact(handle(), UC_CTL_WRITE_TB_REMOVE_CACHE, start, end));
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Whether {@link #flushSoftTlbPage} can work here: Debian's 2.0.1 exports QEMU's
     * {@code tlb_flush_page_x86_64}, and {@link #cpuState} knows where 2.0.1 keeps the CPU; another
     * version or build may differ, and then nothing calls into QEMU's internals.
     */
    public static boolean canFlushSoftTlb() {
        return SOFT_TLB_FLUSH;
    }

    private static final boolean SOFT_TLB_FLUSH = NATIVE != null && NATIVE.tlbFlushPage != null && NATIVE.tlbFlush != null
            && (fullVersion() >>> 8) == 0x020001; // uc_version: major << 24 | minor << 16 | patch << 8 | extra

    private static int fullVersion() {
        try (Arena tmp = Arena.ofConfined()) {
            return (int) NATIVE.version.handle().invokeExact(tmp.allocate(JAVA_INT), tmp.allocate(JAVA_INT));
        } catch (Throwable t) {
            throw new IllegalStateException("uc_version", t);
        }
    }

    /**
     * Drops QEMU's own software-TLB entries for the 4 KiB page of {@code address} (all MMU indexes),
     * so that the next access to it takes the slow path, where Unicorn checks the region's
     * permissions and calls the memory hooks. {@code uc_mem_protect} alone does not: a translated
     * load still hits QEMU's cached entry unless a region change flushed it. ~0.06 us.
     */
    public void flushSoftTlbPage(long address) {
        try {
            NATIVE.tlbFlushPage.handle().invokeExact(cpuState(), address);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Drops every entry of QEMU's software TLB (~1 us): cheaper than page by page beyond a few pages. */
    public void flushSoftTlb() {
        try {
            NATIVE.tlbFlush.handle().invokeExact(cpuState());
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * {@code uc->cpu}, QEMU's CPUState: at offset 0x180 of Debian's 2.0.1 {@code struct uc_struct}
     * (read from the disassembly of {@code uc_emu_stop}; src/main/c/pml4fast.c relies on the same).
     */
    private MemorySegment cpuState() {
        return handle().reinterpret(UC_CPU_OFFSET + 8).get(ADDRESS, UC_CPU_OFFSET);
    }

    private static final long UC_CPU_OFFSET = 0x180;

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
        MemorySegment region;
        try {
            region = (MemorySegment) NATIVE.memoryMapping.handle().invokeExact(handle(), address);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (region.address() == 0) {
            return false;
        }
        region = region.reinterpret(MR_END + 8);
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
        try {
            check("uc_ctl(TB_FLUSH)", (int) NATIVE.ctl0.handle().invokeExact(handle(), UC_CTL_WRITE_TB_FLUSH));
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    // ---- registers ----------------------------------------------------------------------------

    public long readRegister(X86Reg reg) {
        try {
            scratch.set(JAVA_LONG, 0, 0L);
            check("uc_reg_read", (int) NATIVE.regRead.handle().invokeExact(handle(), reg.id, scratch));
            return switch (reg) {
                case CS, DS, ES, FS, GS, SS -> scratch.get(JAVA_SHORT, 0) & 0xffffL;
                default -> scratch.get(JAVA_LONG, 0);
            };
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
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
        /** Debian libunicorn 2.0.1: uc_struct.cpu and CPUState.env_ptr, as in src/main/c/pml4fast.c. */
        private static final long UC_CPU = 0x180;
        private static final long CPU_ENV = 0x128;
        /** CPUX86State (2.0.1, from the disassembly of helper_read_eflags): regs[16], eip, eflags, cc_dst, cc_src, cc_src2, cc_op and df. */
        private static final int ENV_EFLAGS = 17;
        private static final long ENV_LENGTH = 22 * 8L;
        /** uc_version() of 2.0.1: major, minor, patch, extra (unicorn.h UC_API_*). */
        private static final int VERSION_2_0_1 = 0x020001ff;
        /** The flag bits QEMU keeps in cc_* instead of eflags (OF, DF, SF, ZF, AF, PF, CF), and DF. */
        private static final int NOT_CC = 0xfffff32a;
        private static final int DF = 0x400;
        /** A computed RFLAGS in the flag words: marks the last word, the first holds it. */
        private static final long COMPUTED = -1;

        private final MemorySegment ids;
        private final MemorySegment pointers;
        private final MemorySegment values;
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
            env = fromState ? checkedState() : null;
        }

        /** CPUX86State if this is 2.0.1 and it holds what uc_reg_read returns. */
        private MemorySegment checkedState() {
            int version;
            try {
                version = (int) NATIVE.version.handle().invokeExact(MemorySegment.NULL, MemorySegment.NULL);
            } catch (Throwable t) {
                return null;
            }
            if (version != VERSION_2_0_1 || NATIVE.ccComputeAll == null) {
                return null;
            }
            MemorySegment uc = handle().reinterpret(UC_CPU + 8);
            if (uc.get(JAVA_INT, 0) != UC_ARCH_X86 || uc.get(JAVA_INT, 4) != UC_MODE_64) {
                return null; // uc_struct does not begin with arch and mode: not the layout these offsets are for
            }
            MemorySegment cpu = uc.get(ADDRESS, UC_CPU);
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
            try {
                check("uc_reg_read_batch", (int) TraceCalls.REG_READ_BATCH.invokeExact(handle(), ids, pointers, 17));
            } catch (UnicornException e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
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
            try {
                long cc = (long) TraceCalls.CC_COMPUTE_ALL.invokeExact(snapshot[FLAGS + 1], snapshot[FLAGS + 2], snapshot[FLAGS + 3], (int) op);
                return ((int) snapshot[FLAGS] & NOT_CC | (int) cc | (int) (op >>> 32) & DF) & 0xffffffffL;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
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
        try {
            switch (reg) {
                case CS, DS, ES, FS, GS, SS -> scratch.set(JAVA_SHORT, 0, (short) value);
                default -> scratch.set(JAVA_LONG, 0, value);
            }
            check("uc_reg_write " + reg, (int) NATIVE.regWrite.handle().invokeExact(handle(), reg.id, scratch));
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Reads GDTR, IDTR, LDTR or TR as {@code uc_x86_mmr} {selector u16 @0, base u64 @8, limit u32 @16, flags u32 @20}. */
    public DescriptorRegister readDescriptorRegister(X86Reg reg) {
        requireDescriptor(reg);
        try {
            scratch.fill((byte) 0);
            check("uc_reg_read " + reg, (int) NATIVE.regRead.handle().invokeExact(handle(), reg.id, scratch));
            return new DescriptorRegister(scratch.get(JAVA_SHORT, 0) & 0xffff, scratch.get(JAVA_LONG, 8),
                    scratch.get(JAVA_INT, 16), scratch.get(JAVA_INT, 20));
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public void writeDescriptorRegister(X86Reg reg, DescriptorRegister value) {
        requireDescriptor(reg);
        try {
            scratch.fill((byte) 0);
            scratch.set(JAVA_SHORT, 0, (short) value.selector());
            scratch.set(JAVA_LONG, 8, value.base());
            scratch.set(JAVA_INT, 16, value.limit());
            scratch.set(JAVA_INT, 20, value.flags());
            check("uc_reg_write " + reg, (int) NATIVE.regWrite.handle().invokeExact(handle(), reg.id, scratch));
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Reads an MSR through {@code uc_x86_msr} {rid u32 @0, value u64 @8}. */
    public long readMsr(int msr) {
        try {
            scratch.fill((byte) 0);
            scratch.set(JAVA_INT, 0, msr);
            check("uc_reg_read MSR 0x" + Integer.toHexString(msr), (int) NATIVE.regRead.handle().invokeExact(handle(), X86Reg.MSR.id, scratch));
            return scratch.get(JAVA_LONG, 8);
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public void writeMsr(int msr, long value) {
        try {
            scratch.fill((byte) 0);
            scratch.set(JAVA_INT, 0, msr);
            scratch.set(JAVA_LONG, 8, value);
            check("uc_reg_write MSR 0x" + Integer.toHexString(msr), (int) NATIVE.regWrite.handle().invokeExact(handle(), X86Reg.MSR.id, scratch));
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
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
        return addHook(UC_HOOK_CODE, stub(new CodeTrampoline(this, hook), NATIVE.codeTarget, NATIVE.codeDesc), begin, end);
    }

    public Hook hookBlock(long begin, long end, Hooks.Code hook) {
        return addHook(UC_HOOK_BLOCK, stub(new CodeTrampoline(this, hook), NATIVE.codeTarget, NATIVE.codeDesc), begin, end);
    }

    /** @param types {@link #HOOK_MEM_UNMAPPED} and/or {@link #HOOK_MEM_PROT} */
    public Hook hookMemoryEvents(int types, Hooks.MemoryEvent hook) {
        return addHook(types, stub(new MemoryEventTrampoline(this, hook), NATIVE.memEventTarget, NATIVE.memEventDesc), 1, 0);
    }

    /** @param types {@link #HOOK_MEM_READ}, {@link #HOOK_MEM_WRITE}, {@link #HOOK_MEM_FETCH} */
    public Hook hookMemoryAccesses(int types, long begin, long end, Hooks.MemoryTrace hook) {
        return addHook(types, stub(new MemoryTraceTrampoline(this, hook), NATIVE.memTraceTarget, NATIVE.memTraceDesc), begin, end);
    }

    public Hook hookInterrupts(Hooks.Interrupt hook) {
        return addHook(UC_HOOK_INTR, stub(new InterruptTrampoline(this, hook), NATIVE.intrTarget, NATIVE.intrDesc), 1, 0);
    }

    public Hook hookInvalidInstructions(Hooks.InvalidInstruction hook) {
        return addHook(UC_HOOK_INSN_INVALID, stub(new InvalidTrampoline(this, hook), NATIVE.invalidTarget, NATIVE.invalidDesc), 1, 0);
    }

    public Hook hookPortIn(Hooks.PortIn hook) {
        return addInsnHook(UC_X86_INS_IN, stub(new PortInTrampoline(this, hook), NATIVE.inTarget, NATIVE.inDesc));
    }

    public Hook hookPortOut(Hooks.PortOut hook) {
        return addInsnHook(UC_X86_INS_OUT, stub(new PortOutTrampoline(this, hook), NATIVE.outTarget, NATIVE.outDesc));
    }

    /**
     * Installs a hook whose callback is native code (fast mode's helper), with {@code userData}
     * passed to it. The returned id is Unicorn's {@code struct hook} pointer.
     */
    public Hook hookNative(int type, MemorySegment callback, MemorySegment userData, long begin, long end) {
        try {
            check("uc_hook_add", (int) NATIVE.hookAdd.handle().invokeExact(handle(), handleOut, type, callback, userData, begin, end));
            return new Hook(handleOut.get(JAVA_LONG, 0));
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Native memory that lives exactly as long as this engine (state shared with native hooks). */
    public MemorySegment allocateForHooks(long size) {
        return arena.allocate(size, 64).fill((byte) 0);
    }

    /** An upcall stub that lives exactly as long as this engine. */
    public MemorySegment upcallStub(MethodHandle target, FunctionDescriptor descriptor) {
        return Native.LINKER.upcallStub(target, descriptor, arena);
    }

    /** The native entry point of a memory-event hook, for a native hook that calls Java after its own work. */
    public MemorySegment memoryEventStub(Hooks.MemoryEvent hook) {
        return stub(new MemoryEventTrampoline(this, hook), NATIVE.memEventTarget, NATIVE.memEventDesc);
    }

    public void deleteHook(Hook hook) {
        try {
            check("uc_hook_del", (int) NATIVE.hookDel.handle().invokeExact(handle(), hook.id()));
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private Hook addHook(int type, MemorySegment callback, long begin, long end) {
        try {
            check("uc_hook_add", (int) NATIVE.hookAdd.handle().invokeExact(handle(), handleOut, type, callback, MemorySegment.NULL, begin, end));
            return new Hook(handleOut.get(JAVA_LONG, 0));
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private Hook addInsnHook(int instruction, MemorySegment callback) {
        try {
            check("uc_hook_add(INSN)", (int) NATIVE.hookAddInsn.handle().invokeExact(handle(), handleOut, UC_HOOK_INSN, callback,
                    MemorySegment.NULL, 1L, 0L, instruction));
            return new Hook(handleOut.get(JAVA_LONG, 0));
        } catch (UnicornException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private MemorySegment stub(Object trampoline, MethodHandle target, FunctionDescriptor descriptor) {
        return Native.LINKER.upcallStub(target.bindTo(trampoline), descriptor, arena);
    }

    // ---- running ------------------------------------------------------------------------------

    /**
     * {@code uc_emu_start}: runs from {@code begin} until {@code until}, a stop, an error, or
     * {@code count} instructions (0: no limit). Returns the {@code uc_err} (0 when stopped or done)
     * rather than throwing, because an error here is often the machine's business (an access the
     * hooks refused). A Java hook that threw is rethrown as {@link HookFailure}.
     */
    public int start(long begin, long until, long timeoutMicros, long count) {
        int err;
        try {
            err = (int) NATIVE.emuStart.handle().invokeExact(handle(), begin, until, timeoutMicros, count);
        } catch (Throwable t) {
            throw new IllegalStateException("uc_emu_start", t);
        }
        if (hookFailure != null) {
            Throwable failure = hookFailure;
            hookFailure = null;
            throw new HookFailure(failure);
        }
        return err;
    }

    /** {@code uc_emu_stop}; safe inside a hook. */
    public void stop() {
        try {
            int ignored = (int) NATIVE.emuStop.handle().invokeExact(handle());
        } catch (Throwable t) {
            throw new IllegalStateException("uc_emu_stop", t);
        }
    }

    /** {@code uc_strerror}. */
    public static String errorText(int code) {
        try {
            MemorySegment s = (MemorySegment) NATIVE.strerror.handle().invokeExact(code);
            return s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "uc_err " + code;
        }
    }

    @Override
    public void close() {
        if (uc == null) {
            return;
        }
        try {
            int ignored = (int) NATIVE.close.handle().invokeExact(uc);
        } catch (Throwable t) {
            throw new IllegalStateException("uc_close", t);
        } finally {
            uc = null;
            arena.close();
        }
    }

    /** The uc_engine pointer, for pml4's own native helper (fast mode), which calls Unicorn itself. */
    public MemorySegment nativeHandle() {
        return handle();
    }

    private MemorySegment handle() {
        if (uc == null) {
            throw new IllegalStateException("the Unicorn engine is closed");
        }
        return uc;
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
            int ignored = (int) NATIVE.emuStop.handle().invokeExact(uc);
        } catch (Throwable ignoredToo) {
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

    record CodeTrampoline(Unicorn owner, Hooks.Code hook) {
        void call(MemorySegment uc, long address, int size, MemorySegment userData) {
            try {
                hook.onCode(address, size);
            } catch (Throwable t) {
                owner.hookFailed(t);
            }
        }
    }

    record MemoryEventTrampoline(Unicorn owner, Hooks.MemoryEvent hook) {
        boolean call(MemorySegment uc, int type, long address, int size, long value, MemorySegment userData) {
            try {
                return hook.onEvent(MemoryAccess.of(type), address, size, value);
            } catch (Throwable t) {
                owner.hookFailed(t);
                return false;
            }
        }
    }

    record MemoryTraceTrampoline(Unicorn owner, Hooks.MemoryTrace hook) {
        void call(MemorySegment uc, int type, long address, int size, long value, MemorySegment userData) {
            try {
                hook.onAccess(MemoryAccess.of(type), address, size, value);
            } catch (Throwable t) {
                owner.hookFailed(t);
            }
        }
    }

    record InterruptTrampoline(Unicorn owner, Hooks.Interrupt hook) {
        void call(MemorySegment uc, int vector, MemorySegment userData) {
            try {
                hook.onInterrupt(vector);
            } catch (Throwable t) {
                owner.hookFailed(t);
            }
        }
    }

    record InvalidTrampoline(Unicorn owner, Hooks.InvalidInstruction hook) {
        boolean call(MemorySegment uc, MemorySegment userData) {
            try {
                return hook.onInvalid();
            } catch (Throwable t) {
                owner.hookFailed(t);
                return true;
            }
        }
    }

    record PortInTrampoline(Unicorn owner, Hooks.PortIn hook) {
        int call(MemorySegment uc, int port, int size, MemorySegment userData) {
            try {
                return hook.onIn(port, size);
            } catch (Throwable t) {
                owner.hookFailed(t);
                return -1;
            }
        }
    }

    record PortOutTrampoline(Unicorn owner, Hooks.PortOut hook) {
        void call(MemorySegment uc, int port, int size, int value, MemorySegment userData) {
            try {
                hook.onOut(port, size, value);
            } catch (Throwable t) {
                owner.hookFailed(t);
            }
        }
    }

    record MmioReadTrampoline(Unicorn owner, Hooks.MmioRead hook) {
        long call(MemorySegment uc, long offset, int size, MemorySegment userData) {
            try {
                return hook.read(userData.address(), offset, size);
            } catch (Throwable t) {
                owner.hookFailed(t);
                return -1L;
            }
        }
    }

    record MmioWriteTrampoline(Unicorn owner, Hooks.MmioWrite hook) {
        void call(MemorySegment uc, long offset, int size, long value, MemorySegment userData) {
            try {
                hook.write(userData.address(), offset, size, value);
            } catch (Throwable t) {
                owner.hookFailed(t);
            }
        }
    }

    /**
     * A Unicorn function, linked on its first call rather than when the library is loaded. Linking
     * a downcall spins a dozen hidden classes for each new function shape (the FFM linker's
     * specialised invoker and its lambda forms), which the JDK's AOT cache cannot keep: linking all
     * 22 up front was about a tenth of the start-up of {@code pml4 run}, and a run of the hello kernel
     * uses 11 of them (never uc_ctl, uc_mem_regions, uc_hook_del, uc_strerror, uc_mmio_map...).
     * Calls read the handle from a field, as they read it from {@link Native}'s final fields before
     * (neither is a constant to the JIT); volatile, because the warm-up thread ({@link Unicorn#link()})
     * may link it for the main thread. A race on the first call links twice, harmlessly.
     */
    private static final class Downcall {
        private final MemorySegment function;
        private final FunctionDescriptor descriptor;
        private final Linker.Option[] options;
        private volatile MethodHandle handle;

        Downcall(MemorySegment function, FunctionDescriptor descriptor, Linker.Option... options) {
            this.function = function;
            this.descriptor = descriptor;
            this.options = options;
        }

        MethodHandle handle() {
            MethodHandle h = handle;
            if (h == null) {
                h = Native.LINKER.downcallHandle(function, descriptor, options);
                handle = h;
            }
            return h;
        }
    }

    /** The downcalls (linked on first use) and upcall shapes, once per JVM. */
    private static final class Native {
        static final Linker LINKER = Linker.nativeLinker();

        final Downcall open, close, version, strerror, free, memMapPtr, mmioMap, memUnmap, memProtect,
                memRead, memWrite, memRegions, regRead, regReadBatch, ccComputeAll, regWrite, hookAdd, hookAddInsn, hookDel, emuStart,
                emuStop, ctlInt, ctlLongLong, ctl0, tlbFlushPage, tlbFlush;
        /** Unicorn's {@code memory_mapping(uc, address)}, the region holding an address (2.0.1 exports it), or null. */
        final Downcall memoryMapping;
        final MethodHandle codeTarget, memEventTarget, memTraceTarget, intrTarget, invalidTarget, inTarget,
                outTarget, mmioReadTarget, mmioWriteTarget;
        final FunctionDescriptor codeDesc = FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS);
        final FunctionDescriptor memEventDesc = FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS);
        final FunctionDescriptor memTraceDesc = FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS);
        final FunctionDescriptor intrDesc = FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, ADDRESS);
        final FunctionDescriptor invalidDesc = FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS, ADDRESS);
        final FunctionDescriptor inDesc = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS);
        final FunctionDescriptor outDesc = FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
        final FunctionDescriptor mmioReadDesc = FunctionDescriptor.of(JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS);
        final FunctionDescriptor mmioWriteDesc = FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS);

        private final SymbolLookup lib;

        private Native(SymbolLookup lib) throws ReflectiveOperationException {
            this.lib = lib;
            // Calls that never call back into Java may skip the thread-state transition.
            Linker.Option critical = Linker.Option.critical(false);
            open = down("uc_open", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
            close = down("uc_close", FunctionDescriptor.of(JAVA_INT, ADDRESS));
            version = down("uc_version", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
            strerror = down("uc_strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));
            free = down("uc_free", FunctionDescriptor.of(JAVA_INT, ADDRESS));
            memMapPtr = down("uc_mem_map_ptr", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS));
            mmioMap = down("uc_mmio_map", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
            memUnmap = down("uc_mem_unmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
            memProtect = down("uc_mem_protect", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT));
            memRead = down("uc_mem_read", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG), critical);
            memWrite = down("uc_mem_write", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG));
            memRegions = down("uc_mem_regions", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
            regRead = down("uc_reg_read", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS), critical);
            // QEMU's helper_cc_compute_all(dst, src1, src2, op): the lazy flags made architectural.
            ccComputeAll = lib.find("helper_cc_compute_all_x86_64").map(a -> new Downcall(a,
                    FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT), critical)).orElse(null);
            regReadBatch = down("uc_reg_read_batch", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT), critical);
            // Not critical: writing a segment register reads the GDT, which may call a memory hook.
            regWrite = down("uc_reg_write", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
            // uc_hook_add(uc, hh, type, callback, user_data, begin, end, ...): variadic after 7 arguments.
            hookAdd = down("uc_hook_add", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG),
                    Linker.Option.firstVariadicArg(7));
            hookAddInsn = down("uc_hook_add", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT),
                    Linker.Option.firstVariadicArg(7));
            hookDel = down("uc_hook_del", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
            emuStart = down("uc_emu_start", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
            emuStop = down("uc_emu_stop", FunctionDescriptor.of(JAVA_INT, ADDRESS));
            // uc_ctl(uc, control, ...): variadic after 2 arguments.
            ctl0 = down("uc_ctl", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), Linker.Option.firstVariadicArg(2));
            ctlInt = down("uc_ctl", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
            ctlLongLong = down("uc_ctl", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(2));
            // QEMU internals that Debian's build exports (optional: without them, mappings are never kept parked).
            tlbFlushPage = lib.find("tlb_flush_page_x86_64").map(a -> new Downcall(a,
                    FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG), critical)).orElse(null);
            tlbFlush = lib.find("tlb_flush_x86_64").map(a -> new Downcall(a,
                    FunctionDescriptor.ofVoid(ADDRESS), critical)).orElse(null);
            memoryMapping = lib.find("memory_mapping").map(a -> new Downcall(a,
                    FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG), critical)).orElse(null);

            MethodHandles.Lookup l = MethodHandles.lookup();
            codeTarget = l.findVirtual(CodeTrampoline.class, "call", MethodType.methodType(void.class, MemorySegment.class, long.class, int.class, MemorySegment.class));
            memEventTarget = l.findVirtual(MemoryEventTrampoline.class, "call", MethodType.methodType(boolean.class, MemorySegment.class, int.class, long.class, int.class, long.class, MemorySegment.class));
            memTraceTarget = l.findVirtual(MemoryTraceTrampoline.class, "call", MethodType.methodType(void.class, MemorySegment.class, int.class, long.class, int.class, long.class, MemorySegment.class));
            intrTarget = l.findVirtual(InterruptTrampoline.class, "call", MethodType.methodType(void.class, MemorySegment.class, int.class, MemorySegment.class));
            invalidTarget = l.findVirtual(InvalidTrampoline.class, "call", MethodType.methodType(boolean.class, MemorySegment.class, MemorySegment.class));
            inTarget = l.findVirtual(PortInTrampoline.class, "call", MethodType.methodType(int.class, MemorySegment.class, int.class, int.class, MemorySegment.class));
            outTarget = l.findVirtual(PortOutTrampoline.class, "call", MethodType.methodType(void.class, MemorySegment.class, int.class, int.class, int.class, MemorySegment.class));
            mmioReadTarget = l.findVirtual(MmioReadTrampoline.class, "call", MethodType.methodType(long.class, MemorySegment.class, long.class, int.class, MemorySegment.class));
            mmioWriteTarget = l.findVirtual(MmioWriteTrampoline.class, "call", MethodType.methodType(void.class, MemorySegment.class, long.class, int.class, long.class, MemorySegment.class));
        }

        /** See {@link Unicorn#link()}: what a run of the hello kernel linked, measured. */
        void linkWhatRunsUse() {
            for (Downcall d : List.of(open, hookAdd, hookAddInsn, regRead, regWrite, memMapPtr, emuStart, memProtect,
                    memUnmap, emuStop)) {
                d.handle();
            }
            // The linker keeps what it spins for an upcall shape; a stub made and freed now leaves
            // the shape linked for the hooks' own stubs.
            try (Arena scratch = Arena.ofConfined()) {
                for (FunctionDescriptor shape : List.of(codeDesc, memEventDesc, intrDesc, invalidDesc, inDesc, outDesc)) {
                    LINKER.upcallStub(MethodHandles.empty(shape.toMethodType()), shape, scratch);
                }
            }
        }

        private Downcall down(String name, FunctionDescriptor descriptor, Linker.Option... options) {
            return new Downcall(lib.find(name).orElseThrow(
                    () -> new UnsatisfiedLinkError(name + " is missing from libunicorn.so.2 (need Unicorn 2.0.1 or newer)")),
                    descriptor, options);
        }

        static Native load() {
            SymbolLookup lib;
            try {
                lib = SymbolLookup.libraryLookup("libunicorn.so.2", Arena.global());
            } catch (IllegalArgumentException e) {
                throw new UnsatisfiedLinkError(
                        "libunicorn.so.2 not found: install Debian's libunicorn2 (apt-get install -y libunicorn2), or run make, which does");
            }
            try {
                return new Native(lib);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }
    }

}
