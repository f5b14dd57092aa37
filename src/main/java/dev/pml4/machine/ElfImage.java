package dev.pml4.machine;

import static dev.pml4.machine.Messages.hex;
import static dev.pml4.machine.Messages.range;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An ELF64 x86-64 executable (BOOT.md, "Images"), or an ELF32 i386 one for a Multiboot loader, parsed and validated by hand: the loader needs a
 * dozen fields and exact messages about the ones that are wrong, which no library gives.
 *
 * <p>Field offsets and constants come from the System V gABI ("ELF Header", "Program Header",
 * "Sections", "Symbol Table") and, for {@code EM_X86_64}, the x86-64 psABI. Everything is validated
 * before anything is trusted: a file that starts with {@code \x7fELF} is an ELF file or it is
 * refused, never guessed at.
 */
public final class ElfImage implements KernelImage {
    // e_ident (gABI "ELF Identification")
    private static final int EI_NIDENT = 16;
    private static final int EI_CLASS = 4;
    private static final int EI_DATA = 5;
    private static final int EI_VERSION = 6;
    private static final int ELFCLASS32 = 1;
    private static final int ELFCLASS64 = 2;
    private static final int ELFDATA2LSB = 1;
    private static final int ELFDATA2MSB = 2;
    private static final int EV_CURRENT = 1;

    // Elf64_Ehdr
    private static final int E_TYPE = 16;
    private static final int E_MACHINE = 18;
    private static final int E_VERSION = 20;
    private static final int ET_REL = 1;
    private static final int ET_EXEC = 2;
    private static final int ET_DYN = 3;
    private static final int ET_CORE = 4;
    private static final int EM_X86_64 = 62;
    private static final int EM_386 = 3;
    /** gABI: e_phnum of 0xffff means the real count is in section 0's sh_info. */
    private static final int PN_XNUM = 0xffff;

    // Elf64_Phdr
    private static final int P_TYPE = 0;
    private static final int PT_LOAD = 1;
    private static final int PT_INTERP = 3;
    private static final int PF_X = 1;
    private static final int PF_W = 2;

    // Elf64_Shdr
    private static final int SH_TYPE = 4;
    private static final int SHT_SYMTAB = 2;
    private static final int SHT_STRTAB = 3;

    // Elf64_Sym
    private static final int ST_NAME = 0;
    private static final int SHN_UNDEF = 0;
    private static final int SHN_ABS = 0xfff1;
    private static final int SHN_COMMON = 0xfff2;

    /**
     * Where the fields lie in one ELF class: the gABI's Elf32_* and Elf64_* structures ("ELF
     * Header", "Program Header", "Sections", "Symbol Table") differ in word size and order.
     * {@code machine} is the one e_machine a class may carry here: EM_386 for ELFCLASS32 (i386
     * psABI), EM_X86_64 for ELFCLASS64 (x86-64 psABI).
     */
    private record Layout(int bits, int machine, String machineName, int ehdrSize, int eEntry, int ePhoff,
                          int eShoff, int ePhentsize, int ePhnum, int eShentsize, int eShnum, int eShstrndx,
                          int phdrSize, int pFlags, int pOffset, int pVaddr, int pPaddr, int pFilesz, int pMemsz,
                          int shdrSize, int shFlags, int shAddr, int shOffset, int shSize, int shLink, int shEntsize,
                          int symSize, int stInfo, int stShndx, int stValue, int stSize) {
    }

    private static final Layout ELF64 = new Layout(64, EM_X86_64, "EM_X86_64", 64, 24, 32, 40, 54, 56, 58, 60, 62,
            56, 4, 8, 16, 24, 32, 40, 64, 8, 16, 24, 32, 40, 56, 24, 4, 6, 8, 16);
    private static final Layout ELF32 = new Layout(32, EM_386, "EM_386", 52, 24, 28, 32, 42, 44, 46, 48, 50,
            32, 24, 4, 8, 12, 16, 20, 40, 8, 12, 16, 20, 24, 36, 16, 12, 14, 4, 8);

