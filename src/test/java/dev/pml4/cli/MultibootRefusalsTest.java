package dev.pml4.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.pml4.guest.Guests;
import dev.pml4.machine.ElfBuilder;
import dev.pml4.machine.MultibootImages;
import dev.pml4.machine.MultibootImages.Mb1;
import dev.pml4.machine.MultibootImages.Mb2;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Every bad Multiboot header, checksum, size, overlap and unsupported required flag or tag, through
 * {@code pml4 run}: exit status 2 and one "pml4: FILE: ..." line that names the field, before the
 * guest runs (issue 8, "Every bad header ...").
 */
class MultibootRefusalsTest {
    @TempDir
    Path dir;

    static Supplier<byte[]> mb1(Consumer<Mb1> change) {
        return () -> {
            Mb1 m = MultibootImages.mb1();
            change.accept(m);
            return m.build();
        };
    }

    static Supplier<byte[]> mb2(Consumer<Mb2> change) {
        return () -> {
            Mb2 m = MultibootImages.mb2();
            change.accept(m);
            return m.build();
        };
    }

    static Arguments row(String what, Supplier<byte[]> image, List<String> options, String... fragments) {
        return Arguments.of(what, image, options, List.of(fragments));
    }

    static Arguments row(String what, Supplier<byte[]> image, String... fragments) {
        return row(what, image, List.of(), fragments);
    }

