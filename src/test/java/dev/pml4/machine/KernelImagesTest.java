package dev.pml4.machine;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.OptionalLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelImagesTest {
    @TempDir
    Path dir;

    static final OptionalLong NONE = OptionalLong.empty();

    Path write(String name, byte[] bytes) throws Exception {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    static ImageRejectedException refused(Path file, OptionalLong load, OptionalLong entry, String... fragments) {
        ImageRejectedException e = assertThrows(ImageRejectedException.class, () -> KernelImages.read(file, load, entry));
        assertEquals(file.toString(), e.file());
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), () -> "\"" + f + "\" missing from: " + e.getMessage());
        }
        return e;
    }

    @Test
    void missingFile() {
        refused(dir.resolve("nope.elf"), NONE, NONE, "nope.elf: no such file");
    }

    @Test
    void directory() {
        refused(dir, NONE, NONE, "is a directory");
    }

    @Test
    void emptyFile() throws Exception {
        refused(write("empty.bin", new byte[0]), NONE, NONE, "the file is empty");
        assertThrows(ImageRejectedException.class, () -> FlatImage.of("x", new byte[0]));
    }

    @Test
    void elfFileIsParsedAsElf() throws Exception {
        Path p = write("k.elf", ElfImageTest.good().build());
        KernelImage image = KernelImages.read(p, NONE, NONE);
        ElfImage elf = assertInstanceOf(ElfImage.class, image);
        assertEquals(p.toString(), elf.name());
        assertEquals(2, elf.segments().size());
        assertTrue(elf.symbols().lookup("_start").isPresent());
    }

    @Test
    void loadAddressOrEntryForAnElfIsRefused() throws Exception {
        Path p = write("k.elf", ElfImageTest.good().build());
        refused(p, OptionalLong.of(0x200000), NONE, "--load-addr 0x200000 is for flat binaries only", "program headers");
        refused(p, NONE, OptionalLong.of(0x100000), "--entry 0x100000 is for flat binaries only", "e_entry");
        refused(p, OptionalLong.of(0x200000), OptionalLong.of(0x100000), "--load-addr 0x200000 is for flat binaries only",
                "--entry is refused too");
    }

    @Test
    void aBrokenElfNeverFallsBackToFlat() throws Exception {
        byte[] junk = Arrays.copyOf(new byte[] {0x7f, 'E', 'L', 'F'}, 100);
        refused(write("junk.elf", junk), NONE, NONE, "EI_CLASS is 0");
        refused(write("short.elf", new byte[] {0x7f, 'E', 'L', 'F', 2}), NONE, NONE, "ELF header truncated");
    }

    @Test
    void flatBinaryAtTheDefaults() throws Exception {
        byte[] code = {(byte) 0xf4, 0x7f, 'E', 'L', 'F'};
        KernelImage image = KernelImages.read(write("hello.bin", code), NONE, NONE);
        FlatImage flat = assertInstanceOf(FlatImage.class, image);
        assertEquals(0x100000, flat.loadAddress());
        assertEquals(0x100000, flat.entry());
        LoadSegment s = flat.segments().getFirst();
        assertEquals(0x100000, s.physicalAddress());
        assertEquals(0x100000, s.virtualAddress());
        assertArrayEquals(code, s.data());
        assertEquals(code.length, s.memorySize());
        assertTrue(flat.symbols().isEmpty());
        assertEquals("the flat image", flat.describe(s));
    }

    @Test
    void flatBinaryWithLoadAddressAndEntry() throws Exception {
        byte[] code = new byte[0x100];
        FlatImage a = (FlatImage) KernelImages.read(write("a.bin", code), OptionalLong.of(0x400000), NONE);
        assertEquals(0x400000, a.loadAddress());
        assertEquals(0x400000, a.entry(), "entry defaults to the load address");
        FlatImage b = (FlatImage) KernelImages.read(write("b.bin", code), OptionalLong.of(0x400000), OptionalLong.of(0x4000ff));
        assertEquals(0x4000ff, b.entry());
        FlatImage c = (FlatImage) KernelImages.read(write("c.bin", code), NONE, OptionalLong.of(0x100080));
        assertEquals(0x100000, c.loadAddress());
        assertEquals(0x100080, c.entry());
    }

    @Test
    void flatEntryOutsideTheImageIsRefused() throws Exception {
        Path p = write("d.bin", new byte[0x100]);
        refused(p, NONE, OptionalLong.of(0x100100), "entry point 0x100100 is outside the flat image",
                "0x100000..0x100100");
        refused(p, OptionalLong.of(0x200000), OptionalLong.of(0x100000), "entry point 0x100000 is outside");
    }

    @Test
    void loadSegmentIsImmutable() {
        byte[] data = {1, 2, 3};
        LoadSegment s = new LoadSegment(0, 0x100000, 0x100000, data, 3, false, true);
        data[0] = 9;
        s.data()[1] = 9;
        assertArrayEquals(new byte[] {1, 2, 3}, s.data());
        assertThrows(IllegalArgumentException.class, () -> new LoadSegment(0, 0, 0, data, 2, false, false));
    }
}