    /**
     * The section header table as the file has it, for a Multiboot loader's ELF-sections
     * information (Multiboot 0.6.96 section 3.3 flags bit 5; Multiboot2 section 3.6.7).
     *
     * @param count       e_shnum (or section 0's sh_size under extended numbering)
     * @param entrySize   e_shentsize
     * @param stringIndex e_shstrndx
     * @param headers     the {@code count * entrySize} bytes of the table
     */
    public record SectionTable(int count, int entrySize, int stringIndex, byte[] headers) {
        public static final SectionTable NONE = new SectionTable(0, 0, 0, new byte[0]);
    }

    private final String name;
    private final List<LoadSegment> segments;
    private final long entry;
    private final SymbolTable symbols;
    private final int bits;
    private final byte[] file;
    private final SectionTable sections;

    private ElfImage(String name, List<LoadSegment> segments, long entry, SymbolTable symbols, int bits, byte[] file,
                     SectionTable sections) {
        this.name = name;
        this.segments = List.copyOf(segments);
        this.entry = entry;
        this.symbols = symbols;
        this.bits = bits;
        this.file = file;
        this.sections = sections;
    }

    /** 32 for an ELFCLASS32 (EM_386) file, 64 for ELFCLASS64 (EM_X86_64). */
    public int bits() {
        return bits;
    }

    /** The section header table, or {@link SectionTable#NONE} when the file has none. */
    public SectionTable sectionTable() {
        return sections;
    }

    /** {@code length} bytes of the file from {@code offset} (a section's contents), zero-filled past its end. */
    public byte[] fileBytes(long offset, long length) {
        byte[] out = new byte[(int) length];
        if (offset >= 0 && offset < file.length) {
            System.arraycopy(file, (int) offset, out, 0, (int) Math.min(length, file.length - offset));
        }
        return out;
    }

    /**
     * Parses and validates an ELF64 x86-64 or ELF32 i386 executable. Boot protocol 1 takes ELF64
     * only (see {@link KernelImages}); a Multiboot loader takes both.
     *
     * @param name how messages name the file
     * @throws ImageRejectedException when the file is not a loadable ELF64 x86-64 ET_EXEC, naming
     *                                the header or segment at fault and why
     */
    public static ElfImage parse(String name, byte[] file) throws ImageRejectedException {
        return new Parser(name, file).parse();
    }

    @Override
    public String name() {
        return name;
    }

    /**
     * The non-empty {@code PT_LOAD} segments in program-header order. A {@code PT_LOAD} with
     * {@code p_memsz} 0 occupies no memory and is left out.
     */
    @Override
    public List<LoadSegment> segments() {
        return segments;
    }

    @Override
    public long entry() {
        return entry;
    }

    @Override
    public SymbolTable symbols() {
        return symbols;
    }

    @Override
    public String describe(LoadSegment segment) {
        return "PT_LOAD segment " + segment.index();
    }

    @Override
    public String toString() {
        return "ElfImage[" + name + ", entry " + hex(entry) + ", " + segments.size() + " segments, " + symbols + "]";
    }

    /** One parse: the file, a little-endian view of it, and the name for messages. */
    private static final class Parser {
        private final String name;
        private final byte[] file;
        private final ByteBuffer buf;
        private Layout L = ELF64;

        Parser(String name, byte[] file) {
            this.name = name;
            this.file = file;
            this.buf = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        }

        ElfImage parse() throws ImageRejectedException {
            checkIdent();
            checkHeader();
            List<LoadSegment> segments = readSegments();
            checkOverlaps(segments);
            long entry = word(L.eEntry());
            checkEntry(entry, segments);
            List<SymbolTable.Symbol> symbols = readSymbols();
            return new ElfImage(name, segments, entry, SymbolTable.of(symbols, segments), L.bits(), file,
                    sectionTable());
        }