    static Stream<Arguments> refusals() {
        return Stream.of(
                // Multiboot 1 header (0.6.96 section 3.1)
                row("MB1 checksum", mb1(m -> m.checksum = 0x1234), "Multiboot header at file offset 0x0",
                        "checksum 0x1234", "magic + flags + checksum"),
                row("MB1 required flag bit 3", mb1(m -> m.flags |= 1 << 3), "flags bit 3", "cannot honour"),
                row("MB1 required flag bit 15", mb1(m -> m.flags |= 1 << 15), "flags bit 15", "cannot honour"),
                row("MB1 address fields cut off", mb1(m -> m.length = 20), "flags bit 16", "file ends before them"),
                row("MB1 video fields cut off", mb1(m -> {
                    m.flags |= 1 << 2;
                    m.length = 40;
                }), "flags bit 2", "file ends before them"),
                row("MB1 load_addr above header_addr", mb1(m -> m.loadAddr = 0x100010), "load_addr 0x100010",
                        "above header_addr 0x100000"),
                row("MB1 load before the file", mb1(m -> m.loadAddr = 0xff000), "header_addr 0x100000 - load_addr 0xff000",
                        "before the file"),
                row("MB1 load_end_addr below load_addr", mb1(m -> m.loadEndAddr = 0xff000), "load_end_addr 0xff000",
                        "below load_addr"),
                row("MB1 load_end_addr past the file", mb1(m -> m.loadEndAddr = 0x110000), "load_end_addr 0x110000",
                        "past the end of the file"),
                row("MB1 bss_end_addr below load end", mb1(m -> m.bssEndAddr = 0x100010), "bss_end_addr 0x100010",
                        "below the end of the loaded bytes"),
                row("MB1 entry_addr outside", mb1(m -> m.entryAddr = 0x200000), "entry_addr of the Multiboot header",
                        "0x200000", "outside the loaded bytes"),
                row("MB1 not ELF without kludge", mb1(m -> m.flags &= ~(1 << 16)), "not an ELF file",
                        "flags bit 16 (a.out kludge) is clear"),
                row("MB1 over pml4's own area", mb1(m -> {
                    m.headerAddr = m.loadAddr = 0x8000;
                    m.bssEndAddr = 0;
                    m.entryAddr = 0x8000 + MultibootImages.CODE;
                }), "at physical 0x8000", "overlaps pml4's own area 0x1000-0x20000"),
                row("MB1 over the VGA/ROM area", mb1(m -> {
                    m.headerAddr = m.loadAddr = 0xb8000;
                    m.bssEndAddr = 0;
                    m.entryAddr = 0xb8000 + MultibootImages.CODE;
                }), "overlaps the reserved area 0x9fc00-0x100000"),
                row("MB1 past the end of RAM", mb1(m -> m.bssEndAddr = 0x300000), List.of("--mem", "2M"),
                        "runs past the end of RAM"),
                row("MB1 RAM below 1 MiB", mb1(m -> { }), List.of("--mem", "1M"), "RAM of 1 MiB is too small"),
                row("MB1 module past RAM", mb1(m -> { }), List.of("--mem", "2M", "--module", "BIG"),
                        "--module", "does not fit", "past the end of RAM"),
                row("MB1 command line with NUL", mb1(m -> { }), List.of("--cmdline", "a\0b"), "command line", "NUL"),
                row("--boot multiboot2 without a header", mb1(m -> { }), List.of("--boot", "multiboot2"),
                        "no Multiboot2 header", "0xe85250d6"),
                row("--load-addr with Multiboot", mb1(m -> { }), List.of("--load-addr", "0x200000"),
                        "--load-addr is for flat binaries under boot protocol 1 only"),

                // Multiboot2 header (2.0 section 3.1)
                row("MB2 checksum", mb2(m -> m.checksum = 7), "Multiboot2 header at file offset 0x0", "checksum 0x7",
                        "magic + architecture + header_length + checksum"),
                row("MB2 architecture", mb2(m -> m.architecture = 4), "architecture 4 (32-bit MIPS)"),
                row("MB2 header_length too small", mb2(m -> m.headerLength = 16L), "header_length 16", "too small"),
                row("MB2 header_length past the file", mb2(m -> m.headerLength = 0x100000L), "header_length 1048576",
                        "past the end of the file"),
                row("MB2 no end tag", mb2(m -> m.endTag = false), "no end tag"),
                row("MB2 tag size below 8", mb2(m -> m.rawTag(6, 0, 4)), "module alignment tag (type 6)", "size 4",
                        "smaller than a tag's own 8 bytes"),
                row("MB2 entry tag size", mb2(m -> m.rawTag(3, 0, 16, 0x100400, 0)), "entry address tag (type 3)",
                        "size 16, expected 12"),
                row("MB2 required information tag", mb2(m -> m.tag(1, 0, 1, 5)), "information request tag (type 1)",
                        "requires information tag type 5 (BIOS boot device)"),
                row("MB2 required graphics", mb2(m -> m.tag(5, 0, 1024, 768, 32)), "framebuffer tag (type 5)",
                        "1024x768x32 graphics mode", "only EGA text"),
                row("MB2 required EFI boot services", mb2(m -> m.tag(7, 0)), "EFI boot services tag (type 7)",
                        "no EFI firmware"),
                row("MB2 unknown required tag", mb2(m -> m.tag(42, 0, 1)), "unknown tag (type 42)", "not marked optional"),
                row("MB2 address tag without entry tag", mb2(m -> m.entryTag = false),
                        "address tag without an entry address tag"),
                row("MB2 ELF32 header without address tag, not ELF", mb2(m -> {
                    m.addressTag = false;
                    m.entryTag = false;
                }), "not an ELF file", "no address tag"),

                row("MB1 ELF64 segment above 4 GiB", () -> {
                    Mb1 m = MultibootImages.mb1();
                    m.flags = 0x3; // loaded by the program headers
                    long at = 0x1_0000_0000L;
                    return new ElfBuilder().entry(at + MultibootImages.CODE)
                            .load(at, at, m.build(), 0x1000, ElfBuilder.PF_R | ElfBuilder.PF_X).build();
                }, List.of("--mem", "5G"), "PT_LOAD segment 0 at physical 0x100000000", "reaches above 4 GiB"),
                row("MB2 entry address tag outside the image", () -> {
                    Mb2 m = MultibootImages.mb2();
                    m.addressTag = false;
                    m.entryTag = false;
                    m.tag(3, 0, 0x300000);
                    return new ElfBuilder().entry(0x100400)
                            .load(0x100000, 0x100000, m.build(), 0x1000, ElfBuilder.PF_R | ElfBuilder.PF_X).build();
                }, "the entry point 0x300000 is not inside any loaded segment"),

                // protocol 1
                row("ELF32 by boot protocol 1", () -> read(Guests.image("mb1_elf32")), List.of("--boot", "pml4"),
                        "32-bit ELF file", "ELFCLASS32", "ELF64", "Multiboot"),
                row("--module by boot protocol 1", () -> read(Guests.image("hello")), List.of("--module", "BIG"),
                        "--module is for Multiboot kernels"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusals")
    void isRefusedWithStatus2NamingTheField(String what, Supplier<byte[]> image, List<String> options,
                                            List<String> fragments) throws IOException {
        Path file = Files.write(dir.resolve("kernel.bin"), image.get());
        Path serial = dir.resolve("serial.out");
        Path big = Files.write(dir.resolve("big.mod"), new byte[0x180000]);
        List<String> args = new ArrayList<>(List.of("run", "--serial", serial.toString(), "--serial-in",
                Files.createFile(dir.resolve("serial.in")).toString()));
        for (String o : options) {
            args.add(o.equals("BIG") ? big.toString() : o);
        }
        args.add(file.toString());
        RunCommandTest.Result r = RunCommandTest.pml4(args.toArray(String[]::new));
        String err = r.err();
        assertEquals(2, r.status(), () -> "exit status; stderr: " + err);
        assertEquals(1, r.errLines().size(), () -> "one line on stderr, got: " + err);
        assertTrue(err.startsWith("pml4: "), err);
        for (String fragment : fragments) {
            assertTrue(err.contains(fragment), () -> "expected '" + fragment + "' in: " + err);
        }
        assertFalse(err.contains("Exception"), err);
        assertTrue(!Files.exists(serial) || Files.size(serial) == 0, "the guest ran before the refusal");
    }

    /** The optional flag (2.0 section 3.1.3) lets a loader ignore what it cannot honour: these boot. */
    static Stream<Arguments> optionalTags() {
        return Stream.of(
                Arguments.of("optional information request", mb2(m -> m.tag(1, 1, 1, 5, 7))),
                Arguments.of("optional graphics", mb2(m -> m.tag(5, 1, 1024, 768, 32))),
                Arguments.of("optional EFI boot services", mb2(m -> m.tag(7, 1))),
                Arguments.of("optional unknown tag", mb2(m -> m.tag(42, 1, 1))),
                Arguments.of("text framebuffer, required", mb2(m -> m.tag(5, 0, 80, 25, 0))),
                Arguments.of("console flags, module alignment, relocatable", mb2(m -> m.tag(4, 0, 3).tag(6, 0)
                        .tag(10, 0, 0x100000, 0x200000, 0x1000, 0))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("optionalTags")
    void bootsWithTagsItCanIgnoreOrHonour(String what, Supplier<byte[]> image) throws IOException {
        Path file = Files.write(dir.resolve("kernel.bin"), image.get());
        RunCommandTest.Result r = RunCommandTest.pml4("run", "--serial", dir.resolve("serial.out").toString(),
                "--serial-in", Files.createFile(dir.resolve("serial.in")).toString(), "--max-insns", "100",
                file.toString());
        assertNotEquals(2, r.status(), r.err());
        assertFalse(r.err().contains(file.toString() + ":"), r.err());
    }

    private static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
