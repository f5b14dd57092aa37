package dev.pml4.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.pml4.guest.Guests;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import javax.imageio.ImageIO;

/** {@code --vga}, {@code --screenshot} and {@code --display} on a kernel that writes to the screen. */
class VgaOptionsTest {
    @TempDir
    Path dir;

    RunCommandTest.Result run(String guest, String... options) throws Exception {
        Path in = dir.resolve("serial.in");
        if (!Files.exists(in)) {
            Files.createFile(in);
        }
        String[] args = new String[options.length + 6];
        args[0] = "run";
        args[1] = "--serial";
        args[2] = dir.resolve("serial.out").toString();
        args[3] = "--serial-in";
        args[4] = in.toString();
        System.arraycopy(options, 0, args, 5, options.length);
        args[args.length - 1] = Guests.image(guest).toString();
        return RunCommandTest.pml4(args);
    }

    @Test
    void vgaWritesTheScreenAsUtf8AndScreenshotAsPng() throws Exception {
        Path text = dir.resolve("screen.txt");
        Path png = dir.resolve("screen.png");
        RunCommandTest.Result r = run("mb1_vga32", "--vga", text.toString(), "--screenshot", png.toString());
        assertEquals(0, r.status(), r.err());
        assertEquals(Guests.expectedScreen("mb1_vga32").orElseThrow(), Files.readString(text, StandardCharsets.UTF_8));
        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(720, image.getWidth());
        assertEquals(400, image.getHeight());
        // Row 4 starts with ╔ in white on blue (attribute 0x1F): its cell has both colours.
        boolean white = false;
        boolean blue = false;
        for (int y = 64; y < 80; y++) {
            for (int x = 0; x < 9; x++) {
                int rgb = image.getRGB(x, y) & 0xFFFFFF;
                white |= rgb == 0xFFFFFF;
                blue |= rgb == 0x0000AA;
            }
        }
        assertTrue(white && blue, "the box corner in white on blue");
    }

    @Test
    void displayChangesNothingTheGuestSees() throws Exception {
        RunCommandTest.Result plain = run("mb2_elf64", "--stats");
        String serial = Files.readString(dir.resolve("serial.out"));
        RunCommandTest.Result shown = run("mb2_elf64", "--stats", "--display");
        assertEquals(plain.status(), shown.status());
        assertEquals(serial, Files.readString(dir.resolve("serial.out")));
        assertEquals(plain.err(), shown.err(), "same instruction count, walks and TLB statistics");
    }

    @Test
    void anUnwritableVgaFileIsStatus2() throws Exception {
        Path where = dir.resolve("no/such/dir/screen.txt");
        RunCommandTest.Result r = run("vga_text", "--vga", where.toString());
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--vga " + where + ": cannot write there"), r.err());
    }
}
