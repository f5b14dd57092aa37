package dev.pml4.ffi.capstone;

/**
 * One operand of a decoded instruction, as capstone's x86 detail ({@code cs_x86_op} in x86.h)
 * describes it, in Intel order (destination first).
 *
 * <p>Register names are capstone's lowercase names ({@code "rax"}, {@code "rip"}, {@code "cr3"}),
 * so callers can match on strings without knowing capstone's register ids. Sizes are in bytes and
 * are capstone's {@code cs_x86_op.size}: the size of the data the operand stands for, which is not
 * always its encoded width (capstone 4 reports {@code int 0x80}'s immediate as 8 bytes, and the
 * target of {@code call rel32} as an 8-byte absolute address).
 */
public sealed interface Operand permits Operand.Register, Operand.Immediate, Operand.Memory {

    /** Bytes of data the operand stands for, as capstone reports it. */
    int size();

    /** A register operand, e.g. {@code cr3} in {@code mov cr3, rax}. */
    record Register(String name, int size) implements Operand {
        public Register {
            if (name == null) {
                throw new IllegalArgumentException("a register operand needs a register");
            }
        }
    }

    /**
     * An immediate. For relative branches capstone has already added the instruction's address,
     * so {@code value} is the absolute target.
     */
    record Immediate(long value, int size) implements Operand {}

    /**
     * A memory reference {@code segment:[base + index*scale + displacement]}.
     *
     * <p>{@code segment}, {@code base} and {@code index} are null where absent. In 64-bit mode
     * {@code segment} is null unless the instruction carries an override (e.g. {@code fs}).
     * {@code scale} is 1 when there is no index (capstone's convention). A RIP-relative reference
     * has base {@code "rip"} and the raw displacement; the effective address is the <em>next</em>
     * instruction's address plus {@code displacement}.
     */
    record Memory(String segment, String base, String index, int scale, long displacement, int size)
            implements Operand {}
}
