package dev.pml4.machine;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Test-only: writes small ELF64 x86-64 executables in memory, laid out as the gABI says, so tests
 * can make good files and then break exactly one field of them. Public for the CLI tests in
 * {@code dev.pml4.cli}.
 *
 * <p>Layout: ELF header (64 bytes), program headers (56 each, in the order added), each segment's
 * file bytes (16-aligned), then, unless {@link #noSections()}: .strtab, .symtab, .shstrtab and the
 * section headers [null, one PROGBITS per PT_LOAD, .symtab, .strtab, .shstrtab]. After
 * {@link #build()}, the offsets of the interesting parts are available for patching.
 */
public final class ElfBuilder {
    // gABI / psABI values the builder writes.
    public static final int PT_LOAD = 1;
    public static final int PT_INTERP = 3;
    public static final int PT_NOTE = 4;
    public static final int PT_GNU_STACK = 0x6474e551;
    public static final int PF_X = 1;
    public static final int PF_W = 2;
    public static final int PF_R = 4;
    public static final int STT_NOTYPE = 0;
    public static final int STT_OBJECT = 1;
    public static final int STT_FUNC = 2;
    public static final int STT_SECTION = 3;
    public static final int STT_FILE = 4;
    public static final int STB_LOCAL = 0;
    public static final int STB_GLOBAL = 1;
    public static final int STB_WEAK = 2;
    public static final int SHN_UNDEF = 0;
    public static final int SHN_ABS = 0xfff1;

    // Field offsets, for tests that patch.
    public static final int E_IDENT_CLASS = 4;
    public static final int E_IDENT_DATA = 5;
    public static final int E_IDENT_VERSION = 6;
    public static final int E_TYPE = 16;
    public static final int E_MACHINE = 18;
    public static final int E_VERSION = 20;
    public static final int E_ENTRY = 24;
    public static final int E_PHOFF = 32;
    public static final int E_SHOFF = 40;
    public static final int E_PHENTSIZE = 54;
    public static final int E_PHNUM = 56;
    public static final int E_SHENTSIZE = 58;
    public static final int E_SHNUM = 60;
    public static final int P_OFFSET = 8;
    public static final int P_VADDR = 16;
    public static final int P_PADDR = 24;
    public static final int P_FILESZ = 32;
    public static final int P_MEMSZ = 40;
    public static final int SH_OFFSET = 24;
    public static final int SH_SIZE = 32;
    public static final int SH_LINK = 40;
    public static final int SH_ENTSIZE = 56;

    private record Phdr(int type, int flags, long vaddr, long paddr, byte[] data, long memsz) {
    }

    private record Sym(String name, long value, long size, int type, int bind, int shndx) {
    }

    private long entry = 0x100000;
    private final List<Phdr> phdrs = new ArrayList<>();
    private final List<Sym> symbols = new ArrayList<>();
    private boolean sections = true;

    // Filled in by build().
    private int shoff;
    private int symtabIndex;
    private int strtabIndex;

    public ElfBuilder entry(long entry) {
        this.entry = entry;
        return this;
    }

    /** A PT_LOAD; memsz beyond data.length is bss. */
    public ElfBuilder load(long vaddr, long paddr, byte[] data, long memsz, int flags) {
        phdrs.add(new Phdr(PT_LOAD, flags, vaddr, paddr, data, memsz));
        return this;
    }

    /** An identity-placed, readable and executable PT_LOAD with no bss. */
    public ElfBuilder load(long address, byte[] data) {
        return load(address, address, data, data.length, PF_R | PF_X);
    }

    /** A program header of another type, with no contents (PT_GNU_STACK, PT_NOTE...). */
    public ElfBuilder header(int type) {
        phdrs.add(new Phdr(type, PF_R, 0, 0, new byte[0], 0));
        return this;
    }

    public ElfBuilder symbol(String name, long value, long size, int type, int bind) {
        return symbol(name, value, size, type, bind, -1);
    }

    /** A symbol in section {@code shndx}; -1 picks the section of the segment that holds it. */
    public ElfBuilder symbol(String name, long value, long size, int type, int bind, int shndx) {
        symbols.add(new Sym(name, value, size, type, bind, shndx));
        return this;
    }

    /** No section headers at all (e_shoff 0), as a stripped file may have. */
    public ElfBuilder noSections() {
        sections = false;
        return this;
    }

    /** Offset of program header i. */
    public static int phdr(int i) {
        return 64 + 56 * i;
    }

    /** Offset of section header i (after build()). */
    public int shdr(int i) {
        return shoff + 64 * i;
    }

    public int symtabIndex() {
        return symtabIndex;
    }

    public int strtabIndex() {
        return strtabIndex;
    }

    public byte[] build() {
        int phnum = phdrs.size();
        Out out = new Out();
        out.pad(64 + 56 * phnum);

        long[] offsets = new long[phnum];
        for (int i = 0; i < phnum; i++) {
            out.align(16);
            offsets[i] = out.size();
            out.bytes(phdrs.get(i).data());
        }

        // Section index of the PROGBITS section for each PT_LOAD (1-based, in order).
        List<Integer> loadIndex = new ArrayList<>();
        for (int i = 0; i < phnum; i++) {
            if (phdrs.get(i).type() == PT_LOAD) {
                loadIndex.add(i);
            }
        }
        int loadSections = loadIndex.size();
        symtabIndex = 1 + loadSections;
        strtabIndex = symtabIndex + 1;
        int shstrtabIndex = strtabIndex + 1;

        long strtabOffset = 0;
        byte[] strtab = new byte[0];
        long symtabOffset = 0;
        byte[] symtab = new byte[0];
        long shstrtabOffset = 0;
        byte[] shstrtab = new byte[0];
        int firstGlobal = 1;
        if (sections) {
            // gABI: locals first, and sh_info is the index of the first non-local symbol.
            List<Sym> sorted = new ArrayList<>();
            symbols.stream().filter(s -> s.bind() == STB_LOCAL).forEach(sorted::add);
            firstGlobal = 1 + sorted.size();
            symbols.stream().filter(s -> s.bind() != STB_LOCAL).forEach(sorted::add);

            Strings names = new Strings();
            Out syms = new Out();
            syms.pad(24); // the null symbol
            for (Sym s : sorted) {
                int shndx = s.shndx() >= 0 ? s.shndx() : sectionOf(s.value(), loadIndex);
                syms.u32(names.add(s.name()));
                syms.u8((s.bind() << 4) | s.type());
                syms.u8(0);
                syms.u16(shndx);
                syms.u64(s.value());
                syms.u64(s.size());
            }
            strtab = names.bytes();
            symtab = syms.toByteArray();

            Strings sectionNames = new Strings();
            int[] loadNames = new int[loadSections];
            for (int k = 0; k < loadSections; k++) {
                loadNames[k] = sectionNames.add(".seg" + loadIndex.get(k));
            }
            int symtabName = sectionNames.add(".symtab");
            int strtabName = sectionNames.add(".strtab");
            int shstrtabName = sectionNames.add(".shstrtab");
            shstrtab = sectionNames.bytes();

            out.align(8);
            strtabOffset = out.size();
            out.bytes(strtab);
            out.align(8);
            symtabOffset = out.size();
            out.bytes(symtab);
            shstrtabOffset = out.size();
            out.bytes(shstrtab);
            out.align(8);
            shoff = out.size();

            out.pad(64); // SHN_UNDEF section header
            for (int k = 0; k < loadSections; k++) {
                Phdr p = phdrs.get(loadIndex.get(k));
                boolean nobits = p.data().length == 0;
                out.section(loadNames[k], nobits ? 8 : 1, 2 | ((p.flags() & PF_W) != 0 ? 1 : 0)
                                | ((p.flags() & PF_X) != 0 ? 4 : 0), p.vaddr(), offsets[loadIndex.get(k)],
                        nobits ? p.memsz() : p.data().length, 0, 0, 16, 0);
            }
            out.section(symtabName, 2, 0, 0, symtabOffset, symtab.length, strtabIndex, firstGlobal, 8, 24);
            out.section(strtabName, 3, 0, 0, strtabOffset, strtab.length, 0, 0, 1, 0);
            out.section(shstrtabName, 3, 0, 0, shstrtabOffset, shstrtab.length, 0, 0, 1, 0);
        }

        byte[] file = out.toByteArray();
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0});
        b.putShort(E_TYPE, (short) 2);        // ET_EXEC
        b.putShort(E_MACHINE, (short) 62);    // EM_X86_64
        b.putInt(E_VERSION, 1);               // EV_CURRENT
        b.putLong(E_ENTRY, entry);
        b.putLong(E_PHOFF, 64);
        b.putLong(E_SHOFF, sections ? shoff : 0);
        b.putShort(52, (short) 64);           // e_ehsize
        b.putShort(E_PHENTSIZE, (short) 56);
        b.putShort(E_PHNUM, (short) phnum);
        b.putShort(E_SHENTSIZE, (short) (sections ? 64 : 0));
        b.putShort(E_SHNUM, (short) (sections ? shstrtabIndex + 1 : 0));
        b.putShort(62, (short) (sections ? shstrtabIndex : 0)); // e_shstrndx
        for (int i = 0; i < phnum; i++) {
            Phdr p = phdrs.get(i);
            int h = phdr(i);
            b.putInt(h, p.type());
            b.putInt(h + 4, p.flags());
            b.putLong(h + P_OFFSET, p.type() == PT_LOAD ? offsets[i] : 0);
            b.putLong(h + P_VADDR, p.vaddr());
            b.putLong(h + P_PADDR, p.paddr());
            b.putLong(h + P_FILESZ, p.data().length);
            b.putLong(h + P_MEMSZ, p.memsz());
            b.putLong(h + 48, p.type() == PT_LOAD ? 0x1000 : 8); // p_align
        }
        return file;
    }

    private int sectionOf(long value, List<Integer> loadIndex) {
        for (int k = 0; k < loadIndex.size(); k++) {
            Phdr p = phdrs.get(loadIndex.get(k));
            if (Long.compareUnsigned(value, p.vaddr()) >= 0 && Long.compareUnsigned(value - p.vaddr(), p.memsz()) <= 0) {
                return 1 + k;
            }
        }
        return loadIndex.isEmpty() ? SHN_ABS : 1;
    }

    /** Writes a little-endian value of {@code size} bytes into {@code file} at {@code offset}. */
    public static byte[] patch(byte[] file, int offset, long value, int size) {
        for (int i = 0; i < size; i++) {
            file[offset + i] = (byte) (value >>> (8 * i));
        }
        return file;
    }

    /** A string table: starts with the empty string, as the gABI requires. */
    private static final class Strings {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        Strings() {
            bytes.write(0);
        }

        int add(String s) {
            int offset = bytes.size();
            bytes.writeBytes(s.getBytes(StandardCharsets.UTF_8));
            bytes.write(0);
            return offset;
        }

        byte[] bytes() {
            return bytes.toByteArray();
        }
    }

    private static final class Out extends ByteArrayOutputStream {
        void pad(int n) {
            write(new byte[n], 0, n);
        }

        void align(int a) {
            while (size() % a != 0) {
                write(0);
            }
        }

        void bytes(byte[] b) {
            write(b, 0, b.length);
        }

        void u8(int v) {
            write(v);
        }

        void u16(int v) {
            u8(v);
            u8(v >>> 8);
        }

        void u32(long v) {
            for (int i = 0; i < 4; i++) {
                write((int) (v >>> (8 * i)));
            }
        }

        void u64(long v) {
            for (int i = 0; i < 8; i++) {
                write((int) (v >>> (8 * i)));
            }
        }

        void section(int name, int type, long flags, long addr, long offset, long size, int link, int info,
                     long align, long entsize) {
            u32(name);
            u32(type);
            u64(flags);
            u64(addr);
            u64(offset);
            u64(size);
            u32(link);
            u32(info);
            u64(align);
            u64(entsize);
        }
    }
}
