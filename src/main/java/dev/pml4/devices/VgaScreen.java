package dev.pml4.devices;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;

import javax.imageio.ImageIO;

/**
 * One picture of the VGA text screen: 80×25 cells, each a code page 437 character in its low byte
 * and an attribute in its high byte (foreground colour in bits 0–3, background in bits 4–6, bit 7
 * blink, which pml4 shows as steady: a still picture has no time to blink in).
 *
 * @param cells       the 2000 cells, row by row
 * @param cursor      the cell the cursor is on, or -1 when it is hidden or off the screen
 * @param cursorStart the first scan line of the cursor (CRTC register 0x0A, bits 0–4)
 * @param cursorEnd   the last scan line (CRTC register 0x0B, bits 0–4)
 */
public record VgaScreen(int[] cells, int cursor, int cursorStart, int cursorEnd) {
    public static final int COLUMNS = VgaText.COLUMNS;
    public static final int ROWS = VgaText.ROWS;
    /** A character cell is 9×16 dots in VGA text mode; the 9th column repeats the 8th for 0xC0–0xDF. */
    public static final int CELL_WIDTH = 9;
    public static final int CELL_HEIGHT = 16;

    /**
     * The 16 colours of the text-mode palette a VGA BIOS programs (the EGA colours: 0xAA for the
     * normal intensity, 0x55 added for the bright ones, brown's green halved), as RGB.
     */
    public static final int[] PALETTE = {
        0x000000, 0x0000AA, 0x00AA00, 0x00AAAA, 0xAA0000, 0xAA00AA, 0xAA5500, 0xAAAAAA,
        0x555555, 0x5555FF, 0x55FF55, 0x55FFFF, 0xFF5555, 0xFF55FF, 0xFFFF55, 0xFFFFFF,
    };

    public VgaScreen {
        cells = cells.clone();
        if (cells.length != COLUMNS * ROWS) {
            throw new IllegalArgumentException("a text screen has " + COLUMNS * ROWS + " cells, not " + cells.length);
        }
    }

    public int cell(int row, int column) {
        return cells[row * COLUMNS + column];
    }

    /**
     * The screen as text: 25 lines, each ended by a newline, with the characters mapped from code
     * page 437 to Unicode (as UTF-8 when written) and each line's trailing blanks removed.
     */
    public String text() {
        StringBuilder out = new StringBuilder(COLUMNS * ROWS + ROWS);
        for (int row = 0; row < ROWS; row++) {
            StringBuilder line = new StringBuilder(COLUMNS);
            for (int column = 0; column < COLUMNS; column++) {
                line.append(CodePage437.toUnicode(cell(row, column) & 0xFF));
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
        return out.toString();
    }

    /**
     * The screen for a terminal: ANSI escape sequences (SGR with the 16 standard colours), the
     * cursor put home first, each row on its own line; what QEMU's curses display draws.
     */
    public String ansi() {
        StringBuilder out = new StringBuilder(COLUMNS * ROWS * 4);
        out.append("\033[H");
        for (int row = 0; row < ROWS; row++) {
            int last = -1;
            for (int column = 0; column < COLUMNS; column++) {
                int cell = cell(row, column);
                int attribute = cell >>> 8;
                if (attribute != last) {
                    int fg = attribute & 0xF;
                    int bg = (attribute >>> 4) & 0x7;
                    out.append("\033[").append(fg >= 8 ? 90 + ansiColour(fg) : 30 + ansiColour(fg))
                            .append(';').append(40 + ansiColour(bg)).append('m');
                    last = attribute;
                }
                out.append(CodePage437.toUnicode(cell & 0xFF));
            }
            out.append("\033[0m\n");
        }
        return out.toString();
    }

    /** VGA colour bits are blue 1, green 2, red 4; ANSI's are red 1, green 2, blue 4. */
    private static int ansiColour(int vga) {
        return ((vga & 1) << 2) | (vga & 2) | ((vga & 4) >> 2);
    }

    /** The screen as a 720×400 picture, as a VGA draws mode 3, with {@code font}'s glyphs. */
    public BufferedImage render(VgaFont font) {
        BufferedImage image = new BufferedImage(COLUMNS * CELL_WIDTH, ROWS * CELL_HEIGHT, BufferedImage.TYPE_INT_RGB);
        for (int row = 0; row < ROWS; row++) {
            for (int column = 0; column < COLUMNS; column++) {
                int cell = cell(row, column);
                int ch = cell & 0xFF;
                int fg = PALETTE[(cell >>> 8) & 0xF];
                int bg = PALETTE[(cell >>> 12) & 0x7];
                boolean lineGraphics = ch >= 0xC0 && ch <= 0xDF;
                boolean cursorHere = row * COLUMNS + column == cursor;
                for (int y = 0; y < CELL_HEIGHT; y++) {
                    int bits = font.row(ch, y);
                    if (cursorHere && y >= cursorStart && y <= cursorEnd) {
                        bits = 0xFF;
                    }
                    for (int x = 0; x < CELL_WIDTH; x++) {
                        boolean on = x < 8 ? (bits & (0x80 >>> x)) != 0 : lineGraphics && (bits & 1) != 0;
                        image.setRGB(column * CELL_WIDTH + x, row * CELL_HEIGHT + y, on ? fg : bg);
                    }
                }
            }
        }
        return image;
    }

    /** Writes {@link #render} as a PNG file. */
    public void writePng(Path file, VgaFont font) throws IOException {
        if (!ImageIO.write(render(font), "png", file.toFile())) {
            throw new IOException("no PNG writer in this Java runtime");
        }
    }

    /** An 8×16 VGA font: 256 glyphs in code page 437 order, 16 bytes each, bit 7 the leftmost dot. */
    public record VgaFont(byte[] glyphs) {
        /** PSF version 1 (Linux console fonts): magic 0x36 0x04, mode, bytes per glyph. */
        private static final int PSF1_MAGIC0 = 0x36;
        private static final int PSF1_MAGIC1 = 0x04;

        public int row(int ch, int y) {
            return glyphs[ch * CELL_HEIGHT + y] & 0xFF;
        }

        /**
         * The font pml4 ships: {@code default8x16.psf} from Debian's console-data package, the
         * code page 437 font of a VGA card's ROM (GPL-2.0, see {@code default8x16.LICENSE} beside it).
         */
        public static VgaFont standard() {
            try (InputStream in = VgaScreen.class.getResourceAsStream("default8x16.psf")) {
                if (in == null) {
                    throw new IllegalStateException("the VGA font default8x16.psf is missing from pml4's resources");
                }
                return fromPsf1(in.readAllBytes());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        static VgaFont fromPsf1(byte[] psf) {
            if (psf.length < 4 + 256 * CELL_HEIGHT || (psf[0] & 0xFF) != PSF1_MAGIC0 || (psf[1] & 0xFF) != PSF1_MAGIC1
                    || psf[3] != CELL_HEIGHT) {
                throw new IllegalArgumentException("not a PSF1 font of 8x16 glyphs");
            }
            return new VgaFont(java.util.Arrays.copyOfRange(psf, 4, 4 + 256 * CELL_HEIGHT));
        }
    }
}
