package dev.pml4.devices;

/**
 * Code page 437, the character set of a PC's VGA ROM font, as Unicode: the glyphs a VGA draws for
 * each byte, so that 0x01 is a smiley and 0xB3 a box-drawing line as on the screen (not the C0
 * control characters of a "Cp437" charset). 0x00 shows as a blank, as on the screen.
 */
public final class CodePage437 {
    private CodePage437() {
    }

    private static final String TABLE =
            " ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼"
            + " !\"#$%&'()*+,-./0123456789:;<=>?"
            + "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_"
            + "`abcdefghijklmnopqrstuvwxyz{|}~⌂"
            + "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒ"
            + "áíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐"
            + "└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀"
            + "αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00A0";

    static {
        if (TABLE.length() != 256) {
            throw new AssertionError("code page 437 table has " + TABLE.length() + " entries");
        }
    }

    public static char toUnicode(int b) {
        return TABLE.charAt(b & 0xFF);
    }
}
