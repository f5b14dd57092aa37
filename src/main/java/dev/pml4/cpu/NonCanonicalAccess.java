package dev.pml4.cpu;

import dev.pml4.ffi.capstone.Capstone;
import dev.pml4.ffi.capstone.Instruction;
import dev.pml4.ffi.capstone.Operand;

import java.util.Locale;
import java.util.Set;

/**
 * Which exception a data access at a non-canonical address raises (SDM Vol. 3A 3.3.7.1 and the
 * "64-Bit Mode Exceptions" of every instruction in Vol. 2): #SS(0) when the reference uses the SS
 * segment, #GP(0) otherwise. A reference uses SS when it names SS explicitly, or when it has no
 * segment override and its base is RSP or RBP (Vol. 1 3.7.4.1, default segment selection), or when
 * it is the stack access of PUSH, POP, CALL, RET, ENTER, LEAVE or the like.
 */
final class NonCanonicalAccess {
    private static final Set<String> STACK_BASES = Set.of("rsp", "rbp", "esp", "ebp");
    /** Instructions whose implicit memory access is the stack (Vol. 1 6.2). */
    private static final Set<String> STACK_INSTRUCTIONS = Set.of("push", "pop", "pushfq", "popfq", "pushf", "popf",
            "call", "ret", "enter", "leave", "iretq", "iretd", "iret", "retf", "retfq", "lcall", "lret");
    /** How far the implicit stack access lies from RSP at most (ENTER with a nesting level reaches further; rare). */
    private static final long STACK_REACH = 64;

    private final Capstone capstone;

    NonCanonicalAccess(Capstone capstone) {
        this.capstone = capstone;
    }

    /** The fault for the access at {@code address} by the instruction at {@code rip}. */
    ArchitecturalException fault(byte[] code, long rip, boolean bits32, long address, long rsp, String what) {
        boolean stack = capstone.decode(code, rip, bits32).map(insn -> usesStack(insn, address, rsp)).orElse(false);
        String reason = String.format("%s of the non-canonical address 0x%x", what, address);
        return stack ? new ArchitecturalException(ArchitecturalException.SS, 0, 0, reason + " through SS")
                : ArchitecturalException.gp(reason);
    }

    /**
     * What to add to RSP to take back the stack effect of the near branch encoded at the start of
     * {@code code} when it faults instead of going to its target: CALL's push (+8), RET's pop and
     * its immediate (-8 - imm16); nothing for JMP and the rest.
     */
    long stackUndo(byte[] code, long rip, boolean bits32) {
        return capstone.decode(code, rip, bits32).map(insn -> {
            String mnemonic = insn.mnemonic().toLowerCase(Locale.ROOT);
            int slot = bits32 ? 4 : 8;
            if (mnemonic.equals("call")) {
                return (long) slot;
            }
            if (mnemonic.equals("ret")) {
                long imm = insn.operands().stream().filter(o -> o instanceof Operand.Immediate)
                        .mapToLong(o -> ((Operand.Immediate) o).value()).findFirst().orElse(0);
                return -(slot + (imm & 0xffff));
            }
            return 0L;
        }).orElse(0L);
    }

    static boolean usesStack(Instruction insn, long address, long rsp) {
        String mnemonic = insn.mnemonic().toLowerCase(Locale.ROOT);
        if (STACK_INSTRUCTIONS.contains(mnemonic) && Math.abs(address - rsp) <= STACK_REACH) {
            return true; // its own access to the stack (the non-canonical address is RSP's)
        }
        for (Operand op : insn.operands()) {
            if (op instanceof Operand.Memory m) {
                if (m.segment() != null) {
                    return m.segment().equals("ss");
                }
                return m.base() != null && STACK_BASES.contains(m.base());
            }
        }
        return STACK_INSTRUCTIONS.contains(mnemonic);
    }
}