        private void checkIdent() throws ImageRejectedException {
            if (file.length < 4 || file[0] != 0x7f || file[1] != 'E' || file[2] != 'L' || file[3] != 'F') {
                throw reject("not an ELF file: it does not start with the magic bytes 0x7f 'E' 'L' 'F'");
            }
            if (file.length < EI_NIDENT) {
                throw truncatedHeader();
            }
            int elfClass = u8(EI_CLASS);
            if (elfClass != ELFCLASS64 && elfClass != ELFCLASS32) {
                throw reject("EI_CLASS is " + elfClass + ", expected 2 (ELFCLASS64) or 1 (ELFCLASS32)");
            }
            L = elfClass == ELFCLASS32 ? ELF32 : ELF64;
            int data = u8(EI_DATA);
            if (data == ELFDATA2MSB) {
                throw reject("a big-endian ELF file (EI_DATA is ELFDATA2MSB); x86-64 ELF files are little-endian");
            }
            if (data != ELFDATA2LSB) {
                throw reject("EI_DATA is " + data + ", expected 1 (ELFDATA2LSB, little-endian)");
            }
            int version = u8(EI_VERSION);
            if (version != EV_CURRENT) {
                throw reject("EI_VERSION is " + version + ", expected 1 (EV_CURRENT)");
            }
        }

        private void checkHeader() throws ImageRejectedException {
            if (file.length < L.ehdrSize()) {
                throw truncatedHeader();
            }
            int machine = u16(E_MACHINE);
            if (machine != L.machine()) {
                throw reject("e_machine is " + machine + machineName(machine) + ", expected " + L.machine()
                        + " (" + L.machineName() + ")" + (L.bits() == 32 ? " for an ELFCLASS32 file" : ""));
            }
            int type = u16(E_TYPE);
            if (type == ET_DYN || type == ET_REL) {
                throw reject("e_type is " + (type == ET_DYN
                        ? "ET_DYN (a shared object or position-independent executable)"
                        : "ET_REL (an object file that is not linked yet)")
                        + ": ET_DYN/ET_REL not supported, link with -static/-no-pie at a fixed address");
            }
            if (type != ET_EXEC) {
                throw reject("e_type is " + type + (type == ET_CORE ? " (ET_CORE, a core dump)" : "")
                        + ", expected 2 (ET_EXEC, an executable)");
            }
            long version = u32(E_VERSION);
            if (version != EV_CURRENT) {
                throw reject("e_version is " + version + ", expected 1 (EV_CURRENT)");
            }
        }

        private List<LoadSegment> readSegments() throws ImageRejectedException {
            long phoff = word(L.ePhoff());
            int phentsize = u16(L.ePhentsize());
            int phnum = u16(L.ePhnum());
            if (phnum == 0) {
                throw reject("no program headers (e_phnum is 0), so nothing to load: "
                        + "an ELF kernel needs at least one PT_LOAD segment");
            }
            if (phnum == PN_XNUM) {
                throw reject("e_phnum is 0xffff (PN_XNUM, extended program header numbering), which pml4 does not support");
            }
            if (phentsize != L.phdrSize()) {
                throw reject("e_phentsize is " + phentsize + ", expected " + L.phdrSize() + " (the size of an Elf" + L.bits() + "_Phdr)");
            }
            if (!inFile(phoff, (long) phnum * L.phdrSize())) {
                throw reject("the program header table (e_phoff " + hex(phoff) + ", " + phnum
                        + " entries of " + L.phdrSize() + " bytes) does not lie inside the file (" + file.length + " bytes)");
            }
            List<LoadSegment> segments = new ArrayList<>();
            int loads = 0;
            for (int i = 0; i < phnum; i++) {
                int base = (int) phoff + i * L.phdrSize();
                long type = u32(base + P_TYPE);
                if (type == PT_INTERP) {
                    throw reject("program header " + i + " is PT_INTERP: the file is dynamically linked and "
                            + "needs a program interpreter; link with -static/-no-pie at a fixed address");
                }
                if (type != PT_LOAD) {
                    continue;
                }
                loads++;
                String where = "PT_LOAD segment " + i;
                long flags = u32(base + L.pFlags());
                long offset = word(base + L.pOffset());
                long vaddr = word(base + L.pVaddr());
                long paddr = word(base + L.pPaddr());
                long filesz = word(base + L.pFilesz());
                long memsz = word(base + L.pMemsz());
                if (Long.compareUnsigned(filesz, memsz) > 0) {
                    throw reject(where + ": p_filesz " + hex(filesz) + " is larger than p_memsz " + hex(memsz)
                            + " (the file holds more bytes than the segment has room for)");
                }
                if (!inFile(offset, filesz)) {
                    throw reject(where + ": its file bytes (p_offset " + hex(offset) + ", p_filesz " + hex(filesz)
                            + ") extend past the end of the file (" + file.length + " bytes)");
                }
                if (memsz == 0) {
                    continue; // occupies nothing; ld emits these rarely, and there is nothing to place
                }
                if (wraps(paddr, memsz)) {
                    throw reject(where + ": its physical range (p_paddr " + hex(paddr) + " + p_memsz " + hex(memsz)
                            + ") wraps past the top of the 64-bit address space");
                }
                if (wraps(vaddr, memsz)) {
                    throw reject(where + ": its virtual range (p_vaddr " + hex(vaddr) + " + p_memsz " + hex(memsz)
                            + ") wraps past the top of the 64-bit address space");
                }
                byte[] data = Arrays.copyOfRange(file, (int) offset, (int) (offset + filesz));
                segments.add(new LoadSegment(i, paddr, vaddr, data, memsz, (flags & PF_W) != 0, (flags & PF_X) != 0));
            }
            if (loads == 0) {
                throw reject("no PT_LOAD segment among its " + phnum + " program headers, so nothing to load");
            }
            return segments;
        }

