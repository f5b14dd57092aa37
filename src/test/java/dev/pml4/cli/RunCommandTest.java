package dev.pml4.cli;

import static dev.pml4.machine.ElfBuilder.*;
import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.*;

import dev.pml4.guest.Guests;
import dev.pml4.machine.ElfBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code pml4 run} end to end, through {@link Main#commandLine()}: every kind of bad input is
 * refused with exit status 2 and one "pml4: ..." line that names the file or option and what is
 * wrong with it, before the guest runs; good input boots and gives BOOT.md's exit statuses.
 *
 * <p>Every run passes {@code --serial} (so the guest's output goes to a file, not to the test's
 * stdout) and {@code --serial-in} with an empty file: a guest polling the UART's LSR would
 * otherwise read ahead on standard input, which in a forked test JVM is the test runner's pipe.
 */
class RunCommandTest {
    /** xor eax, eax; out 0xf4, al; hlt: writes 0 to the debug-exit port, so status (0 << 1) | 1. */
    static final byte[] EXIT_0 = {0x31, (byte) 0xc0, (byte) 0xe6, (byte) 0xf4, (byte) 0xf4};
    static final byte[] DATA = "some data\0".getBytes();
    static final long HIGH = 0xffff_ffff_8010_0000L;

    @TempDir
    Path dir;
    Path serialOut;
    Path serialIn;

    @BeforeEach
    void files() throws IOException {
        serialOut = dir.resolve("serial.out");
        serialIn = Files.createFile(dir.resolve("serial.in"));
    }

    // ---- running the command line -----------------------------------------------------------------

    record Result(int status, String out, String err) {
        List<String> errLines() {
            return err.lines().toList();
        }
    }

    /** {@code pml4 ARGS...}, with standard output and standard error captured. */
    static Result pml4(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int status = cli.execute(args);
        return new Result(status, out.toString(), err.toString());
    }

    /** {@code pml4 run --serial OUT --serial-in IN OPTIONS... IMAGE}. */
    Result run(Path image, List<String> options) {
        List<String> args = new ArrayList<>(List.of("run", "--serial", serialOut.toString(),
                "--serial-in", serialIn.toString()));
        args.addAll(options);
        args.add(image.toString());
        return pml4(args.toArray(String[]::new));
    }

    Result run(Path image, String... options) {
        return run(image, List.of(options));
    }

    Path write(String name, byte[] contents) throws IOException {
        return Files.write(dir.resolve(name), contents);
    }

    /**
     * Status 2; one line, "pml4: " then {@code subject}, then every fragment; no stack trace; and the
     * guest never ran (it wrote nothing to the serial file).
     */
    void assertRefused(Result r, String subject, List<String> fragments) throws IOException {
        String err = r.err();
        assertEquals(2, r.status(), () -> "exit status; stderr: " + err);
        assertEquals(1, r.errLines().size(), () -> "one line on stderr, got: " + err);
        assertTrue(err.startsWith("pml4: " + subject), () -> "expected 'pml4: " + subject + "' first, got: " + err);
        for (String fragment : fragments) {
            assertTrue(err.contains(fragment), () -> "expected '" + fragment + "' in: " + err);
        }
        assertFalse(err.contains("Exception") || err.contains("internal error"), err);
        assertTrue(!Files.exists(serialOut) || Files.size(serialOut) == 0, "the guest ran before the refusal");
        assertEquals("", r.out());
    }

    void assertImageRefused(Result r, Path image, List<String> fragments) throws IOException {
        assertRefused(r, image + ": ", fragments);
    }

    /** A picocli parse error: "pml4: message", then where to look for help. */
    static void assertUsageError(Result r, String command, List<String> fragments) {
        String err = r.err();
        assertEquals(2, r.status(), () -> "exit status; stderr: " + err);
        List<String> lines = r.errLines();
        assertTrue(lines.getFirst().startsWith("pml4: "), () -> "expected 'pml4: ' first, got: " + err);
        for (String fragment : fragments) {
            assertTrue(lines.getFirst().contains(fragment), () -> "expected '" + fragment + "' in: " + err);
        }
        assertEquals("Try '" + command + " --help' for more information.", lines.getLast(), err);
        assertFalse(err.contains("Exception") || err.contains("internal error"), err);
        assertEquals("", r.out());
    }

    // ---- ELF files built here, each a bootable one with one thing broken ----------------------------

    /** One identity-placed R X segment at 0x100000 that exits with status 1. */
    static ElfBuilder minimal() {
        return new ElfBuilder().entry(0x100000).load(0x100000, EXIT_0);
    }

    /** Text at 0x100000, data at 0x101000 with bss to 0x102000. */
    static ElfBuilder twoSegments(long dataVirtual, long dataPhysical) {
        return new ElfBuilder().entry(0x100000)
                .load(0x100000, 0x100000, EXIT_0, EXIT_0.length, PF_R | PF_X)
                .load(dataVirtual, dataPhysical, DATA, 0x1000, PF_R | PF_W);
    }

    /** A higher-half kernel: linked at {@code virtual}, loaded at {@code physical}. */
    static ElfBuilder higherHalf(long virtual, long physical) {
        return new ElfBuilder().entry(virtual).load(virtual, physical, EXIT_0, EXIT_0.length, PF_R | PF_X);
    }

    static Supplier<byte[]> patched(Supplier<ElfBuilder> good, int offset, long value, int size) {
        return () -> patch(good.get().build(), offset, value, size);
    }

    static Supplier<byte[]> patched(int offset, long value, int size) {
        return patched(RunCommandTest::minimal, offset, value, size);
    }

    static Arguments elf(String what, Supplier<byte[]> file, List<String> options, String... fragments) {
        return Arguments.of(what, file, options, List.of(fragments));
    }

    static Arguments elf(String what, Supplier<byte[]> file, String... fragments) {
        return elf(what, file, List.of(), fragments);
    }

    /** The files every refusal below breaks: each must boot as it is. */
    static Stream<Arguments> goodElfFiles() {
        return Stream.of(
                Arguments.of("minimal", (Supplier<byte[]>) () -> minimal().build()),
                Arguments.of("minimal, stripped", (Supplier<byte[]>) () -> minimal().noSections().build()),
                Arguments.of("two segments", (Supplier<byte[]>) () -> twoSegments(0x101000, 0x101000).build()),
                Arguments.of("higher half", (Supplier<byte[]>) () -> higherHalf(HIGH, 0x100000).build()),
                Arguments.of("in 2 MiB of RAM", (Supplier<byte[]>) () -> higherHalf(0x1ff000, 0x1ff000).build()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goodElfFiles")
    void theUnbrokenFilesBoot(String what, Supplier<byte[]> file) throws IOException {
        Result r = run(write("good.elf", file.get()), "--mem", "2M");
        assertEquals(1, r.status(), r.err());
        assertEquals("", r.err());
    }

    static Stream<Arguments> malformedElfFiles() {
        return Stream.of(
                // e_ident
                elf("the magic, then text", () -> "\u007fELFgarbage where the ELF header should be, and more".getBytes(),
                        "EI_CLASS is 103", "expected 2 (ELFCLASS64)"),
                elf("the magic alone", () -> new byte[] {0x7f, 'E', 'L', 'F'},
                        "ELF header truncated", "the file is 4 bytes", "needs 64"),
                elf("ELFCLASS32", patched(E_IDENT_CLASS, 1, 1), "32-bit ELF file", "ELFCLASS32", "ELF64"),
                elf("EI_CLASS 0", patched(E_IDENT_CLASS, 0, 1), "EI_CLASS is 0", "ELFCLASS64"),
                elf("big-endian", patched(E_IDENT_DATA, 2, 1), "big-endian", "ELFDATA2MSB"),
                elf("EI_DATA 0", patched(E_IDENT_DATA, 0, 1), "EI_DATA is 0", "little-endian"),
                elf("EI_VERSION 0", patched(E_IDENT_VERSION, 0, 1), "EI_VERSION is 0", "EV_CURRENT"),
                // ELF header
                elf("EM_386", patched(E_MACHINE, 3, 2), "e_machine is 3 (EM_386, 32-bit x86)", "EM_X86_64"),
                elf("EM_AARCH64", patched(E_MACHINE, 183, 2), "e_machine is 183 (EM_AARCH64)", "EM_X86_64"),
                elf("e_machine 0x1234", patched(E_MACHINE, 0x1234, 2), "e_machine is 4660", "EM_X86_64"),
                elf("ET_DYN", patched(E_TYPE, 3, 2), "e_type is ET_DYN", "not supported", "-no-pie"),
                elf("ET_REL", patched(E_TYPE, 1, 2), "e_type is ET_REL", "not linked yet"),
                elf("ET_CORE", patched(E_TYPE, 4, 2), "e_type is 4 (ET_CORE, a core dump)", "ET_EXEC"),
                elf("e_version 0", patched(E_VERSION, 0, 4), "e_version is 0", "EV_CURRENT"),
                // program headers
                elf("e_phnum 0", patched(E_PHNUM, 0, 2), "no program headers (e_phnum is 0)", "PT_LOAD"),
                elf("e_phnum PN_XNUM", patched(E_PHNUM, 0xffff, 2), "e_phnum is 0xffff", "PN_XNUM"),
                elf("e_phentsize 32", patched(E_PHENTSIZE, 32, 2), "e_phentsize is 32", "Elf64_Phdr"),
                elf("program header table beyond the file", patched(E_PHOFF, 0x10000, 8),
                        "the program header table (e_phoff 0x10000, 1 entries of 56 bytes) does not lie inside the file"),
                elf("program header table across the end", () -> {
                    byte[] f = minimal().noSections().build();
                    return patch(f, E_PHOFF, f.length - 8, 8);
                }, "the program header table (e_phoff", "does not lie inside the file"),
                elf("PT_LOAD p_offset beyond the file", patched(phdr(0) + P_OFFSET, 0x100000, 8),
                        "PT_LOAD segment 0: its file bytes (p_offset 0x100000, p_filesz 0x5)",
                        "extend past the end of the file"),
                elf("PT_LOAD p_filesz beyond the file", () -> {
                    byte[] f = patch(minimal().build(), phdr(0) + P_FILESZ, 0x10000, 8);
                    return patch(f, phdr(0) + P_MEMSZ, 0x10000, 8);
                }, "PT_LOAD segment 0: its file bytes", "p_filesz 0x10000", "extend past the end of the file"),
                elf("p_filesz > p_memsz", patched(phdr(0) + P_MEMSZ, 2, 8),
                        "PT_LOAD segment 0: p_filesz 0x5 is larger than p_memsz 0x2"),
                elf("PT_INTERP", () -> minimal().header(PT_INTERP).build(),
                        "program header 1 is PT_INTERP", "dynamically linked"),
                elf("no PT_LOAD", () -> new ElfBuilder().header(PT_NOTE).header(PT_GNU_STACK).build(),
                        "no PT_LOAD segment among its 2 program headers"),
                elf("segments overlapping physically", () -> twoSegments(0x100004, 0x100004).build(),
                        "PT_LOAD segments 0 and 1 overlap in physical memory",
                        "0x100000..0x100005", "0x100004..0x101004"),
                elf("segments overlapping virtually", () -> twoSegments(0x100000, 0x200000).build(),
                        "PT_LOAD segments 0 and 1 overlap in virtual memory"),
                elf("physical range wraps", () -> minimal()
                                .load(0xffff_ffff_ffff_f000L, 0xffff_ffff_ffff_f000L, new byte[0], 0x2000, PF_R).build(),
                        "PT_LOAD segment 1: its physical range (p_paddr 0xfffffffffffff000 + p_memsz 0x2000) wraps"),
                elf("entry outside every segment", patched(E_ENTRY, 0x300000, 8),
                        "the entry point e_entry 0x300000 is not inside any PT_LOAD segment", "0x100000..0x100005"),
                elf("entry just past the segment", patched(E_ENTRY, 0x100005, 8),
                        "the entry point e_entry 0x100005 is not inside any PT_LOAD segment"),
                // section headers (optional, but not half-read when present and broken)
                elf("section header table beyond the file", patched(E_SHOFF, 0x100000, 8),
                        "the section header table (e_shoff 0x100000", "does not lie inside the file"),
                elf(".symtab without a string table", () -> {
                    ElfBuilder b = minimal();
                    byte[] f = b.build();
                    return patch(f, b.shdr(b.symtabIndex()) + SH_LINK, 0, 4);
                }, ".symtab (section 2): sh_link 0 is not a section index"),
                // placement: BOOT.md, "Images" and "Physical memory"
                elf("a segment below 1 MiB", () -> higherHalf(0x90000, 0x90000).build(),
                        "PT_LOAD segment 0 at physical 0x90000 overlaps the loader area (below 0x100000)"),
                elf("a segment at 0", () -> higherHalf(0, 0).build(),
                        "PT_LOAD segment 0 at physical 0x0 overlaps the loader area"),
                elf("a segment beyond RAM", () -> higherHalf(0x4000000, 0x4000000).build(),
                        "PT_LOAD segment 0 at physical 0x4000000..0x4000005 runs past the end of RAM (0x4000000, 64 MiB)"),
                elf("a segment across the end of RAM", () -> new ElfBuilder().entry(0x1ff000)
                                .load(0x1ff000, 0x1ff000, EXIT_0, 0x2000, PF_R | PF_X).build(), List.of("--mem", "2M"),
                        "PT_LOAD segment 0 at physical 0x1ff000..0x201000 runs past the end of RAM (0x200000, 2 MiB)"),
                elf("a higher-half kernel linked without AT()", () -> higherHalf(HIGH, HIGH).build(),
                        "PT_LOAD segment 0 at physical 0xffffffff80100000", "runs past the end of RAM",
                        "without AT(...)"),
                elf("a larger image than RAM", () -> new ElfBuilder().entry(0x100000)
                                .load(0x100000, 0x100000, EXIT_0, 0x200000, PF_R | PF_W | PF_X).build(),
                        List.of("--mem", "2M"), "the image is larger than RAM", "0x200000 bytes (2 MiB)",
                        "RAM is 2 MiB", "0x100000 bytes (1 MiB) above the loader area"),
                elf("RAM with no room above the loader", () -> minimal().build(), List.of("--mem", "1M"),
                        "RAM of 1 MiB is too small", "first 1 MiB for the loader"),
                elf("p_vaddr and p_paddr differ in the low 12 bits", () -> higherHalf(HIGH + 0x10, 0x100000).build(),
                        "PT_LOAD segment 0: p_vaddr 0xffffffff80100010 and p_paddr 0x100000 differ in their low 12 bits"),
                elf("a non-canonical p_vaddr", () -> higherHalf(0x0000_8000_0010_0000L, 0x100000).build(),
                        "PT_LOAD segment 0 at virtual 0x800000100000", "not in canonical address space"),
                elf("a p_vaddr over the first 1 MiB", () -> higherHalf(0x80000, 0x100000).build(),
                        "PT_LOAD segment 0 at virtual 0x80000", "mapped over the first 1 MiB"),
                // the boot request
                elf("--load-addr for an ELF", () -> minimal().build(), List.of("--load-addr", "0x200000"),
                        "--load-addr 0x200000 is for flat binaries only", "program headers"),
                elf("--entry for an ELF", () -> minimal().build(), List.of("--entry", "0x100000"),
                        "--entry 0x100000 is for flat binaries only", "e_entry"),
                elf("--load-addr and --entry for an ELF", () -> minimal().build(),
                        List.of("--load-addr", "0x200000", "--entry", "0x200000"),
                        "--load-addr 0x200000 is for flat binaries only", "--entry is refused too"),
                elf("a command line with a NUL", () -> minimal().build(), List.of("--cmdline", "a\0b"),
                        "the command line contains a NUL byte"),
                elf("a command line too long", () -> minimal().build(), List.of("--cmdline", "x".repeat(1024)),
                        "the command line is too long: 1024 bytes", "at most 1023"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedElfFiles")
    void malformedElfFilesAreRefused(String what, Supplier<byte[]> file, List<String> options, List<String> fragments)
            throws IOException {
        Path image = write("bad.elf", file.get());
        assertImageRefused(run(image, options), image, fragments);
    }

    // ---- a real guest, cut short -------------------------------------------------------------------

    static Arguments cut(String where, Function<ByteBuffer, Long> length, String... fragments) {
        return Arguments.of(where, length, List.of(fragments));
    }

    /** Cut points found in the file itself, so that relinking the guest does not move them. */
    static Stream<Arguments> truncations() {
        return Stream.of(
                cut("in e_ident", elf -> 10L, "ELF header truncated: the file is 10 bytes, an ELF64 header needs 64"),
                cut("in the ELF header", elf -> 63L, "ELF header truncated: the file is 63 bytes"),
                cut("in the program headers", elf -> elf.getLong(32) + 56 + 20,
                        "the program header table (e_phoff", "does not lie inside the file"),
                cut("in the first segment", elf -> firstLoad(elf).getLong(8) + firstLoad(elf).getLong(32) - 1,
                        "PT_LOAD segment 0: its file bytes", "extend past the end of the file"),
                cut("before the section headers", elf -> elf.getLong(40),
                        "the section header table (e_shoff", "does not lie inside the file"),
                cut("one byte short", elf -> (long) elf.capacity() - 1,
                        "the section header table (e_shoff", "does not lie inside the file"));
    }

    /** Program header 0 of the guest, which its linker script makes the PT_LOAD. */
    static ByteBuffer firstLoad(ByteBuffer elf) {
        int phoff = (int) elf.getLong(32);
        assertEquals(1, elf.getInt(phoff), "program header 0 of the guest is a PT_LOAD");
        return elf.slice(phoff, 56).order(ByteOrder.LITTLE_ENDIAN);
    }

    @ParameterizedTest(name = "hello.elf cut {0}")
    @MethodSource("truncations")
    void aTruncatedGuestIsRefused(String where, Function<ByteBuffer, Long> length, List<String> fragments)
            throws IOException {
        byte[] whole = Files.readAllBytes(Guests.image("hello"));
        int n = Math.toIntExact(length.apply(ByteBuffer.wrap(whole).order(ByteOrder.LITTLE_ENDIAN)));
        assertTrue(n > 0 && n < whole.length);
        Path image = write("hello-" + n + ".elf", Arrays.copyOf(whole, n));
        List<String> expected = new ArrayList<>(fragments);
        if (n > 64) {
            expected.add("(" + n + " bytes)");
        }
        assertImageRefused(run(image), image, expected);
    }

    // ---- files that are not kernel images ----------------------------------------------------------

    @Test
    void aMissingFileIsRefused() throws IOException {
        Path image = dir.resolve("no-such-kernel.elf");
        assertImageRefused(run(image), image, List.of("no such file"));
    }

    @Test
    void aDirectoryIsRefused() throws IOException {
        Path image = Files.createDirectory(dir.resolve("kernel.d"));
        assertImageRefused(run(image), image, List.of("is a directory, not a kernel image"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"empty.elf", "empty.bin"})
    void anEmptyFileIsRefused(String name) throws IOException {
        Path image = write(name, new byte[0]);
        assertImageRefused(run(image), image, List.of("the file is empty: there is nothing to load"));
    }

    // ---- flat binaries -----------------------------------------------------------------------------

    static Stream<Arguments> flatRefusals() {
        return Stream.of(
                Arguments.of("larger than RAM", 3 << 20, List.of("--mem", "2M"),
                        List.of("the image is larger than RAM", "0x300000 bytes (3 MiB)", "RAM is 2 MiB")),
                Arguments.of("loaded in the loader area", 16, List.of("--load-addr", "0x1000"),
                        List.of("the flat image at physical 0x1000 overlaps the loader area (below 0x100000)")),
                Arguments.of("loaded across the end of RAM", 0x2000, List.of("--mem", "2M", "--load-addr", "0x1ff000"),
                        List.of("the flat image at physical 0x1ff000..0x201000 runs past the end of RAM (0x200000, 2 MiB)")),
                Arguments.of("entry before the image", 16, List.of("--entry", "0xfffff"),
                        List.of("the entry point 0xfffff is outside the flat image, which is loaded at 0x100000..0x100010")),
                Arguments.of("entry after the image", 16, List.of("--load-addr", "0x200000", "--entry", "0x200010"),
                        List.of("the entry point 0x200010 is outside the flat image", "0x200000..0x200010")),
                Arguments.of("wrapping past 2^64", 16, List.of("--load-addr", "-8", "--entry", "-8"),
                        List.of("the flat image at 0xfffffffffffffff8 (16 bytes) wraps past the top")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("flatRefusals")
    void badFlatImagesAreRefused(String what, int size, List<String> options, List<String> fragments)
            throws IOException {
        byte[] nops = new byte[size];
        Arrays.fill(nops, (byte) 0x90);
        Path image = write("kernel.bin", nops);
        assertImageRefused(run(image, options), image, fragments);
    }

    // ---- bad options -------------------------------------------------------------------------------

    static Arguments usage(String args, String... fragments) {
        return Arguments.of(args, List.of(fragments));
    }

    /** Options with a valid image: only the option is wrong. */
    static Stream<Arguments> badOptions() {
        return Stream.of(
                usage("--mem 0", "Invalid value for option '--mem': '0' is not a positive size"),
                usage("--mem -5", "Invalid value for option '--mem': '-5' is not a positive size"),
                usage("--mem 12Q", "Invalid value for option '--mem': '12Q' is not a size", "64M"),
                usage("--mem 1.5M", "'1.5M' is not a size"),
                usage("--mem M", "'M' is not a size"),
                usage("--mem 4097", "Invalid value for option '--mem': '4097' is not a multiple of 4 KiB"),
                usage("--mem 6K", "'6K' (6144 bytes) is not a multiple of 4 KiB"),
                usage("--mem 2048G", "'2048G' is more than the 40-bit physical address space", "1024G"),
                usage("--mem 99999999999G", "'99999999999G' is too large"),
                usage("--max-insns abc", "Invalid value for option '--max-insns': 'abc' is not a whole number"),
                usage("--max-insns -1", "Invalid value for option '--max-insns': '-1' is negative"),
                usage("--max-insns 1.5", "'1.5' is not a whole number"),
                usage("--max-insns 1e6", "'1e6' is not a whole number"),
                usage("--max-insns 99999999999999999999", "'99999999999999999999' is too large"),
                usage("--load-addr zz", "Invalid value for option '--load-addr': 'zz' is not an address"),
                usage("--entry 0x10g", "Invalid value for option '--entry': '0x10g' is not an address"),
                usage("--bogus", "Unknown option: '--bogus'"),
                usage("-x", "Unknown option: '-x'"));
    }

    @ParameterizedTest(name = "run {0} hello.elf")
    @MethodSource("badOptions")
    void badOptionsAreRefused(String options, List<String> fragments) {
        Result r = run(Guests.image("hello"), List.of(options.split(" ")));
        assertUsageError(r, "pml4 run", fragments);
    }

    static Stream<Arguments> badCommandLines() {
        return Stream.of(
                Arguments.of(List.of("run"), "pml4 run", List.of("Missing required parameter: 'IMAGE'")),
                Arguments.of(List.of("run", "--stats"), "pml4 run", List.of("Missing required parameter: 'IMAGE'")),
                Arguments.of(List.of("run", "GUEST", "--mem"), "pml4 run",
                        List.of("Missing required parameter for option '--mem'")),
                Arguments.of(List.of("run", "GUEST", "GUEST"), "pml4 run", List.of("Unmatched argument", "hello.elf")),
                Arguments.of(List.of(), "pml4", List.of("Missing command: try 'pml4 run IMAGE'")),
                Arguments.of(List.of("GUEST"), "pml4", List.of("Unmatched argument at index 0", "hello.elf")),
                Arguments.of(List.of("frob"), "pml4", List.of("Unmatched argument at index 0: 'frob'")),
                Arguments.of(List.of("--bogus", "run", "GUEST"), "pml4", List.of("Unknown option: '--bogus'")));
    }

    @ParameterizedTest(name = "pml4 {0}")
    @MethodSource("badCommandLines")
    void badCommandLinesAreRefused(List<String> args, String command, List<String> fragments) {
        String guest = Guests.image("hello").toString();
        Result r = pml4(args.stream().map(a -> a.equals("GUEST") ? guest : a).toArray(String[]::new));
        assertUsageError(r, command, fragments);
    }

    @Test
    void anUnwritableSerialFileIsRefused() throws IOException {
        Path where = dir.resolve("no-such-dir").resolve("serial.out");
        Result r = pml4("run", "--serial", where.toString(), "--serial-in", serialIn.toString(),
                Guests.image("hello").toString());
        assertRefused(r, "--serial " + where + ": ", List.of("cannot write there"));
    }

    @Test
    void aMissingSerialInputFileIsRefused() throws IOException {
        Path where = dir.resolve("no-such-input");
        Result r = pml4("run", "--serial", serialOut.toString(), "--serial-in", where.toString(),
                Guests.image("hello").toString());
        assertRefused(r, "--serial-in " + where + ": ", List.of("cannot read it"));
    }

    /** --svg's file is written by Graphviz at the end of the run; when dot cannot write it, status 2 says so. */
    @Test
    void anSvgThatCannotBeWrittenIsRefused() throws IOException {
        Path where = dir.resolve("no-such-dir").resolve("pt.svg");
        Result r = run(Guests.image("hello"), List.of("--svg", where.toString()));
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("pml4: --svg " + where + ": Graphviz's 'dot' failed"), r.err());
    }

    // ---- good input --------------------------------------------------------------------------------

    @Test
    void svgDrawsThePageTablesWithGraphviz() throws IOException {
        Path svg = dir.resolve("pt.svg");
        Result r = run(Guests.image("paging32"), List.of("--svg", svg.toString()));
        assertEquals(1, r.status(), r.err());
        String text = Files.readString(svg);
        assertTrue(text.contains("<svg") && text.contains("PD at 0x109000") && text.contains("PT at 0x10a000"), text);
    }

    @Test
    void helloWritesItsTranscriptAndExitsWithStatus1() throws IOException {
        Result r = run(Guests.image("hello"));
        assertEquals(1, r.status(), r.err());
        assertArrayEquals(Files.readAllBytes(Guests.sourceDir().resolve("hello.expected")),
                Files.readAllBytes(serialOut), "serial output");
        assertEquals("", r.err());
        assertEquals("", r.out());
    }

    static List<String> guests() {
        return Guests.withTranscripts();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("guests")
    void everyGuestRunsAsExpected(String guest) throws IOException {
        Result r = run(Guests.image(guest));
        assertEquals(Guests.expectedStatus(guest), r.status(), r.err());
        assertEquals(Guests.expectedTranscript(guest), Files.readString(serialOut, ISO_8859_1));
        if (r.status() == 4) {
            assertTrue(r.err().startsWith("pml4: triple fault"), r.err());
        } else {
            assertEquals("", r.err());
        }
    }

    @Test
    void statsArePrintedOnStandardError() throws IOException {
        Result r = run(Guests.image("hello"), "--stats");
        assertEquals(1, r.status(), r.err());
        assertEquals(Guests.expectedTranscript("hello"), Files.readString(serialOut, ISO_8859_1));
        List<String> lines = r.errLines();
        String n = "[0-9][0-9,.'\\u00a0\\u202f ]*";
        assertEquals(7, lines.size(), r.err());
        assertEquals("pml4: the guest wrote 0x0 to the debug-exit port: exit status 1", lines.get(0));
        assertTrue(lines.get(1).matches("pml4: " + n + " instructions, " + n + " page walks, " + n + " page faults"),
                lines.get(1));
        assertTrue(Long.parseLong(lines.get(1).replaceAll(" instructions.*", "").replaceAll("[^0-9]", "")) > 0,
                lines.get(1));
        for (int i = 0; i < 2; i++) {
            assertTrue(lines.get(2 + i).matches("pml4: " + (i == 0 ? "ITLB" : "DTLB") + ": " + n + " hits, " + n
                    + " misses, " + n + " walks, " + n + " fills, " + n + " evictions, " + n + " invalidated by " + n + " flushes"),
                    lines.get(2 + i));
        }
        // What the translation guard saw: hello's code is translated, and so checked, at least once.
        assertTrue(lines.get(4).matches("pml4: translation guard: " + n + " code fetches, " + n + " instructions checked, "
                + n + " #UD raised, " + n + " blocks cut short"), lines.get(4));
        assertFalse(lines.get(4).startsWith("pml4: translation guard: 0 "), lines.get(4));
        // Which mode ran: fast by default, from instruction 50,000, which hello does not reach.
        assertTrue(lines.get(5).matches("pml4: precise mode \\(fast mode starts at instruction " + n + ", which this run did not reach\\)"),
                lines.get(5));
        // How the engine held the translations: pml4's page table, which QEMU never found lacking
        // while Java was below it (nothing poisoned).
        assertTrue(lines.get(6).matches("pml4: engine page table: " + n + " code lookups missed, " + n + " misses from running code, "
                + n + " fills of QEMU's TLB, "
                + n + " refills answered natively, 0 poisoned"), lines.get(6));
        assertEquals("", r.out());
    }

    /** A longer run goes fast after its precise start, and --stats gives fast mode's counters. */
    @Test
    void fastModeStatsNameTheModeAndItsCounters() {
        Result r = run(Guests.image("compute"), "--stats", "--max-insns", "1000000");
        assertEquals(6, r.status(), r.err());
        String n = "[0-9][0-9,.'\\u00a0\\u202f ]*";
        List<String> lines = r.errLines();
        assertTrue(lines.get(lines.size() - 2).matches("pml4: fast mode; " + n + " blocks, " + n + " instructions through the code hook, "
                + n + " translations scanned, " + n + " stretches, " + n + " blocks on parked pages, " + n + " memory events made exact, " + n
                + " blocks removed again, " + n + " cache flushes"), r.err());
    }

    /** --mode precise says so, and nothing of fast mode's counters. */
    @Test
    void preciseModeStatsNameTheMode() throws IOException {
        Result r = run(Guests.image("hello"), "--stats", "--mode", "precise");
        assertEquals(1, r.status(), r.err());
        assertEquals(Guests.expectedTranscript("hello"), Files.readString(serialOut, ISO_8859_1));
        List<String> lines = r.errLines();
        assertEquals("pml4: precise mode", lines.get(lines.size() - 2), r.err());
    }

    @Test
    void theInstructionLimitEndsTheRunWithStatus6() {
        Result r = run(Guests.image("compute"), "--max-insns", "1000");
        assertEquals(6, r.status(), r.err());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.err().startsWith("pml4: the instruction limit (1000) was reached at RIP 0x"), r.err());
        assertTrue(r.err().contains("--max-insns"), r.err());
    }

    @Test
    void optionsThatWorkAreAccepted() throws IOException {
        // 0x1B00000: a hex size with a B in it is not a "B" suffix; 0: no instruction limit.
        Result r = run(Guests.image("hello"), "--mem", "0x1B00000", "--max-insns", "0", "--cmdline", "quiet");
        assertEquals(1, r.status(), r.err());
        assertEquals("", r.err());
        // hello prints the boot info, so the guest shows what it was given.
        String expected = Guests.expectedTranscript("hello")
                .replace("RAM size      0x0000000004000000 (64 MiB)", "RAM size      0x0000000001b00000 (27 MiB)")
                .replace("command line  (none)", "command line  \"quiet\"");
        assertNotEquals(Guests.expectedTranscript("hello"), expected, "hello.expected no longer shows RAM size and command line");
        assertEquals(expected, Files.readString(serialOut, ISO_8859_1));
    }

    // ---- --check-tlb ---------------------------------------------------------------------------------

    /** The report on standard error, the summary last; stop ends with status 10 before the access; report runs to the end. */
    @Test
    void checkTlbReportsAndStops() throws IOException {
        String image = Guests.image("tlbbug_unmap").toString();
        Result report = pml4("run", "--serial", serialOut.toString(), "--serial-in", serialIn.toString(), "--check-tlb", image);
        assertEquals(Guests.expectedStatus("tlbbug_unmap"), report.status(), report.err());
        assertEquals(Guests.expectedReport("tlbbug_unmap"), report.err());
        assertEquals(Guests.expectedTranscript("tlbbug_unmap"), Files.readString(serialOut, ISO_8859_1));

        Result stop = pml4("run", "--serial", serialOut.toString(), "--serial-in", serialIn.toString(), "--check-tlb=stop", image);
        assertEquals(10, stop.status(), stop.err());
        List<String> lines = stop.errLines();
        assertTrue(lines.getFirst().startsWith("pml4: stale TLB entry used: instruction ") && lines.getFirst().endsWith(": read of 0x8000000000"), stop.err());
        assertTrue(lines.get(lines.size() - 2).startsWith("pml4: stopped before a stale TLB entry was used: read of 0x8000000000 at RIP 0x"), stop.err());
        assertEquals("pml4: tlb check: 1 stale use, 0 dirty-bit warnings, 0 spurious page faults", lines.getLast());
        String transcript = Files.readString(serialOut, ISO_8859_1);
        assertTrue(transcript.endsWith("no INVLPG\n"), "the run ended before the stale read: " + transcript);
    }

    @Test
    void checkTlbRefusesAnUnknownMode() throws IOException {
        Result r = pml4("run", "--check-tlb=sometimes", Guests.image("hello").toString());
        assertEquals(2, r.status());
        assertEquals(List.of("pml4: --check-tlb=sometimes: use report or stop"), r.errLines());
    }

    /** A B in a hex number is a digit, not a "bytes" suffix. */
    @ParameterizedTest(name = "--mem {0}")
    @CsvSource({"64M, 67108864", "64MiB, 67108864", "64MB, 67108864", "64m, 67108864", "2G, 2147483648",
            "4096, 4096", "4096B, 4096", "16K, 16384", "16KB, 16384", "0x1B00000, 28311552", "0x1BM, 28311552",
            "0x1000B, 65547", "0XB000, 45056"})
    void sizesAreRead(String text, long bytes) {
        assertEquals(bytes, new Sizes.Size().convert(text));
    }

    /**
     * run converts paths itself (picocli's own converter calls Paths.get reflectively, slow in a cold
     * JVM); a path the file system refuses must still get picocli's own message.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"--serial", "--serial-in", "--svg", "--dump-on-exit", "--vga", "--screenshot"})
    void anImpossiblePathGetsPicocliOwnMessage(String option) {
        String impossible = "a\0b";
        var reference = CommandLine.Model.CommandSpec.create();
        reference.addOption(CommandLine.Model.OptionSpec.builder(option).type(Path.class).build());
        var expected = assertThrows(CommandLine.ParameterException.class,
                () -> new CommandLine(reference).parseArgs(option, impossible));
        var refused = assertThrows(IllegalArgumentException.class, () -> RunArguments.parse(List.of(option, impossible)));
        assertTrue(expected.getMessage().contains("cannot convert"), expected.getMessage());
        assertEquals(expected.getMessage(), refused.getMessage());
    }

    // ---- help --------------------------------------------------------------------------------------

    static final Set<String> RUN_OPTIONS = Set.of("--mem", "--serial", "--serial-in", "--max-insns", "--cmdline",
            "--load-addr", "--entry", "--tlb", "--trace", "--trace-format", "--trace-events", "--trace-from", "--trace-range",
            "--trace-on-fault", "--trace-ring", "--show", "--gdb", "--gdb-wait", "--dump-on-exit", "--check-tlb", "--stats", "--help",
            "--boot", "--module", "--vga", "--screenshot", "--display", "--mode", "--svg");

    /** So that a new option cannot be left out of the help test below. */
    @Test
    void everyRunOptionIsKnownToThisTest() {
        CommandLine run = Main.commandLine().getSubcommands().get("run");
        Set<String> declared = run.getCommandSpec().options().stream().map(o -> o.longestName())
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(new TreeSet<>(RUN_OPTIONS), declared);
    }

    @ParameterizedTest(name = "pml4 {0}")
    @CsvSource({"run --help", "help run", "run -h"})
    void runHelpMentionsEveryOption(String args) {
        Result r = pml4(args.split(" "));
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.err());
        assertTrue(r.out().startsWith("Usage: pml4 run "), r.out());
        for (String option : RUN_OPTIONS) {
            assertTrue(r.out().contains(option), () -> option + " missing from: " + r.out());
        }
        assertTrue(r.out().contains("IMAGE"), r.out());
    }

    @ParameterizedTest(name = "pml4 {0}")
    @CsvSource({"--help", "help", "-h"})
    void mainHelpListsRunAndTheExitStatuses(String args) {
        Result r = pml4(args);
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.err());
        for (String s : List.of("Usage: pml4 ", "run", "--help", "--version", "2  the command line or the image was refused",
                "4  triple fault", "6  the instruction limit was reached", "8  an internal error", "10  --check-tlb=stop")) {
            assertTrue(r.out().contains(s), () -> s + " missing from: " + r.out());
        }
    }

    @Test
    void versionPrintsTheName() {
        Result r = pml4("--version");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().startsWith("pml4 "), r.out());
    }
}
