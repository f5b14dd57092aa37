package dev.pml4.cpu;

/**
 * Instructions that must never reach Unicorn 2.0.1's translator: on some invalid forms it aborts
 * the whole process ({@code tcg fatal error}) while translating the block that holds them, before
 * any hook runs; on others it runs what the processor refuses (LOCK MOVSB). Each is an instruction
 * the SDM gives #UD, so pml4 raises #UD for it itself.
 *
 * <p>Two rules cover every form the opcode sweep found (toolchain/sweep/bad-forms.tsv, checked by
 * {@code EngineAbortFormsTest}), by the SDM's own conditions rather than by a list of byte strings,
 * so that other prefixes and encodings of the same instruction are caught too:
 * <ul>
 * <li>a LOCK prefix on anything but the lockable instructions with a memory destination (SDM Vol.
 *     2A, LOCK: "an undefined opcode exception will also be generated if the LOCK prefix is used
 *     with any instruction not in the above list"); QEMU aborts on LOCK CMP, CMPS, BT, and on
 *     BTS/BTR/BTC with a register destination;</li>
 * <li>FF /3 and FF /5 (CALL FAR and JMP FAR) with a register operand: their operand is m16:64
 *     only (SDM Vol. 2A CALL, JMP: "#UD if the operand is a register"); unicorn issue 1716.</li>
 * </ul>
 *
 * <p>Decoding is by prefixes, opcode and ModRM (SDM Vol. 2A 2.1, 2.2.1); REX bytes are prefixes
 * in 64-bit code only (in compatibility mode 40-4F are INC and DEC).
 */
final class EngineAbortForms {
    private static final int LOCK = 0xf0;

    private EngineAbortForms() {
    }

    /**
     * Why the instruction at the start of {@code code} must raise #UD rather than reach the
     * engine, or null when the engine may translate it.
     */
    static String match(byte[] code, boolean longMode) {
        int i = 0;
        boolean lock = false;
        while (i < code.length && i < 14 && isPrefix(code[i] & 0xff, longMode)) {
            lock |= (code[i] & 0xff) == LOCK;
            i++;
        }
        if (i >= code.length) {
            return null;
        }
        int op = code[i] & 0xff;
        boolean escaped = op == 0x0f;
        if (escaped && i + 1 >= code.length) {
            return null;
        }
        int opcode = escaped ? code[i + 1] & 0xff : op;
        int modrmAt = escaped ? i + 2 : i + 1;
        int modrm = modrmAt < code.length ? code[modrmAt] & 0xff : 0;
        boolean memory = (modrm >> 6) != 3;
        int reg = (modrm >> 3) & 7;
        if (!escaped && opcode == 0xff && !memory && (reg == 3 || reg == 5)) {
            return String.format("FF /%d (%s FAR) with a register operand", reg, reg == 3 ? "CALL" : "JMP");
        }
        if (lock && !(memory && lockable(escaped, opcode, reg, longMode))) {
            return "LOCK prefix on an instruction that does not take it"
                    + (memory ? "" : " (or with a register destination)");
        }
        return null;
    }

    static boolean isPrefix(int b, boolean longMode) {
        return switch (b) {
            case 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3 -> true;
            default -> longMode && b >= 0x40 && b <= 0x4f;
        };
    }

    /**
     * The instructions LOCK may prefix, given a memory destination (SDM Vol. 2A, LOCK): ADD, ADC,
     * AND, BTC, BTR, BTS, CMPXCHG, CMPXCHG8B/16B, DEC, INC, NEG, NOT, OR, SBB, SUB, XOR, XADD, XCHG.
     */
    private static boolean lockable(boolean escaped, int opcode, int reg, boolean longMode) {
        if (escaped) {
            return switch (opcode) {
                case 0xab, 0xb3, 0xbb, 0xb0, 0xb1, 0xc0, 0xc1 -> true; // BTS BTR BTC, CMPXCHG, XADD
                case 0xba -> reg >= 5;                                  // BTS BTR BTC imm8 (/4 is BT)
                case 0xc7 -> reg == 1;                                  // CMPXCHG8B/16B
                default -> false;
            };
        }
        return switch (opcode) {
            // ADD OR ADC SBB AND SUB XOR r/m, r (the r, r/m forms have a register destination)
            case 0x00, 0x01, 0x08, 0x09, 0x10, 0x11, 0x18, 0x19, 0x20, 0x21, 0x28, 0x29, 0x30, 0x31 -> true;
            case 0x80, 0x81, 0x83 -> reg != 7;                          // group 1 but CMP
            case 0x82 -> !longMode && reg != 7;                         // invalid in 64-bit mode
            case 0x86, 0x87 -> true;                                    // XCHG
            case 0xf6, 0xf7 -> reg == 2 || reg == 3;                    // NOT, NEG
            case 0xfe, 0xff -> reg <= 1;                                // INC, DEC
            default -> false;
        };
    }
}
