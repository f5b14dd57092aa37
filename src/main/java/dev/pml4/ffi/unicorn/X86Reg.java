package dev.pml4.ffi.unicorn;

/** {@code uc_x86_reg} ids of unicorn/x86.h 2.0.1 (values read from the header with a C program). */
public enum X86Reg {
    RAX(35), RCX(38), RDX(40), RBX(37), RSP(44), RBP(36), RSI(43), RDI(39),
    R8(106), R9(107), R10(108), R11(109), R12(110), R13(111), R14(112), R15(113),
    RIP(41), RFLAGS(253),
    CS(11), DS(17), ES(28), FS(32), GS(33), SS(49),
    CR0(50), CR2(52), CR3(53), CR4(54), CR8(58),
    FS_BASE(250), GS_BASE(251), MXCSR(249),
    /** Descriptor-table registers: read and written as {@code uc_x86_mmr}. */
    IDTR(242), GDTR(243), LDTR(244), TR(245),
    /** Read and written as {@code uc_x86_msr}. */
    MSR(248);

    /** The sixteen general-purpose registers in the encoding order of ModRM/REX (SDM Vol. 2A 2.1.5). */
    public static final X86Reg[] GPR_BY_ENCODING = {RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15};

    public final int id;

    X86Reg(int id) {
        this.id = id;
    }
}