        /** Two segments on the same bytes would overwrite each other; neither half can be right. */
        private void checkOverlaps(List<LoadSegment> segments) throws ImageRejectedException {
            for (int a = 0; a < segments.size(); a++) {
                for (int b = a + 1; b < segments.size(); b++) {
                    LoadSegment x = segments.get(a);
                    LoadSegment y = segments.get(b);
                    if (overlap(x.physicalAddress(), x.lastPhysical(), y.physicalAddress(), y.lastPhysical())) {
                        throw reject("PT_LOAD segments " + x.index() + " and " + y.index()
                                + " overlap in physical memory (p_paddr ranges "
                                + range(x.physicalAddress(), x.memorySize()) + " and "
                                + range(y.physicalAddress(), y.memorySize()) + ")");
                    }
                    if (overlap(x.virtualAddress(), x.lastVirtual(), y.virtualAddress(), y.lastVirtual())) {
                        throw reject("PT_LOAD segments " + x.index() + " and " + y.index()
                                + " overlap in virtual memory (p_vaddr ranges "
                                + range(x.virtualAddress(), x.memorySize()) + " and "
                                + range(y.virtualAddress(), y.memorySize()) + ")");
                    }
                }
            }
        }

        private void checkEntry(long entry, List<LoadSegment> segments) throws ImageRejectedException {
            StringBuilder ranges = new StringBuilder();
            for (LoadSegment s : segments) {
                if (Long.compareUnsigned(entry, s.virtualAddress()) >= 0
                        && Long.compareUnsigned(entry, s.lastVirtual()) <= 0) {
                    return;
                }
                ranges.append(ranges.isEmpty() ? "" : ", ").append(range(s.virtualAddress(), s.memorySize()));
            }
            throw reject("the entry point e_entry " + hex(entry)
                    + " is not inside any PT_LOAD segment's virtual range (" + ranges + ")");
        }

