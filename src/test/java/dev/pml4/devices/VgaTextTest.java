package dev.pml4.devices;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.nio.file.Path;

import javax.imageio.ImageIO;

/** The VGA text adapter: a screen read from RAM at 0xB8000, and the registers kept as written. */
class VgaTextTest {
    /** 32 KiB standing for the text buffer; reads outside it fail the test. */
    final byte[] buffer = VgaText.blankBuffer();
    final VgaText vga = new VgaText((address, length) -> {
        byte[] out = new byte[length];
        System.arraycopy(buffer, (int) (address - VgaText.BUFFER), out, 0, length);
        return out;
    });

    void put(int row, int column, int ch, int attribute) {
        int at = 2 * (row * 80 + column);
        buffer[at] = (byte) ch;
        buffer[at + 1] = (byte) attribute;
    }

    void puts(int row, int column, String text, int attribute) {
        for (int i = 0; i < text.length(); i++) {
            put(row, column + i, text.charAt(i), attribute);
        }
    }

    @Test
    void aBlankScreenIs25EmptyLines() {
        assertEquals(0x0720, (buffer[0] & 0xFF) | (buffer[1] & 0xFF) << 8, "the BIOS's blank cell");
        assertEquals(0x0720, (buffer[0x7FFE] & 0xFF) | (buffer[0x7FFF] & 0xFF) << 8, "the whole 32 KiB");
        assertEquals("\n".repeat(25), vga.screen().text());
    }

    @Test
    void textKeepsLeadingBlanksDropsTrailingOnesAndMapsCodePage437() {
        puts(0, 2, "Hi", 0x1F);
        put(1, 0, 0xC9, 0x07);
        put(1, 1, 0xCD, 0x07);
        put(1, 2, 0x01, 0x07);
        put(1, 3, 0x82, 0x07);
        put(1, 4, 0x00, 0x07); // NUL shows blank
        put(1, 5, 0xE0, 0x07);
        puts(24, 70, "end", 0x4F);
        String[] lines = vga.screen().text().split("\n", -1);
        assertEquals(26, lines.length, "25 lines, each ended by a newline");
        assertEquals("  Hi", lines[0]);
        assertEquals("╔═☺é α", lines[1]);
        assertEquals(" ".repeat(70) + "end", lines[24]);
    }

    @Test
    void theCrtcMovesAndHidesTheCursorAndTheStartAddressScrolls() {
        vga.out(0x3D4, 2, 0x010E); // 16-bit OUT: index 0x0E, data 0x01
        vga.out(0x3D4, 1, 0x0F);
        vga.out(0x3D5, 1, 0x42);
        assertEquals(0x142, vga.screen().cursor());
        vga.out(0x3D4, 1, 0x0E);
        assertEquals(0x01, vga.in(0x3D5, 1), "read back");
        vga.out(0x3D4, 2, 0x200A); // cursor start, bit 5: disabled
        assertEquals(-1, vga.screen().cursor());
        puts(1, 0, "second row", 0x07);
        vga.out(0x3D4, 2, 0x000C);
        vga.out(0x3D4, 2, 0x500D); // start address 80: the second row on top
        assertTrue(vga.screen().text().startsWith("second row\n"));
    }

    @Test
    void registersKeepWhatIsWrittenAndInputStatusResetsTheAttributeFlipFlop() {
        vga.out(0x3C4, 1, 0x02);
        vga.out(0x3C5, 1, 0x0F);
        assertEquals(0x0F, vga.in(0x3C5, 1));
        vga.out(0x3CE, 2, 0x1005);
        assertEquals(0x10, vga.in(0x3CF, 1));
        vga.out(0x3C2, 1, 0x63);
        assertEquals(0x63, vga.in(0x3CC, 1));
        int first = vga.in(0x3DA, 1);
        int second = vga.in(0x3DA, 1);
        assertEquals(0x08, (first ^ second) & 0x08, "the vertical retrace bit changes on every read");
        vga.out(0x3C0, 1, 0x10); // index (the read of 0x3DA reset the flip-flop)
        vga.out(0x3C0, 1, 0x0C); // data
        vga.out(0x3C0, 1, 0x10); // index again
        assertEquals(0x0C, vga.in(0x3C1, 1));
        vga.in(0x3DA, 1);
        vga.out(0x3C0, 1, 0x11); // after the reset an index again, not data for 0x10
        vga.out(0x3C0, 1, 0x05);
        assertEquals(0x05, vga.in(0x3C1, 1));
        vga.in(0x3DA, 1);
        vga.out(0x3C0, 1, 0x10);
        assertEquals(0x0C, vga.in(0x3C1, 1), "0x10 kept what it was given");
    }

    @Test
    void ansiUsesTheSixteenColoursInTheTerminalsOrder() {
        put(0, 0, 'A', 0x1E); // yellow (14) on blue (1)
        String ansi = vga.screen().ansi();
        assertTrue(ansi.startsWith("\033[H\033[93;44mA"), ansi.substring(0, 20));
    }

    @Test
    void aScreenshotIs720By400WithTheFontAndPalette(@TempDir Path dir) throws Exception {
        put(0, 0, 'A', 0x1F);
        put(0, 1, 0xC4, 0x07); // ─: line graphics repeat their 8th column in the 9th
        vga.out(0x3D4, 2, 0x0E0F); // the cursor (at cell 0, scan lines 14-15) to cell 14
        Path png = dir.resolve("screen.png");
        vga.screen().writePng(png, VgaScreen.VgaFont.standard());
        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(720, image.getWidth());
        assertEquals(400, image.getHeight());
        VgaScreen.VgaFont font = VgaScreen.VgaFont.standard();
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 8; x++) {
                boolean on = (font.row('A', y) & (0x80 >>> x)) != 0;
                assertEquals(on ? 0xFFFFFF : 0x0000AA, image.getRGB(x, y) & 0xFFFFFF, "A at " + x + "," + y);
            }
            assertEquals(0x0000AA, image.getRGB(8, y) & 0xFFFFFF, "the 9th column of a letter is background");
            boolean lineOn = (font.row(0xC4, y) & 1) != 0;
            assertEquals(lineOn ? 0xAAAAAA : 0, image.getRGB(9 + 8, y) & 0xFFFFFF, "─ continues into the 9th column");
        }
        assertTrue(font.row(0xC4, 8) != 0 || font.row(0xC4, 7) != 0, "the font draws ─ mid-cell");
    }
}
