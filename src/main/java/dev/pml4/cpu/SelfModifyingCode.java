package dev.pml4.cpu;

/**
 * A store into the translation block that is running. The x86 sees such a store at the very next
 * fetch of the bytes it changed (SDM vol. 3A, 11.6 "Self-Modifying Code"), and QEMU keeps that
 * promise by abandoning the block at the storing instruction and running that instruction again,
 * alone, before the rest is translated anew. Neither the second start of the store nor the rest
 * of the abandoned block is an instruction the guest retired, yet the engine's code hook sees the
 * store start twice (precise mode would count it twice) and fast mode's block hook has counted the
 * whole block when it began. What tells such a restart from code that really runs an instruction
 * again, or jumps into the middle of its own block, is where the instruction can go next.
 */
final class SelfModifyingCode {
    private SelfModifyingCode() {
    }

    /**
     * Whether the instruction at {@code address}, {@code length} bytes long and encoded at the start
     * of {@code code}, can be followed by the instruction at {@code next}: its fall-through, the
     * target of a relative branch, itself for a REP string instruction (each iteration starts it
     * again), and anything at all for an indirect branch, a return, an interrupt or an instruction
     * Java emulates that transfers control (SDM vol. 2, the instructions' Operation sections).
     */
    static boolean mayContinueAt(byte[] code, long address, int length, long next) {
        int i = SensitiveOpcodes.opcodeStart(code, SensitiveOpcodes.PREFIX);
        boolean rep = false;
        boolean operandSize = false;
        for (int k = 0; k < i; k++) {
            int p = code[k] & 0xff;
            rep |= p == 0xf2 || p == 0xf3;
            operandSize |= p == 0x66;
        }
        long fallThrough = address + length;
        int b = code[i] & 0xff;
        return switch (b) {
            case 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f,
                 0xe0, 0xe1, 0xe2, 0xe3 -> next == fallThrough || next == fallThrough + code[i + 1]; // Jcc, LOOPcc, JrCXZ rel8
            case 0xeb -> next == fallThrough + code[i + 1]; // JMP rel8
            case 0xe8, 0xe9 -> operandSize || next == fallThrough + rel32(code, i + 1); // CALL, JMP rel32
            case 0x0f -> {
                int b2 = code[i + 1] & 0xff;
                if (b2 >= 0x80 && b2 <= 0x8f) {
                    yield operandSize || next == fallThrough || next == fallThrough + rel32(code, i + 2); // Jcc rel32
                }
                // SYSCALL, SYSRET, SYSENTER, SYSEXIT, UD2: Java transfers control
                yield b2 == 0x05 || b2 == 0x07 || b2 == 0x34 || b2 == 0x35 || b2 == 0x0b || next == fallThrough;
            }
            // RET, RETF, INT3, INT n, INTO, IRET, INT1, HLT, far JMP and CALL
            case 0xc2, 0xc3, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xf1, 0xf4, 0xea, 0x9a -> true;
            case 0xff -> {
                int reg = (code[i + 1] >> 3) & 7;
                yield (reg >= 2 && reg <= 5) || next == fallThrough; // CALL, CALLF, JMP, JMPF indirect
            }
            case 0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0x6c, 0x6d, 0x6e, 0x6f ->
                    next == fallThrough || (rep && next == address); // string instructions
            default -> next == fallThrough;
        };
    }

    /**
     * Whether the instruction at the start of {@code code} always goes on with the next one: no
     * branch, return, interrupt, REP string instruction or instruction Java transfers control with.
     * Such an instruction never ends a translation block by itself, so a block holding it alone was
     * cut after it, which only QEMU's restart of a store does inside a running block.
     */
    static boolean fallsThroughOnly(byte[] code, long address, int length) {
        long elsewhere = address + length + 1; // only an instruction that may go anywhere can go there
        return !isBranch(code) && !mayContinueAt(code, address, length, elsewhere) && !mayContinueAt(code, address, length, address);
    }

    /** Relative branches (Jcc, LOOPcc, JrCXZ, JMP, CALL), whose targets {@link #mayContinueAt} checks. */
    private static boolean isBranch(byte[] code) {
        int i = SensitiveOpcodes.opcodeStart(code, SensitiveOpcodes.PREFIX);
        int b = code[i] & 0xff;
        return (b >= 0x70 && b <= 0x7f) || (b >= 0xe0 && b <= 0xe3) || b == 0xe8 || b == 0xe9 || b == 0xeb
                || (b == 0x0f && (code[i + 1] & 0xf0) == 0x80);
    }

    private static int rel32(byte[] code, int at) {
        return (code[at] & 0xff) | (code[at + 1] & 0xff) << 8 | (code[at + 2] & 0xff) << 16 | code[at + 3] << 24;
    }
}