        /**
         * The {@code SHT_SYMTAB} section's FUNC, OBJECT and NOTYPE symbols that name an address.
         * Section headers are optional (a stripped kernel has none worth reading), but a section
         * table or symbol table that is there and points outside the file is a broken file, and is
         * refused rather than half-read.
         */
        private List<SymbolTable.Symbol> readSymbols() throws ImageRejectedException {
            long shoff = word(L.eShoff());
            if (shoff == 0) {
                return List.of(); // gABI: e_shoff 0 means no section header table
            }
            int shentsize = u16(L.eShentsize());
            if (shentsize != L.shdrSize()) {
                throw reject("e_shentsize is " + shentsize + ", expected " + L.shdrSize() + " (the size of an Elf" + L.bits() + "_Shdr)");
            }
            long count = u16(L.eShnum());
            if (count == 0) {
                // gABI: e_shnum 0 with a table present means the count is in section 0's sh_size.
                if (!inFile(shoff, L.shdrSize())) {
                    throw sectionTableOutside(shoff, 1);
                }
                count = word((int) shoff + L.shSize());
            }
            if (Long.compareUnsigned(count, file.length / L.shdrSize()) > 0 || !inFile(shoff, count * L.shdrSize())) {
                throw sectionTableOutside(shoff, count);
            }
            for (int j = 0; j < count; j++) {
                int header = (int) shoff + j * L.shdrSize();
                if (u32(header + SH_TYPE) == SHT_SYMTAB) {
                    return readSymtab(j, header, count, shoff);
                }
            }
            return List.of();
        }

        private List<SymbolTable.Symbol> readSymtab(int index, int header, long count, long shoff)
                throws ImageRejectedException {
            String symtab = ".symtab (section " + index + ")";
            long offset = word(header + L.shOffset());
            long size = word(header + L.shSize());
            long entsize = word(header + L.shEntsize());
            long link = u32(header + L.shLink());
            if (entsize != L.symSize()) {
                throw reject(symtab + ": sh_entsize is " + entsize + ", expected " + L.symSize() + " (the size of an Elf" + L.bits() + "_Sym)");
            }
            if (Long.remainderUnsigned(size, L.symSize()) != 0) {
                throw reject(symtab + ": sh_size " + hex(size) + " is not a whole number of " + L.symSize() + "-byte symbols");
            }
            if (!inFile(offset, size)) {
                throw reject(symtab + ": sh_offset " + hex(offset) + " + sh_size " + hex(size)
                        + " extends past the end of the file (" + file.length + " bytes)");
            }
            if (link == 0 || link >= count) {
                throw reject(symtab + ": sh_link " + link + " is not a section index, so it names no string table");
            }
            int strHeader = (int) shoff + (int) link * L.shdrSize();
            String strtab = ".strtab (section " + link + ", the sh_link of .symtab)";
            long strType = u32(strHeader + SH_TYPE);
            if (strType != SHT_STRTAB) {
                throw reject("section " + link + ", the sh_link of " + symtab + ", is not a string table (sh_type "
                        + strType + ", expected 3, SHT_STRTAB)");
            }
            long strOffset = word(strHeader + L.shOffset());
            long strSize = word(strHeader + L.shSize());
            if (!inFile(strOffset, strSize)) {
                throw reject(strtab + ": sh_offset " + hex(strOffset) + " + sh_size " + hex(strSize)
                        + " extends past the end of the file (" + file.length + " bytes)");
            }
            List<SymbolTable.Symbol> symbols = new ArrayList<>();
            int n = (int) (size / L.symSize());
            for (int s = 1; s < n; s++) { // symbol 0 is the gABI's reserved null symbol
                int sym = (int) offset + s * L.symSize();
                long nameOffset = u32(sym + ST_NAME);
                int info = u8(sym + L.stInfo());
                int shndx = u16(sym + L.stShndx());
                SymbolTable.Kind kind = switch (info & 0xf) {
                    case 0 -> SymbolTable.Kind.NOTYPE;
                    case 1 -> SymbolTable.Kind.OBJECT;
                    case 2 -> SymbolTable.Kind.FUNC;
                    default -> null; // STT_SECTION, STT_FILE, STT_TLS...: not places in the code
                };
                SymbolTable.Binding binding = switch (info >>> 4) {
                    case 0 -> SymbolTable.Binding.LOCAL;
                    case 1 -> SymbolTable.Binding.GLOBAL;
                    case 2 -> SymbolTable.Binding.WEAK;
                    default -> null;
                };
                // Undefined and common symbols have no address; SHN_ABS ones are constants (NASM's
                // EQU), which would otherwise "describe" unrelated addresses.
                if (kind == null || binding == null || nameOffset == 0
                        || shndx == SHN_UNDEF || shndx == SHN_ABS || shndx == SHN_COMMON) {
                    continue;
                }
                if (nameOffset >= strSize) {
                    throw reject("symbol " + s + " of " + symtab + ": its name offset " + hex(nameOffset)
                            + " lies outside " + strtab + ", which is " + hex(strSize) + " bytes");
                }
                int start = (int) (strOffset + nameOffset);
                int end = start;
                int limit = (int) (strOffset + strSize);
                while (end < limit && file[end] != 0) {
                    end++;
                }
                if (end == limit) {
                    throw reject("symbol " + s + " of " + symtab + ": its name at offset " + hex(nameOffset)
                            + " runs to the end of " + strtab + " without a NUL");
                }
                String symbolName = new String(file, start, end - start, StandardCharsets.UTF_8);
                symbols.add(new SymbolTable.Symbol(symbolName, word(sym + L.stValue()), word(sym + L.stSize()), kind, binding));
            }
            return symbols;
        }

