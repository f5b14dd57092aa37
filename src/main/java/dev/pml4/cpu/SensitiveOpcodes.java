package dev.pml4.cpu;

/**
 * Which instructions must not run natively in the engine and are emulated in Java instead (the
 * engine always runs at QEMU CPL 0 with QEMU's paging off, DESIGN.md). Classification looks at the
 * opcode bytes after the legacy and REX prefixes (SDM Vol. 2A 2.1 and 2.2.1), so that the per-
 * instruction hook pays one or two table lookups for the common case.
 */
final class SensitiveOpcodes {
    /** Legacy prefixes (SDM Vol. 2A 2.1.1) and REX (2.2.1): the prefixes of 64-bit code. */
    static final boolean[] PREFIX = new boolean[256];
    /** Legacy prefixes only: in 32-bit code 0x40-0x4F are INC and DEC (SDM Vol. 2A 2.2.1). */
    static final boolean[] PREFIX_32 = new boolean[256];
    /** One-byte opcodes handled in Java in 64-bit code; 0x0F defers to {@link #TWO_BYTE}. */
    static final boolean[] ONE_BYTE = new boolean[256];
    /**
     * One-byte opcodes handled in Java in 32-bit code: those of 64-bit code, plus the far transfers
     * and segment loads that 64-bit mode does not have (they are #UD there, which the engine reports).
     */
    static final boolean[] ONE_BYTE_32 = new boolean[256];
    /** Second byte of 0x0F-escaped opcodes handled in Java. */
    static final boolean[] TWO_BYTE = new boolean[256];
    /** One-byte opcodes that are ordinary at CPL 0 but governed by IOPL at CPL 3. */
    static final boolean[] USER_ONE_BYTE = new boolean[256];

    static {
        for (int b : new int[]{0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3}) {
            PREFIX[b] = true;
        }
        System.arraycopy(PREFIX, 0, PREFIX_32, 0, 256);
        for (int b = 0x40; b <= 0x4f; b++) {
            PREFIX[b] = true;
        }
        ONE_BYTE[0x0f] = true;
        ONE_BYTE[0xf4] = true; // HLT: ends the run or waits for an interrupt
        ONE_BYTE[0xcc] = true; // INT3
        ONE_BYTE[0xcd] = true; // INT n
        ONE_BYTE[0xf1] = true; // INT1
        ONE_BYTE[0xcf] = true; // IRET: the privilege level is pml4's
        ONE_BYTE[0xf6] = true; // group 3: DIV/IDIV are checked for #DE first (the rest is let through)
        ONE_BYTE[0xf7] = true;
        ONE_BYTE[0x8c] = true; // MOV r/m, Sreg: the CS and SS the guest sees are pml4's
        ONE_BYTE[0x8e] = true; // MOV Sreg, r/m: loading SS at CPL 3 would fault in the engine
        ONE_BYTE[0xfb] = true; // STI: interrupts are looked for after the next instruction
        ONE_BYTE[0x9d] = true; // POPF: IF may come on (and at CPL 3, IOPL rules)
        ONE_BYTE[0xca] = true; // RETF imm16, RETF: a far transfer, checked in Java (FarTransfers)
        ONE_BYTE[0xcb] = true;
        ONE_BYTE[0xff] = true; // group 5: CALL far (/3) and JMP far (/5); the rest is let through
        System.arraycopy(ONE_BYTE, 0, ONE_BYTE_32, 0, 256);
        for (int b : new int[]{0xea, 0x9a, 0x07, 0x17, 0x1f, 0xc4, 0xc5}) {
            ONE_BYTE_32[b] = true; // JMP ptr16:32, CALL ptr16:32, POP ES/SS/DS, LES, LDS
        }
        for (int b : new int[]{0xfa, 0xfb, 0x9d, 0xe4, 0xe5, 0xe6, 0xe7, 0xec, 0xed, 0xee, 0xef, 0x6c, 0x6d, 0x6e, 0x6f}) {
            USER_ONE_BYTE[b] = true; // CLI, STI, POPF, IN, OUT, INS, OUTS
        }
        TWO_BYTE[0x00] = true; // group 6: LLDT, LTR are privileged
        TWO_BYTE[0x08] = true; // INVD
        TWO_BYTE[0x09] = true; // WBINVD
        TWO_BYTE[0x0b] = true; // UD2: #UD from pml4, not from the engine
        TWO_BYTE[0x01] = true; // group 7: SMSW, LMSW, INVLPG, RDTSCP (others run natively)
        TWO_BYTE[0x05] = true; // SYSCALL
        TWO_BYTE[0x06] = true; // CLTS
        TWO_BYTE[0x07] = true; // SYSRET
        TWO_BYTE[0x20] = true; // MOV r, CRn
        TWO_BYTE[0x21] = true; // MOV r, DRn
        TWO_BYTE[0x22] = true; // MOV CRn, r
        TWO_BYTE[0x23] = true; // MOV DRn, r
        TWO_BYTE[0x30] = true; // WRMSR
        TWO_BYTE[0x31] = true; // RDTSC: virtual time, never the host clock
        TWO_BYTE[0x32] = true; // RDMSR
        TWO_BYTE[0x33] = true; // RDPMC
        TWO_BYTE[0x34] = true; // SYSENTER
        TWO_BYTE[0x35] = true; // SYSEXIT
        TWO_BYTE[0x38] = true; // 66 0F 38 82: INVPCID (other 0F 38 run natively)
        TWO_BYTE[0xa2] = true; // CPUID: pml4's processor, not the engine's
        TWO_BYTE[0xa1] = true; // POP FS: a segment load, checked in Java
        TWO_BYTE[0xa9] = true; // POP GS
        TWO_BYTE[0xb2] = true; // LSS
        TWO_BYTE[0xb4] = true; // LFS
        TWO_BYTE[0xb5] = true; // LGS
        TWO_BYTE[0xae] = true; // group 15: LDMXCSR and FXRSTOR check MXCSR's reserved bits (the rest is let through)

    }

