package dev.pml4.machine;

import static dev.pml4.machine.ElfBuilder.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Supplier;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ElfImageTest {
    static final String NAME = "guest/bad.elf";
    static final byte[] TEXT = {(byte) 0x48, (byte) 0x31, (byte) 0xc0, (byte) 0xf4, (byte) 0xeb, (byte) 0xfd};
    static final byte[] DATA = "hello, data\0".getBytes();

    /** Program header 0: text at 0x100000 (R X); 1: data at 0x101000 with 0x1000 bytes of bss (R W). */
    static ElfBuilder good() {
        return new ElfBuilder()
                .entry(0x100000)
                .load(0x100000, 0x100000, TEXT, TEXT.length, PF_R | PF_X)
                .load(0x101000, 0x101000, DATA, 0x1000, PF_R | PF_W)
                .symbol("_start", 0x100000, 0, STT_FUNC, STB_GLOBAL);
    }

    /** The good file with one little-endian field overwritten. */
    static Supplier<byte[]> patched(int offset, long value, int size) {
        return () -> patch(good().build(), offset, value, size);
    }

    /** The good builder's section header for .symtab (or .strtab), field patched. */
    static Supplier<byte[]> patchedSection(boolean symtab, int field, long value, int size) {
        return () -> {
            ElfBuilder b = good();
            byte[] f = b.build();
            return patch(f, b.shdr(symtab ? b.symtabIndex() : b.strtabIndex()) + field, value, size);
        };
    }

    static Arguments row(String what, Supplier<byte[]> file, String... fragments) {
        return Arguments.of(what, file, List.of(fragments));
    }

    static Stream<Arguments> refusals() {
        return Stream.of(
                row("no magic", () -> "MZ not an elf file".getBytes(), "not an ELF file", "magic"),
                row("e_ident truncated", () -> Arrays.copyOf(good().build(), 10),
                        "ELF header truncated", "10 bytes"),
                row("32-bit class, x86-64 machine", patched(E_IDENT_CLASS, 1, 1), "e_machine is 62", "expected 3 (EM_386)",
                        "ELFCLASS32"),
                row("unknown class", patched(E_IDENT_CLASS, 7, 1), "EI_CLASS is 7", "ELFCLASS64", "ELFCLASS32"),
                row("big-endian", patched(E_IDENT_DATA, 2, 1), "big-endian", "ELFDATA2MSB"),
                row("unknown data encoding", patched(E_IDENT_DATA, 0, 1), "EI_DATA is 0", "little-endian"),
                row("EI_VERSION", patched(E_IDENT_VERSION, 0, 1), "EI_VERSION is 0", "EV_CURRENT"),
                row("header truncated", () -> Arrays.copyOf(good().build(), 40),
                        "ELF header truncated", "40 bytes", "64"),
                row("i386 machine", patched(E_MACHINE, 3, 2), "e_machine is 3", "EM_386", "62 (EM_X86_64)"),
                row("aarch64 machine", patched(E_MACHINE, 183, 2), "e_machine is 183", "EM_AARCH64"),
                row("ET_DYN", patched(E_TYPE, 3, 2),
                        "ET_DYN", "ET_DYN/ET_REL not supported, link with -static/-no-pie at a fixed address"),
                row("ET_REL", patched(E_TYPE, 1, 2),
                        "ET_REL", "ET_DYN/ET_REL not supported, link with -static/-no-pie at a fixed address"),
                row("ET_CORE", patched(E_TYPE, 4, 2), "e_type is 4", "ET_CORE", "ET_EXEC"),
                row("e_version", patched(E_VERSION, 0, 4), "e_version is 0", "EV_CURRENT"),
                row("e_phentsize", patched(E_PHENTSIZE, 32, 2), "e_phentsize is 32", "56"),
                row("e_phnum 0", patched(E_PHNUM, 0, 2), "no program headers", "PT_LOAD"),
                row("PN_XNUM", patched(E_PHNUM, 0xffff, 2), "PN_XNUM"),
                row("program headers past the end", patched(E_PHOFF, 0x7fff_0000L, 8),
                        "program header table", "e_phoff 0x7fff0000", "inside the file"),
                row("program header offset huge", patched(E_PHOFF, -8L, 8),
                        "program header table", "inside the file"),
                row("too many program headers", patched(E_PHNUM, 5000, 2),
                        "program header table", "5000 entries", "inside the file"),
                row("segment file bytes past the end", patched(phdr(1) + P_OFFSET, 0x10_0000, 8),
                        "PT_LOAD segment 1", "p_offset 0x100000", "past the end of the file"),
                row("segment p_filesz past the end", patched(phdr(0) + P_FILESZ, 0xffff_ffff_ffffL, 8),
                        "PT_LOAD segment 0", "larger than p_memsz"),
                row("p_filesz > p_memsz", patched(phdr(1) + P_MEMSZ, 4, 8),
                        "PT_LOAD segment 1", "p_filesz 0xc", "larger than p_memsz 0x4"),
                row("physical range wraps", () -> new ElfBuilder().entry(0x100000)
                                .load(0x100000, 0xffff_ffff_ffff_f000L, TEXT, 0x2000, PF_R | PF_X).build(),
                        "PT_LOAD segment 0", "physical range", "wraps past the top"),
                row("virtual range wraps", () -> new ElfBuilder().entry(0xffff_ffff_ffff_f000L)
                                .load(0xffff_ffff_ffff_f000L, 0x100000, TEXT, 0x2000, PF_R | PF_X).build(),
                        "PT_LOAD segment 0", "virtual range", "wraps past the top"),
                row("no PT_LOAD", () -> new ElfBuilder().header(PT_GNU_STACK).header(PT_NOTE).noSections().build(),
                        "no PT_LOAD segment", "2 program headers"),
                row("PT_INTERP", () -> new ElfBuilder().header(PT_INTERP).load(0x100000, TEXT).build(),
                        "program header 0 is PT_INTERP", "dynamically linked"),
                row("segments overlap physically", () -> new ElfBuilder()
                                .header(PT_GNU_STACK)
                                .load(0x100000, TEXT)
                                .load(0xffff_ffff_8010_0000L, 0x100004, DATA, DATA.length, PF_R).build(),
                        "PT_LOAD segments 1 and 2 overlap in physical memory",
                        "0x100000..0x100006", "0x100004..0x100010"),
                row("segments overlap virtually", () -> new ElfBuilder()
                                .load(0x100000, TEXT)
                                .load(0x100002, 0x200000, DATA, DATA.length, PF_R).build(),
                        "PT_LOAD segments 0 and 1 overlap in virtual memory"),
                row("bss overlaps the next segment", () -> new ElfBuilder()
                                .load(0x100000, 0x100000, TEXT, 0x2000, PF_R | PF_W)
                                .load(0x101000, DATA).build(),
                        "PT_LOAD segments 0 and 1 overlap in physical memory"),
                row("entry outside every segment", patched(E_ENTRY, 0x300000, 8),
                        "entry point e_entry 0x300000", "not inside any PT_LOAD", "0x100000..0x100006"),
                row("entry just past the bss", patched(E_ENTRY, 0x102000, 8),
                        "entry point e_entry 0x102000", "not inside any PT_LOAD"),
                row("section table outside the file", patched(E_SHOFF, 0x40_0000, 8),
                        "section header table", "e_shoff 0x400000", "inside the file"),
                row("section table cut short", () -> {
                    ElfBuilder b = good();
                    byte[] f = b.build();
                    return Arrays.copyOf(f, f.length - 10);
                }, "section header table", "inside the file"),
                row("e_shentsize", patched(E_SHENTSIZE, 40, 2), "e_shentsize is 40", "64"),
                row(".symtab outside the file", patchedSection(true, SH_OFFSET, 0x40_0000, 8),
                        ".symtab (section 3)", "sh_offset 0x400000", "past the end of the file"),
                row(".symtab too long", patchedSection(true, SH_SIZE, 24 * 1000, 8),
                        ".symtab (section 3)", "past the end of the file"),
                row(".symtab entry size", patchedSection(true, SH_ENTSIZE, 16, 8),
                        ".symtab (section 3)", "sh_entsize is 16", "Elf64_Sym"),
                row(".symtab partial symbol", patchedSection(true, SH_SIZE, 50, 8),
                        ".symtab (section 3)", "not a whole number"),
                row(".symtab sh_link", patchedSection(true, SH_LINK, 99, 4),
                        ".symtab (section 3)", "sh_link 99", "no string table"),
                row(".symtab sh_link to itself", patchedSection(true, SH_LINK, 3, 4),
                        "section 3, the sh_link of .symtab (section 3), is not a string table"),
                row(".strtab outside the file", patchedSection(false, SH_OFFSET, 0x40_0000, 8),
                        ".strtab (section 4", "past the end of the file"),
                row("symbol name outside .strtab", patchedSection(false, SH_SIZE, 1, 8),
                        "symbol 1 of .symtab", "outside .strtab"),
                row("symbol name without NUL", patchedSection(false, SH_SIZE, 4, 8),
                        "symbol 1 of .symtab", "without a NUL"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusals")
    void refuses(String what, Supplier<byte[]> file, List<String> fragments) {
        ImageRejectedException e = assertThrows(ImageRejectedException.class, () -> ElfImage.parse(NAME, file.get()));
        assertTrue(e.getMessage().startsWith(NAME + ": "), e.getMessage());
        assertEquals(NAME, e.file());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), () -> "\"" + fragment + "\" missing from: " + e.getMessage());
        }
    }

    @Test
    void parsesAGoodFile() throws Exception {
        ElfImage image = ElfImage.parse("guest/k.elf", good().build());
        assertEquals("guest/k.elf", image.name());
        assertEquals(0x100000, image.entry());
        List<LoadSegment> segments = image.segments();
        assertEquals(2, segments.size());

        LoadSegment text = segments.get(0);
        assertEquals(0, text.index());
        assertEquals(0x100000, text.physicalAddress());
        assertEquals(0x100000, text.virtualAddress());
        assertArrayEquals(TEXT, text.data());
        assertEquals(TEXT.length, text.memorySize());
        assertFalse(text.writable());
        assertTrue(text.executable());

        LoadSegment data = segments.get(1);
        assertEquals(1, data.index());
        assertArrayEquals(DATA, data.data());
        assertEquals(0x1000, data.memorySize());
        assertTrue(data.writable());
        assertFalse(data.executable());
        assertEquals("PT_LOAD segment 1", image.describe(data));
    }

    @Test
    void segmentIndexIsTheProgramHeaderIndex() throws Exception {
        ElfImage image = ElfImage.parse(NAME, new ElfBuilder()
                .header(PT_NOTE)
                .load(0x100000, TEXT)
                .header(PT_GNU_STACK)
                .load(0x200000, DATA)
                .build());
        assertEquals(List.of(1, 3), image.segments().stream().map(LoadSegment::index).toList());
    }

    @Test
    void emptyLoadSegmentsAreSkipped() throws Exception {
        ElfImage image = ElfImage.parse(NAME, new ElfBuilder()
                .load(0x100000, TEXT)
                .load(0x100000, 0x100000, new byte[0], 0, PF_R)
                .build());
        assertEquals(1, image.segments().size());
    }

    @Test
    void aSegmentMayEndExactlyAtTheTopOfTheAddressSpace() throws Exception {
        long top = 0xffff_ffff_ffff_f000L;
        ElfImage image = ElfImage.parse(NAME, new ElfBuilder().entry(top)
                .load(top, 0x100000, TEXT, 0x1000, PF_R | PF_X).build());
        assertEquals(top, image.segments().getFirst().virtualAddress());
    }

    @Test
    void aFileWithoutSectionsHasNoSymbols() throws Exception {
        ElfImage image = ElfImage.parse(NAME, good().noSections().build());
        assertTrue(image.symbols().isEmpty());
        assertEquals(Optional.empty(), image.symbols().describe(0x100000));
    }

    @Test
    void symbolsFromSymtab() throws Exception {
        ElfImage image = ElfImage.parse(NAME, new ElfBuilder()
                .entry(0x100000)
                .load(0x100000, 0x100000, new byte[0x100], 0x100, PF_R | PF_X)
                .load(0x101000, 0x101000, DATA, 0x1000, PF_R | PF_W)
                .symbol("_start", 0x100000, 0, STT_FUNC, STB_GLOBAL)
                .symbol("_start.hang", 0x100010, 0, STT_NOTYPE, STB_LOCAL)
                .symbol("handler.entry", 0x100020, 0, STT_NOTYPE, STB_LOCAL)
                .symbol("handler", 0x100020, 0x10, STT_FUNC, STB_GLOBAL)
                .symbol("counter", 0x101008, 8, STT_OBJECT, STB_LOCAL)
                .symbol("weak_hook", 0x100040, 0, STT_FUNC, STB_WEAK)
                .symbol("KERNEL_VMA", 0x100030, 0, STT_NOTYPE, STB_LOCAL, SHN_ABS)
                .symbol("extern_thing", 0, 0, STT_NOTYPE, STB_GLOBAL, SHN_UNDEF)
                .symbol("kernel.asm", 0, 0, STT_FILE, STB_LOCAL, SHN_ABS)
                .symbol("section", 0x100000, 0, STT_SECTION, STB_LOCAL)
                .build());
        SymbolTable symbols = image.symbols();
        assertEquals(List.of("_start.hang", "handler.entry", "counter", "_start", "handler", "weak_hook"),
                symbols.symbols().stream().map(SymbolTable.Symbol::name).toList());
        SymbolTable.Symbol handler = symbols.symbols().get(4);
        assertEquals(new SymbolTable.Symbol("handler", 0x100020, 0x10, SymbolTable.Kind.FUNC,
                SymbolTable.Binding.GLOBAL), handler);

        assertEquals(Optional.of("_start"), symbols.describe(0x100000));
        assertEquals(Optional.of("_start+0x5"), symbols.describe(0x100005));
        assertEquals(Optional.of("_start.hang+0x2"), symbols.describe(0x100012));
        // handler and handler.entry share an address: the global FUNC is named.
        assertEquals(Optional.of("handler"), symbols.describe(0x100020));
        // KERNEL_VMA is an absolute constant, not a place: it never names an address.
        assertEquals(Optional.of("handler+0x12"), symbols.describe(0x100032));
        assertEquals(Optional.of("weak_hook+0xbf"), symbols.describe(0x1000ff));
        assertEquals(Optional.of("counter"), symbols.describe(0x101008));
        assertEquals(Optional.of("counter+0xff0"), symbols.describe(0x101ff8));
        // Below every symbol, between segments, past the last segment: no name.
        assertEquals(Optional.empty(), symbols.describe(0xfffff));
        assertEquals(Optional.empty(), symbols.describe(0x100800));
        assertEquals(Optional.empty(), symbols.describe(0x101000)); // segment 1 starts before its first symbol
        assertEquals(Optional.empty(), symbols.describe(0x500000));

        assertEquals(OptionalLong.of(0x100020), symbols.lookup("handler"));
        assertEquals(OptionalLong.of(0x100010), symbols.lookup("_start.hang"));
        assertEquals(OptionalLong.empty(), symbols.lookup("KERNEL_VMA"));
        assertEquals(OptionalLong.empty(), symbols.lookup("extern_thing"));
        assertEquals(OptionalLong.empty(), symbols.lookup("nope"));
    }

    @Test
    void higherHalfSymbolsCompareUnsigned() throws Exception {
        long base = 0xffff_ffff_8010_0000L;
        ElfImage image = ElfImage.parse(NAME, new ElfBuilder()
                .entry(base)
                .load(base, 0x100000, new byte[0x2000], 0x2000, PF_R | PF_X)
                .symbol("_start", base, 0, STT_FUNC, STB_GLOBAL)
                .symbol("isr_page_fault", base + 0x1000, 0, STT_FUNC, STB_GLOBAL)
                .build());
        assertEquals(Optional.of("_start+0xfff"), image.symbols().describe(base + 0xfff));
        assertEquals(Optional.of("isr_page_fault+0x10"), image.symbols().describe(base + 0x1010));
        assertEquals(Optional.empty(), image.symbols().describe(0x100000));
        assertEquals(OptionalLong.of(base + 0x1000), image.symbols().lookup("isr_page_fault"));
    }

    @Test
    void standaloneSymbolTable() {
        SymbolTable t = SymbolTable.of(List.of(
                new SymbolTable.Symbol("a", 0x1000, 0, SymbolTable.Kind.FUNC, SymbolTable.Binding.LOCAL),
                new SymbolTable.Symbol("a", 0x2000, 0, SymbolTable.Kind.FUNC, SymbolTable.Binding.GLOBAL)));
        assertEquals(Optional.of("a+0x1000"), t.describe(0x3000));
        assertEquals(OptionalLong.of(0x2000), t.lookup("a"), "a global wins over a local of the same name");
        assertEquals(Optional.empty(), SymbolTable.empty().describe(0));
    }
}
