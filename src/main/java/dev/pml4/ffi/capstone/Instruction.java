package dev.pml4.ffi.capstone;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * One decoded x86-64 instruction, copied out of capstone's {@code cs_insn} so that it stays valid
 * after the next decode reuses the native buffer.
 *
 * @param address     the guest virtual address it was decoded at ({@code cs_insn.address})
 * @param length      its length in bytes, 1 to 15 ({@code cs_insn.size})
 * @param bytes       a copy of its encoding, {@code length} bytes
 * @param id          capstone's instruction id ({@code x86_insn} in x86.h, e.g. X86_INS_MOV); stable
 *                    only within capstone 4, so prefer {@code mnemonic} in anything user-facing
 * @param mnemonic    e.g. {@code "mov"}, {@code "iretq"}, {@code "lock cmpxchg"} (capstone folds
 *                    lock/rep prefixes into the mnemonic)
 * @param operandText capstone's Intel-syntax operand text, e.g. {@code "cr3, rax"}; empty if none
 * @param prefixes    the legacy and REX prefixes capstone saw
 * @param addressSize the effective address size in bytes (8, or 4 under a 0x67 prefix)
 * @param operands    the operands, destination first
 */
public record Instruction(long address, int length, byte[] bytes, int id, String mnemonic, String operandText,
                          Prefixes prefixes, int addressSize, List<Operand> operands) {

    public Instruction {
        Objects.requireNonNull(mnemonic, "mnemonic");
        Objects.requireNonNull(operandText, "operandText");
        Objects.requireNonNull(prefixes, "prefixes");
        bytes = bytes.clone();
        operands = List.copyOf(operands);
        if (bytes.length != length) {
            throw new IllegalArgumentException("length " + length + " but " + bytes.length + " bytes");
        }
    }

    /**
     * The prefixes of an instruction, from {@code cs_x86.prefix[4]} and {@code cs_x86.rex} (x86.h).
     * Each legacy field holds the raw prefix byte, or 0 when absent.
     *
     * @param lockRep        group 1: 0xF0 LOCK, 0xF2 REPNE, 0xF3 REP/REPE ({@code prefix[0]})
     * @param segment        group 2: 0x26 ES, 0x2E CS, 0x36 SS, 0x3E DS, 0x64 FS, 0x65 GS ({@code prefix[1]})
     * @param operandSize    group 3: a 0x66 operand-size override (also a mandatory prefix, as in invpcid)
     * @param addressSize    group 4: a 0x67 address-size override
     * @param rex            the REX byte (0x40..0x4F), or 0 when absent
     */
    public record Prefixes(int lockRep, int segment, boolean operandSize, boolean addressSize, int rex) {
        /** REX.W: 64-bit operand size, the difference between {@code iretq} and {@code iretd}. */
        public boolean rexW() {
            return rex != 0 && (rex & 0x08) != 0; // REX = 0100WRXB
        }

        public boolean lock() {
            return lockRep == 0xF0;
        }

        public boolean rep() {
            return lockRep == 0xF3;
        }

        public boolean repne() {
            return lockRep == 0xF2;
        }
    }

    /** A copy of the encoding; the record never hands out its own array. */
    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    /** Where the next instruction starts, and what RIP-relative displacements are relative to. */
    public long nextAddress() {
        return address + length;
    }

    /** Capstone's Intel-syntax text, e.g. {@code "mov cr3, rax"}. */
    public String text() {
        return operandText.isEmpty() ? mnemonic : mnemonic + " " + operandText;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Instruction that
                && address == that.address && length == that.length && Arrays.equals(bytes, that.bytes)
                && id == that.id && mnemonic.equals(that.mnemonic) && operandText.equals(that.operandText)
                && prefixes.equals(that.prefixes) && addressSize == that.addressSize
                && operands.equals(that.operands);
    }

    @Override
    public int hashCode() {
        return Objects.hash(address, Arrays.hashCode(bytes), mnemonic, operandText, operands);
    }

    @Override
    public String toString() {
        return String.format("0x%x: %s [%s] %s", address, text(), HexFormat.ofDelimiter(" ").formatHex(bytes),
                operands);
    }
}