    private SensitiveOpcodes() {
    }

    /** {@link #anyPrivilege}: the instruction runs natively whatever the privilege level. */
    static final int NOT_SENSITIVE = 0;
    /**
     * {@link #anyPrivilege}: Java must see the instruction, but what it does changes nothing the
     * instructions after it depend on being looked at (DIV and IDIV: a #DE check, then the engine
     * runs them), so only the instruction itself needs the code hook.
     */
    static final int SENSITIVE_ALONE = 1;
    /**
     * {@link #anyPrivilege}: Java must see the instruction and, when the engine then runs it, the
     * instructions after it in the block too: STI, POPF, port I/O and CLAC/STAC change what the
     * next instruction boundary looks at (an interrupt may be due, RFLAGS.AC may have changed).
     */
    static final int SENSITIVE_TO_BLOCK_END = 2;

    /**
     * Groups 3 (F6, F7) and 5 (FF) by their ModRM byte: only DIV and IDIV (/6, /7) and CALL and
     * JMP far (/3, /5) are Java's; the rest (TEST, NOT, NEG, MUL, INC, DEC, near CALL and JMP,
     * PUSH) the engine runs. Both the hook and fast mode's scan ask here.
     */
    static boolean groupFormIsJavas(int opcode, int modrm) {
        int reg = (modrm >> 3) & 7;
        return opcode == 0xff ? reg == 3 || reg == 5 : reg >= 6;
    }

    /**
     * Where the opcode of the instruction at the start of {@code code} begins: after its prefixes
     * ({@link #PREFIX} in 64-bit code, {@link #PREFIX_32} in 32-bit code), at most 14 of them.
     */
    static int opcodeStart(byte[] code, boolean[] prefix) {
        int i = 0;
        while (i < code.length - 1 && i < 14 && prefix[code[i] & 0xff]) {
            i++;
        }
        return i;
    }

    /** Group 15 (0F AE) by its ModRM byte: FXRSTOR (/1) and LDMXCSR (/2) from memory are Java's. */
    static boolean mxcsrLoadForm(int modrm) {
        int reg = (modrm >> 3) & 7;
        return (modrm >> 6) != 3 && (reg == 1 || reg == 2);
    }

    /**
     * Fast mode's scan: whether the instruction starting {@code code} may need Java at any privilege
     * level (a superset of what the per-instruction hook hands to Java, so that a block translated
     * at CPL 0 stays right when it runs at CPL 3), and whether the instructions after it need the
     * hook as well. Groups 3 and 5 are looked at by their ModRM reg field, as the hook does: only
     * DIV and IDIV (F6/F7 /6, /7) and CALL and JMP far (FF /3, /5) are Java's; a loop ending in
     * {@code dec ecx; jnz} must not go through the hook.
     */
    static int anyPrivilege(byte[] code) {
        int i = opcodeStart(code, PREFIX);
        int b = code[i] & 0xff;
        if (USER_ONE_BYTE[b]) {
            return SENSITIVE_TO_BLOCK_END;
        }
        if (!ONE_BYTE[b]) {
            return NOT_SENSITIVE;
        }
        return switch (b) {
            case 0x0f -> i + 1 >= code.length || !TWO_BYTE[code[i + 1] & 0xff] ? NOT_SENSITIVE
                    : (code[i + 1] & 0xff) == 0xae ? (i + 2 >= code.length || mxcsrLoadForm(code[i + 2] & 0xff) ? SENSITIVE_ALONE : NOT_SENSITIVE)
                    : SENSITIVE_TO_BLOCK_END;
            case 0xf6, 0xf7 -> i + 1 >= code.length || groupFormIsJavas(b, code[i + 1] & 0xff) ? SENSITIVE_ALONE : NOT_SENSITIVE;
            case 0xff -> i + 1 >= code.length || groupFormIsJavas(b, code[i + 1] & 0xff) ? SENSITIVE_TO_BLOCK_END : NOT_SENSITIVE;
            default -> SENSITIVE_TO_BLOCK_END;
        };
    }
}
