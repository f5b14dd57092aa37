package dev.pml4.ffi.capstone;

import dev.pml4.ffi.NativeFunction;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.util.List;
import java.util.Optional;

import static dev.pml4.ffi.NativeFunction.pointer;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A capstone 4 disassembler handle for x86-64, with detail on, decoding one instruction at a time.
 *
 * <p>Why our own binding: capstone's JNA binding costs tens of microseconds per instruction (hundreds
 * with detail), which the emulator cannot pay on every instruction it explains; this one calls
 * {@code cs_disasm_iter} through the FFM API into a {@code cs_insn} that {@code cs_malloc} allocated
 * once for the handle, so a decode allocates no native memory at all (DESIGN.md, fact 9).
 *
 * <p><b>Not thread-safe.</b> The handle owns one {@code cs_insn}, one code buffer and capstone's
 * per-handle error state, and every decode overwrites them. Give each emulated CPU its own handle.
 * A handle may move between threads (its memory is in a shared arena), but must not be used by two
 * at once.
 *
 * <p>Every {@link Instruction} returned is a Java copy, valid after the next decode and after
 * {@link #close()}. After {@code close()}, every method but {@code close()} throws
 * {@link IllegalStateException}.
 */
// Restricted FFM methods (library lookup, downcalls, reinterpret) are what a binding is made of;
// the JVM still requires --enable-native-access for them at run time.
@SuppressWarnings("restricted")
public final class Capstone implements AutoCloseable {

    /** The longest x86 instruction (Intel SDM Vol. 2, §2.3.11); capstone 4 rejects longer ones too. */
    private static final int MAX_INSTRUCTION_LENGTH = 15;

    /**
     * The functions we use, one per capstone.h function, through the plain shape every binding
     * shares (see {@link dev.pml4.ffi}: all take and return integers and pointers only). Null
     * {@link #LIB} means the library is missing.
     */
    private record Lib(NativeFunction version, NativeFunction open, NativeFunction option, NativeFunction malloc,
                       NativeFunction disasmIter, NativeFunction errno, NativeFunction free, NativeFunction close,
                       NativeFunction regName, NativeFunction strerror) {

        static Lib load(String soname) {
            // Global arena: the library stays mapped for the life of the JVM, like a JNI library would.
            SymbolLookup cs = SymbolLookup.libraryLookup(soname, Arena.global());
            // Ordinary downcalls throughout: marking cs_disasm_iter Linker.Option.critical measured no
            // faster (~0.35-0.6 us per decode either way, of which capstone itself takes ~0.2 us).
            return new Lib(
                    find(cs, "cs_version"),     // unsigned int (int *major, int *minor)
                    find(cs, "cs_open"),        // cs_err (cs_arch arch, cs_mode mode, csh *handle); csh is size_t
                    find(cs, "cs_option"),      // cs_err (csh handle, cs_opt_type type, size_t value)
                    find(cs, "cs_malloc"),      // cs_insn *(csh handle)
                    // bool (csh handle, const uint8_t **code, size_t *size, uint64_t *address, cs_insn *insn)
                    find(cs, "cs_disasm_iter"),
                    find(cs, "cs_errno"),       // cs_err (csh handle)
                    find(cs, "cs_free"),        // void (cs_insn *insn, size_t count)
                    find(cs, "cs_close"),       // cs_err (csh *handle)
                    find(cs, "cs_reg_name"),    // const char *(csh handle, unsigned int reg_id)
                    find(cs, "cs_strerror"));   // const char *(cs_err code)
        }

        private static NativeFunction find(SymbolLookup cs, String name) {
            return NativeFunction.plain(name, cs.find(name).orElseThrow(() ->
                    new IllegalArgumentException(Abi.LIBRARY + " has no symbol " + name)));
        }
    }

    private static final Lib LIB;
    /**
     * Why {@link #LIB} is null. Kept rather than thrown from this class's initializer, which would
     * turn every later use into a bare NoClassDefFoundError; {@link #openX86_64()} rethrows it.
     */
    private static final CapstoneException LOAD_FAILURE;

    static {
        Lib lib = null;
        CapstoneException failure = null;
        try {
            lib = load(Abi.LIBRARY);
        } catch (CapstoneException e) {
            failure = e;
        }
        LIB = lib;
        LOAD_FAILURE = failure;
    }

    private static Lib load(String soname) {
        try {
            return Lib.load(soname);
        } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
            throw new CapstoneException(
                    soname + " not found: install Debian's libcapstone4 (apt-get install -y libcapstone4)", e);
        }
    }

    /** Loads {@code soname} as capstone would be loaded, for the missing-library test. */
    static void loadForTest(String soname) {
        load(soname);
    }

    private final Arena arena;
    private final long handle;
    private final MemorySegment handleCell;
    private final MemorySegment insn;
    private final MemorySegment detail;
    /** Scratch for cs_disasm_iter, allocated once: the code bytes and its three in/out arguments. */
    private final MemorySegment codeBuffer;
    private final MemorySegment codeCell;
    private final MemorySegment sizeCell;
    private final MemorySegment addressCell;
    /** The addresses of the cells and of the cs_insn, which cs_disasm_iter takes at every decode. */
    private final long codeCellAddress;
    private final long sizeCellAddress;
    private final long addressCellAddress;
    private final long insnAddress;
    /**
     * cs_reg_name of each x86 register id, asked when the id is first met (a handle meets a few
     * dozen; asking all 241 at open was most of the handle's start-up); null: not asked yet.
     */
    private final String[] registerNames;
    /** In {@link #registerNames}: capstone has no name for this id. */
    private static final String NO_NAME = new String("(none)");
    private boolean closed;
    /** The handle decodes 32-bit code now ({@code CS_MODE_32}) rather than 64-bit. */
    private boolean mode32;

    private Capstone(Arena arena, long handle, MemorySegment handleCell) {
        this.arena = arena;
        this.handle = handle;
        this.handleCell = handleCell;
        MemorySegment allocated = MemorySegment.NULL;
        try {
            // Detail must be on before cs_malloc: only then does cs_malloc allocate insn->detail.
            check(callOption(Abi.CS_OPT_DETAIL, Abi.CS_OPT_ON), "cs_option(CS_OPT_DETAIL, CS_OPT_ON)");
            allocated = callMalloc();
            if (allocated.equals(MemorySegment.NULL)) {
                check(callErrno(), "cs_malloc");
                throw new CapstoneException("cs_malloc returned NULL", CapstoneException.NOT_A_CS_ERR);
            }
            this.insn = allocated.reinterpret(Abi.INSN_SIZE, arena, null);
            MemorySegment detailPointer = insn.get(ADDRESS, Abi.INSN_DETAIL);
            if (detailPointer.equals(MemorySegment.NULL)) {
                throw new CapstoneException("cs_malloc left cs_insn.detail NULL with CS_OPT_DETAIL on",
                        CapstoneException.NOT_A_CS_ERR);
            }
            this.detail = detailPointer.reinterpret(Abi.DETAIL_SIZE, arena, null);
            this.codeBuffer = arena.allocate(Abi.INSN_BYTES_LEN);
            this.codeCell = arena.allocate(ADDRESS);
            this.sizeCell = arena.allocate(JAVA_LONG);
            this.addressCell = arena.allocate(JAVA_LONG);
            this.codeCellAddress = codeCell.address();
            this.sizeCellAddress = sizeCell.address();
            this.addressCellAddress = addressCell.address();
            this.insnAddress = insn.address();
            this.registerNames = new String[Abi.X86_REG_ENDING];
        } catch (RuntimeException | Error e) {
            if (!allocated.equals(MemorySegment.NULL)) {
                callFree(allocated);
            }
            callClose();
            arena.close();
            throw e;
        }
    }

    /**
     * Loads the library and links its downcalls now, which this class's initializer does, so that a
     * caller can have it done on another thread ({@link dev.pml4.machine.NativeWarmUp}). Never
     * throws: a missing library is reported by {@link #openX86_64()}, as always.
     */
    public static void link() {
        // Nothing more: calling a static method runs the initializer.
    }

    /**
     * Opens capstone for x86-64 ({@code CS_ARCH_X86}, {@code CS_MODE_64}) with {@code CS_OPT_DETAIL}
     * on, so that operands come back typed.
     *
     * @throws CapstoneException when libcapstone.so.4 is missing, is not capstone 4.0 (whose struct
     *                           layout this binding reads), or reports an error
     */
    public static Capstone openX86_64() {
        int version = libraryVersion();
        if (version != (Abi.API_MAJOR << 8 | Abi.API_MINOR)) {
            throw new CapstoneException(String.format(
                    "%s reports capstone %d.%d, but this binding reads capstone %d.%d's struct layout",
                    Abi.LIBRARY, version >>> 8, version & 0xFF, Abi.API_MAJOR, Abi.API_MINOR), CapstoneException.NOT_A_CS_ERR);
        }
        Arena arena = Arena.ofShared();
        try {
            MemorySegment handleCell = arena.allocate(JAVA_LONG);
            int err = (int) LIB.open().call(Abi.CS_ARCH_X86, Abi.CS_MODE_64, pointer(handleCell));
            check(err, "cs_open(CS_ARCH_X86, CS_MODE_64)");
            return new Capstone(arena, handleCell.get(JAVA_LONG, 0), handleCell);
        } catch (RuntimeException | Error e) {
            if (arena.scope().isAlive()) {
                arena.close();
            }
            throw e;
        }
    }

    /**
     * {@code cs_version()}: {@code major << 8 | minor} of the loaded library. Package-private: the
     * ABI test and {@link #openX86_64()} use it to refuse a library whose structs we would misread.
     */
    static int libraryVersion() {
        return (int) lib().version().call(0L, 0L); // NULL major and minor: cs_version skips them
    }

    /**
     * Decodes the one instruction at the start of {@code code}, as if it sat at guest virtual
     * {@code address} (which matters for RIP-relative and branch operands).
     *
     * <p>At most the first 15 bytes of {@code code} are read (copied into a native buffer owned by
     * this handle, so {@code code} may be a heap segment or a slice of guest RAM). Fewer bytes than
     * the instruction needs decode as invalid, as they would on a CPU at the end of mapped memory.
     *
     * @return the instruction, or empty when the bytes are not a valid x86-64 instruction
     * @throws CapstoneException     when capstone reports an error (other than "invalid instruction")
     * @throws IllegalStateException after {@link #close()}
     */
    public Optional<Instruction> decode(MemorySegment code, long address) {
        checkOpen();
        setMode32(false);
        return disassemble(code, address);
    }

    private void setMode32(boolean bits32) {
        if (bits32 != mode32) {
            check(callOption(Abi.CS_OPT_MODE, bits32 ? Abi.CS_MODE_32 : Abi.CS_MODE_64), "cs_option(CS_OPT_MODE)");
            mode32 = bits32;
        }
    }

    private Optional<Instruction> disassemble(MemorySegment code, long address) {
        return decodeInto(code, address) ? Optional.of(readInstruction()) : Optional.empty();
    }

    /**
     * The length of the instruction {@code code} starts with, as {@link #decode(byte[], long, boolean)}
     * would give it, or 0 when the bytes are not a valid instruction. Reads only {@code cs_insn.size}:
     * the translation guard needs lengths alone, and making {@link Instruction}s (strings, operands)
     * of the first few hundred was ~15 ms of a hello run's start, in the interpreter.
     */
    public int length(byte[] code, long address, boolean bits32) {
        checkOpen();
        setMode32(bits32);
        return decodeInto(MemorySegment.ofArray(code), address) ? insnLength() : 0;
    }

    /** Decodes into the handle's {@code cs_insn}; false when the bytes are no instruction. */
    private boolean decodeInto(MemorySegment code, long address) {
        int n = (int) Math.min(code.byteSize(), MAX_INSTRUCTION_LENGTH);
        if (n == 0) {
            return false;
        }
        MemorySegment.copy(code, 0, codeBuffer, 0, n);
        codeCell.set(ADDRESS, 0, codeBuffer);
        sizeCell.set(JAVA_LONG, 0, n);
        addressCell.set(JAVA_LONG, 0, address);
        boolean decoded = NativeFunction.bool(LIB.disasmIter().call(handle, codeCellAddress, sizeCellAddress, addressCellAddress, insnAddress));
        if (!decoded) {
            // cs_disasm_iter returns false both for bytes that are no instruction (errno stays
            // CS_ERR_OK) and for real failures such as CS_ERR_MEM.
            check(callErrno(), "cs_disasm_iter");
        }
        return decoded;
    }

    private int insnLength() {
        int length = Short.toUnsignedInt(insn.get(JAVA_SHORT, Abi.INSN_SIZE_FIELD));
        if (length < 1 || length > MAX_INSTRUCTION_LENGTH) {
            throw abiMismatch("cs_insn.size = " + length);
        }
        return length;
    }

    /** {@link #decode(MemorySegment, long)} over the start of a byte array. */
    public Optional<Instruction> decode(byte[] code, long address) {
        return decode(MemorySegment.ofArray(code), address);
    }

    /**
     * Decodes as {@link #decode(byte[], long)} does, as 32-bit code ({@code bits32}: register names
     * such as {@code eax}, 0x40-0x4F as INC/DEC) or as 64-bit code. The handle's mode is changed
     * with {@code cs_option(CS_OPT_MODE)} only when it differs from the last call's.
     */
    public Optional<Instruction> decode(byte[] code, long address, boolean bits32) {
        checkOpen();
        setMode32(bits32);
        return disassemble(MemorySegment.ofArray(code), address);
    }

    /**
     * Capstone's lowercase name for an x86 register id ({@code x86_reg} in x86.h), e.g. {@code "cr3"}.
     *
     * @throws IllegalArgumentException for {@code X86_REG_INVALID} (0) and ids capstone does not name
     * @throws IllegalStateException    after {@link #close()}
     */
    public String registerName(int capstoneRegId) {
        checkOpen();
        String name = nameOf(capstoneRegId);
        if (name == null) {
            throw new IllegalArgumentException("not a capstone x86 register id: " + capstoneRegId);
        }
        return name;
    }

    /**
     * Frees the {@code cs_insn} ({@code cs_free}) and the handle ({@code cs_close}). Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        int err;
        try {
            callFree(insn);
            err = callClose();
        } finally {
            arena.close();
        }
        check(err, "cs_close");
    }

    // ---- reading cs_insn / cs_detail ------------------------------------------------------------

    private Instruction readInstruction() {
        int length = insnLength();
        long x86 = Abi.DETAIL_X86;
        int count = Byte.toUnsignedInt(detail.get(JAVA_BYTE, x86 + Abi.X86_OP_COUNT));
        if (count > Abi.X86_MAX_OPERANDS) {
            throw abiMismatch("cs_x86.op_count = " + count);
        }
        Operand[] operands = new Operand[count];
        for (int i = 0; i < count; i++) {
            operands[i] = readOperand(x86 + Abi.X86_OPERANDS + i * Abi.OP_SIZE);
        }
        var prefixes = new Instruction.Prefixes(
                ubyte(x86 + Abi.X86_PREFIX), ubyte(x86 + Abi.X86_PREFIX + 1),
                ubyte(x86 + Abi.X86_PREFIX + 2) != 0, ubyte(x86 + Abi.X86_PREFIX + 3) != 0,
                ubyte(x86 + Abi.X86_REX));
        return new Instruction(
                insn.get(JAVA_LONG, Abi.INSN_ADDRESS),
                length,
                insn.asSlice(Abi.INSN_BYTES, length).toArray(JAVA_BYTE),
                insn.get(JAVA_INT, Abi.INSN_ID),
                insn.getString(Abi.INSN_MNEMONIC),
                insn.getString(Abi.INSN_OP_STR),
                prefixes,
                ubyte(x86 + Abi.X86_ADDR_SIZE),
                List.of(operands));
    }

    private Operand readOperand(long op) {
        int size = ubyte(op + Abi.OP_BYTES);
        long value = op + Abi.OP_VALUE;
        return switch (detail.get(JAVA_INT, op + Abi.OP_TYPE)) {
            case Abi.X86_OP_REG -> new Operand.Register(operandRegister(detail.get(JAVA_INT, value)), size);
            case Abi.X86_OP_IMM -> new Operand.Immediate(detail.get(JAVA_LONG, value), size);
            case Abi.X86_OP_MEM -> new Operand.Memory(
                    operandRegister(detail.get(JAVA_INT, value + Abi.MEM_SEGMENT)),
                    operandRegister(detail.get(JAVA_INT, value + Abi.MEM_BASE)),
                    operandRegister(detail.get(JAVA_INT, value + Abi.MEM_INDEX)),
                    detail.get(JAVA_INT, value + Abi.MEM_SCALE),
                    detail.get(JAVA_LONG, value + Abi.MEM_DISP),
                    size);
            default -> throw abiMismatch("cs_x86_op.type = " + detail.get(JAVA_INT, op + Abi.OP_TYPE));
        };
    }

    /** A register id out of an operand: null for X86_REG_INVALID; an unknown id means a bad layout. */
    private String operandRegister(int id) {
        if (id == Abi.X86_REG_INVALID) {
            return null;
        }
        String name = nameOf(id);
        if (name == null) {
            throw abiMismatch("register id " + id);
        }
        return name;
    }

    /** cs_reg_name of {@code id}, asked once; null for an id out of range or one capstone does not name. */
    private String nameOf(int id) {
        if (id <= Abi.X86_REG_INVALID || id >= registerNames.length) {
            return null;
        }
        String name = registerNames[id];
        if (name == null) {
            name = cString(callRegName(id));
            registerNames[id] = name == null ? NO_NAME : name;
        }
        return name == NO_NAME ? null : name;
    }

    private int ubyte(long offset) {
        return Byte.toUnsignedInt(detail.get(JAVA_BYTE, offset));
    }

    private static CapstoneException abiMismatch(String what) {
        return new CapstoneException("capstone returned " + what
                + ": libcapstone's struct layout disagrees with capstone 4.0.2's, which this binding reads",
                CapstoneException.NOT_A_CS_ERR);
    }

    // ---- downcalls --------------------------------------------------------------------------------

    private static Lib lib() {
        if (LIB == null) {
            // A fresh exception, so that its stack trace shows the caller.
            throw new CapstoneException(LOAD_FAILURE.getMessage(), LOAD_FAILURE.getCause());
        }
        return LIB;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("this Capstone handle is closed");
        }
    }

    private int callOption(int type, long value) {
        return (int) LIB.option().call(handle, type, value);
    }

    private MemorySegment callMalloc() {
        return MemorySegment.ofAddress(LIB.malloc().call(handle));
    }

    private int callErrno() {
        return (int) LIB.errno().call(handle);
    }

    private MemorySegment callRegName(int id) {
        return MemorySegment.ofAddress(LIB.regName().call(handle, id));
    }

    private static void callFree(MemorySegment insn) {
        LIB.free().call(pointer(insn), 1L);
    }

    /** cs_close takes the handle by pointer (and zeroes it). */
    private int callClose() {
        return (int) LIB.close().call(pointer(handleCell));
    }

    /** Throws when {@code err} is not CS_ERR_OK, with capstone's own text for it (cs_strerror). */
    static void check(int err, String call) {
        if (err != Abi.CS_ERR_OK) {
            String text = cString(MemorySegment.ofAddress(LIB.strerror().call(err)));
            throw new CapstoneException(call + " failed: " + text + " (cs_err " + err + ")", err);
        }
    }

    /** A NUL-terminated string that capstone owns (static tables), or null for NULL. */
    private static String cString(MemorySegment pointer) {
        return pointer.equals(MemorySegment.NULL) ? null : pointer.reinterpret(Integer.MAX_VALUE).getString(0);
    }
}
