package dev.pml4.cpu;

/**
 * Instructions that read a memory operand and write it back (ADD [m], r; INC [m]; XCHG; XADD;
 * CMPXCHG; BTS; shifts and rotates of memory, ...). The processor translates such an operand for
 * writing before it reads it: a #PF there is a write fault, W/R = 1 in the error code even when the
 * page is not present (SDM vol. 3A 4.7: W/R is the access "causing the page-fault exception"; Bochs
 * translates these operands for read-write at once), and the walk sets D with A (4.8). The engine
 * reads first and writes later, so pml4 asks here when the engine's read misses.
 *
 * <p>Classified by opcode and ModRM (SDM vol. 2, appendix A, the opcode maps): only forms whose
 * ModRM names memory (mod != 3) and whose memory operand is the destination.
 */
final class ReadModifyWrite {
    private ReadModifyWrite() {
    }

    /** Whether the instruction at the start of {@code code} reads and writes its memory operand. */
    static boolean isReadModifyWrite(byte[] code, boolean bits32) {
        int i = SensitiveOpcodes.opcodeStart(code, bits32 ? SensitiveOpcodes.PREFIX_32 : SensitiveOpcodes.PREFIX);
        int b = code[i] & 0xff;
        if (b == 0x0f) {
            int b2 = code[i + 1] & 0xff;
            int modrm = code[i + 2] & 0xff;
            if (modrm >>> 6 == 3) {
                return false;
            }
            int reg = (modrm >> 3) & 7;
            return switch (b2) {
                case 0xab, 0xb3, 0xbb -> true;             // BTS, BTR, BTC r/m, r
                case 0xba -> reg >= 5;                     // group 8: BTS, BTR, BTC r/m, imm8 (BT is /4)
                case 0xa4, 0xa5, 0xac, 0xad -> true;       // SHLD, SHRD
                case 0xb0, 0xb1, 0xc0, 0xc1 -> true;       // CMPXCHG, XADD
                case 0xc7 -> reg == 1;                     // group 9: CMPXCHG8B, CMPXCHG16B
                default -> false;
            };
        }
        int modrm = code[i + 1] & 0xff;
        if (modrm >>> 6 == 3) {
            return false;
        }
        int reg = (modrm >> 3) & 7;
        return switch (b) {
            // ADD, OR, ADC, SBB, AND, SUB, XOR with r/m as the destination (CMP only reads)
            case 0x00, 0x01, 0x08, 0x09, 0x10, 0x11, 0x18, 0x19, 0x20, 0x21, 0x28, 0x29, 0x30, 0x31 -> true;
            case 0x80, 0x81, 0x83 -> reg != 7;              // group 1 but CMP
            case 0x86, 0x87 -> true;                        // XCHG
            case 0xc0, 0xc1, 0xd0, 0xd1, 0xd2, 0xd3 -> true; // group 2: rotates and shifts
            case 0xf6, 0xf7 -> reg == 2 || reg == 3;        // group 3: NOT, NEG
            case 0xfe, 0xff -> reg <= 1;                    // groups 4 and 5: INC, DEC
            default -> false;
        };
    }
}