        private ImageRejectedException sectionTableOutside(long shoff, long count) {
            return reject("the section header table (e_shoff " + hex(shoff) + ", " + Long.toUnsignedString(count)
                    + " entries of " + L.shdrSize() + " bytes) does not lie inside the file (" + file.length + " bytes)");
        }

        private ImageRejectedException truncatedHeader() {
            return reject("ELF header truncated: the file is " + file.length
                    + " bytes, an ELF" + L.bits() + " header needs " + L.ehdrSize());
        }

        private ImageRejectedException reject(String reason) {
            return new ImageRejectedException(name, reason);
        }

        /** True when [offset, offset + length) lies inside the file, both read as unsigned. */
        private boolean inFile(long offset, long length) {
            return Long.compareUnsigned(offset, file.length) <= 0
                    && Long.compareUnsigned(length, file.length - offset) <= 0;
        }

        private int u8(int offset) {
            return buf.get(offset) & 0xff;
        }

        private int u16(int offset) {
            return buf.getShort(offset) & 0xffff;
        }

        private long u32(int offset) {
            return buf.getInt(offset) & 0xffff_ffffL;
        }

        /** An address-sized field: Elf32_Addr/Elf32_Off/Elf32_Word (4 bytes) or their 8-byte Elf64 kinds. */
        private long word(int offset) {
            return L.bits() == 32 ? u32(offset) : u64(offset);
        }

        /**
         * The section header table for {@link ElfImage#sectionTable()}; read after
         * {@link #readSymbols()} has validated it (its size and place in the file).
         */
        private SectionTable sectionTable() {
            long shoff = word(L.eShoff());
            if (shoff == 0) {
                return SectionTable.NONE;
            }
            long count = u16(L.eShnum());
            if (count == 0) {
                count = word((int) shoff + L.shSize());
            }
            int size = (int) count * L.shdrSize();
            return new SectionTable((int) count, L.shdrSize(), u16(L.eShstrndx()),
                    Arrays.copyOfRange(file, (int) shoff, (int) shoff + size));
        }

        private long u64(int offset) {
            return buf.getLong(offset);
        }
    }

    /** True when [start, start + length) runs past 2^64; a range ending exactly at 2^64 is fine. */
    private static boolean wraps(long start, long length) {
        return Long.compareUnsigned(start + length - 1, start) < 0;
    }

    /** Inclusive ranges [a0, a1] and [b0, b1], unsigned. */
    static boolean overlap(long a0, long a1, long b0, long b1) {
        return Long.compareUnsigned(a0, b1) <= 0 && Long.compareUnsigned(b0, a1) <= 0;
    }

    private static String machineName(int machine) {
        return switch (machine) {
            case 3 -> " (EM_386, 32-bit x86)";
            case 40 -> " (EM_ARM)";
            case 183 -> " (EM_AARCH64)";
            case 243 -> " (EM_RISCV)";
            case 0 -> " (EM_NONE)";
            default -> "";
        };
    }
}
