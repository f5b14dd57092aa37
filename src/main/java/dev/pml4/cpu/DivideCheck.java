package dev.pml4.cpu;

import dev.pml4.ffi.unicorn.X86Reg;

import java.math.BigInteger;

/**
 * DIV and IDIV are checked before the engine runs them: a zero divisor or a quotient too large for
 * the destination raises #DE (SDM Vol. 2A DIV, IDIV) from pml4, because an exception QEMU raises
 * itself is never marked delivered (DESIGN.md, fact 1). When the division is fine the engine runs it.
 */
final class DivideCheck {
    private final Cpu cpu;
    private final SystemInstructions system;

    DivideCheck(Cpu cpu, SystemInstructions system) {
        this.cpu = cpu;
        this.system = system;
    }

    /**
     * @param bytes the instruction; {@code opcode} indexes its F6/F7 byte
     * @param byteForm F6 (8-bit operand) rather than F7
     */
    void check(long rip, byte[] bytes, int opcode, boolean byteForm, boolean rexW, boolean rexB, boolean opsize) {
        int modrm = bytes[opcode + 1] & 0xff;
        boolean signed = ((modrm >> 3) & 7) == 7;
        int bits = byteForm ? 8 : rexW ? 64 : opsize ? 16 : 32;
        boolean rex = false;
        for (int k = 0; k < opcode; k++) {
            rex |= (bytes[k] & 0xf0) == 0x40;
        }
        long divisor = operand(rip, modrm, bits, rexB, rex);
        long mask = bits == 64 ? -1L : (1L << bits) - 1;
        divisor &= mask;
        String name = (signed ? "IDIV" : "DIV") + " of a " + bits + "-bit operand";
        if (divisor == 0) {
            throw new ArchitecturalException(ArchitecturalException.DE, -1, 0, name + " by zero");
        }
        long rax = cpu.engine.readRegister(X86Reg.RAX);
        long rdx = cpu.engine.readRegister(X86Reg.RDX);
        BigInteger high = bits == 8 ? BigInteger.valueOf((rax >> 8) & 0xff) : unsigned(rdx & mask);
        BigInteger low = bits == 8 ? BigInteger.valueOf(rax & 0xff) : unsigned(rax & mask);
        BigInteger dividend = high.shiftLeft(bits).or(low);
        BigInteger quotient;
        boolean overflow;
        if (signed) {
            BigInteger signedDividend = dividend.testBit(2 * bits - 1) ? dividend.subtract(BigInteger.ONE.shiftLeft(2 * bits)) : dividend;
            BigInteger signedDivisor = BigInteger.valueOf(divisor << (64 - bits) >> (64 - bits)); // sign-extended
            quotient = signedDividend.divide(signedDivisor); // truncates toward zero, as IDIV does
            BigInteger max = BigInteger.ONE.shiftLeft(bits - 1).subtract(BigInteger.ONE);
            BigInteger min = BigInteger.ONE.shiftLeft(bits - 1).negate();
            overflow = quotient.compareTo(max) > 0 || quotient.compareTo(min) < 0;
        } else {
            quotient = dividend.divide(unsigned(divisor));
            overflow = quotient.bitLength() > bits;
        }
        if (overflow) {
            throw new ArchitecturalException(ArchitecturalException.DE, -1, 0, name + ": the quotient does not fit");
        }
    }

    private long operand(long rip, int modrm, int bits, boolean rexB, boolean rex) {
        if ((modrm >> 6) == 3) {
            int rm = (modrm & 7) | (rexB ? 8 : 0);
            if (bits == 8 && !rex && rm >= 4 && rm <= 7) {
                return system.readGpr(rm - 4) >>> 8; // AH, CH, DH, BH
            }
            return system.readGpr(rm);
        }
        byte[] value = cpu.readVirtual(system.effectiveAddress(rip), bits / 8);
        long v = 0;
        for (int i = value.length - 1; i >= 0; i--) {
            v = v << 8 | (value[i] & 0xff);
        }
        return v;
    }

    private static BigInteger unsigned(long v) {
        BigInteger b = BigInteger.valueOf(v);
        return v < 0 ? b.add(BigInteger.ONE.shiftLeft(64)) : b;
    }
}
