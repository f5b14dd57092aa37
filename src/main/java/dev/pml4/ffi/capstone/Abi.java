package dev.pml4.ffi.capstone;

/**
 * Capstone 4.0.2's ABI on x86-64 Linux: enum values from {@code capstone.h} / {@code x86.h}, and the
 * byte offsets of the structs this binding reads.
 *
 * <p>Why hand-written offsets and not a jextract'ed layout: the binding reads a dozen fields out of
 * three structs, and these numbers are the whole contract with the C side. They were measured with
 * {@code offsetof}/{@code sizeof} against Debian's libcapstone-dev 4.0.2
 * ({@code /usr/include/capstone}). Capstone 5 reorders {@code cs_insn}/{@code cs_x86}, so
 * {@link Capstone#openX86_64()} refuses any library whose {@code cs_version} is not 4.0, and
 * {@code CapstoneAbiTest} decodes known bytes so that a layout disagreement fails loudly instead of
 * producing plausible garbage.
 */
final class Abi {
    private Abi() {}

    /** The soname we load: Debian's libcapstone4 package. */
    static final String LIBRARY = "libcapstone.so.4";
    /** cs_version() must report this major.minor; {@code CS_API_MAJOR}/{@code CS_API_MINOR} in capstone.h. */
    static final int API_MAJOR = 4;
    static final int API_MINOR = 0;

    // ---- capstone.h enums -------------------------------------------------------------------
    /** {@code cs_arch.CS_ARCH_X86} (capstone.h: ARM=0, ARM64=1, MIPS=2, X86=3). */
    static final int CS_ARCH_X86 = 3;
    /** {@code cs_mode.CS_MODE_64 = 1 << 3} (capstone.h). */
    static final int CS_MODE_64 = 1 << 3;
    /** {@code cs_mode.CS_MODE_32 = 1 << 2} (capstone.h). */
    static final int CS_MODE_32 = 1 << 2;
    /** {@code cs_opt_type.CS_OPT_MODE = 3} (capstone.h): changes the mode of an open handle. */
    static final int CS_OPT_MODE = 3;
    /** {@code cs_opt_type.CS_OPT_DETAIL} (capstone.h: INVALID=0, SYNTAX=1, DETAIL=2). */
    static final int CS_OPT_DETAIL = 2;
    /** {@code cs_opt_value.CS_OPT_ON = 3} (capstone.h). */
    static final long CS_OPT_ON = 3;
    /** {@code cs_err.CS_ERR_OK = 0} (capstone.h). */
    static final int CS_ERR_OK = 0;

    // ---- x86.h enums ------------------------------------------------------------------------
    /** {@code x86_reg.X86_REG_INVALID = 0}: "no register" in operands and memory references. */
    static final int X86_REG_INVALID = 0;
    /** {@code x86_reg.X86_REG_ENDING}: one past the last register id in capstone 4.0.2's x86.h. */
    static final int X86_REG_ENDING = 242;
    /** {@code x86_op_type}: X86_OP_INVALID=0, X86_OP_REG=1, X86_OP_IMM=2, X86_OP_MEM=3 (x86.h). */
    static final int X86_OP_REG = 1;
    static final int X86_OP_IMM = 2;
    static final int X86_OP_MEM = 3;

    // ---- struct cs_insn (capstone.h), sizeof = 240 ------------------------------------------
    static final long INSN_SIZE = 240;
    static final long INSN_ID = 0;          // unsigned int
    static final long INSN_ADDRESS = 8;     // uint64_t
    static final long INSN_SIZE_FIELD = 16; // uint16_t
    static final long INSN_BYTES = 18;      // uint8_t[16]
    static final int INSN_BYTES_LEN = 16;
    static final long INSN_MNEMONIC = 34;   // char[32] (CS_MNEMONIC_SIZE)
    static final long INSN_OP_STR = 66;     // char[160]
    static final long INSN_DETAIL = 232;    // cs_detail *

    // ---- struct cs_detail (capstone.h), sizeof = 1848 ---------------------------------------
    static final long DETAIL_SIZE = 1848;
    /** Offset of the {@code cs_x86 x86} member of the architecture union. */
    static final long DETAIL_X86 = 80;

    // ---- struct cs_x86 (x86.h), relative to its start ---------------------------------------
    static final long X86_PREFIX = 0;      // uint8_t[4]: rep/lock, segment, opsize, addrsize
    static final long X86_REX = 8;         // uint8_t, 0 when absent
    static final long X86_ADDR_SIZE = 9;   // uint8_t, bytes
    static final long X86_OP_COUNT = 64;   // uint8_t
    static final long X86_OPERANDS = 72;   // cs_x86_op[8]
    static final int X86_MAX_OPERANDS = 8;

    // ---- struct cs_x86_op (x86.h), sizeof = 48 ----------------------------------------------
    static final long OP_SIZE = 48;
    static final long OP_TYPE = 0;         // x86_op_type (u32)
    static final long OP_VALUE = 8;        // union { x86_reg reg; int64_t imm; x86_op_mem mem; }
    static final long OP_BYTES = 32;       // uint8_t size, in bytes

    // ---- struct x86_op_mem (x86.h), relative to OP_VALUE ------------------------------------
    static final long MEM_SEGMENT = 0;     // x86_reg
    static final long MEM_BASE = 4;        // x86_reg
    static final long MEM_INDEX = 8;       // x86_reg
    static final long MEM_SCALE = 12;      // int
    static final long MEM_DISP = 16;       // int64_t
}
