package dev.pml4.debug;

/**
 * The registers a {@link DebugTarget} reads and writes: the x86-64 set that gdb's
 * {@code i386:x86-64} description names, less the x87/SSE state, plus the system registers pml4
 * keeps in Java. Values are always passed as a {@code long}: segment registers hold the selector
 * (bits 15:0), {@code EFLAGS} holds all of RFLAGS.
 */
public enum Register {
    RAX(Group.GENERAL), RBX(Group.GENERAL), RCX(Group.GENERAL), RDX(Group.GENERAL),
    RSI(Group.GENERAL), RDI(Group.GENERAL), RBP(Group.GENERAL), RSP(Group.GENERAL),
    R8(Group.GENERAL), R9(Group.GENERAL), R10(Group.GENERAL), R11(Group.GENERAL),
    R12(Group.GENERAL), R13(Group.GENERAL), R14(Group.GENERAL), R15(Group.GENERAL),
    RIP(Group.GENERAL),
    /** RFLAGS; gdb shows the low 32 bits as {@code eflags}. */
    EFLAGS(Group.GENERAL),
    CS(Group.SEGMENT), SS(Group.SEGMENT), DS(Group.SEGMENT), ES(Group.SEGMENT), FS(Group.SEGMENT), GS(Group.SEGMENT),
    FS_BASE(Group.SEGMENT), GS_BASE(Group.SEGMENT),
    CR0(Group.SYSTEM), CR2(Group.SYSTEM), CR3(Group.SYSTEM), CR4(Group.SYSTEM), CR8(Group.SYSTEM),
    /** IA32_EFER (MSR 0xC0000080). */
    EFER(Group.SYSTEM);

    public enum Group { GENERAL, SEGMENT, SYSTEM }

    private final Group group;

    Register(Group group) {
        this.group = group;
    }

    public Group group() {
        return group;
    }

    /** The name gdb and people use: {@code rax}, {@code fs_base}, {@code cr3}. */
    public String gdbName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
