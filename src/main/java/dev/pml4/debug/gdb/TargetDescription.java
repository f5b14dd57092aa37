package dev.pml4.debug.gdb;

import dev.pml4.debug.Register;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The registers as gdb numbers them, and the target description XML
 * ({@code qXfer:features:read:target.xml}) that tells gdb so.
 *
 * <p>Features, in this order (numbers are gdb's remote register numbers):
 * <ul>
 *   <li>{@code org.gnu.gdb.i386.core}, 0..39: rax..r15, rip, eflags (32 bits), cs ss ds es fs gs
 *       (32 bits each), then st0..st7 and fctrl..fop. gdb refuses an x86-64 description whose core
 *       feature lacks the x87 registers, so they are described; pml4 does not show the x87
 *       state, and the stub reports them <em>unavailable</em> ({@code xx} bytes), which gdb prints
 *       as {@code <unavailable>}.</li>
 *   <li>{@code org.gnu.gdb.i386.segments}, 40..41: fs_base, gs_base.</li>
 *   <li>{@code org.pml4.system}, 42..47: cr0, cr2, cr3, cr4, cr8, efer, in register group
 *       {@code system}. cr2, cr3 and cr8 have 64 bits; cr0, cr4
 *       and efer have 32, since their upper halves are reserved, and print their flags by name
 *       ({@code [ PE ET WP PG ]}).</li>
 * </ul>
 * gdb 13 on x86 ignores the {@code group} attribute of a description (its own
 * {@code i386_register_reggroup_p} decides), so {@code info registers system} lists nothing and
 * plain {@code info registers} shows the control registers after the segment bases;
 * {@code info registers cr3} or {@code p/x $cr3} name one. The attribute stays for clients that
 * honour it.
 * No {@code org.gnu.gdb.i386.sse} (optional for gdb) and no {@code org.gnu.gdb.i386.linux}
 * (orig_rax means nothing on bare metal).
 */
final class TargetDescription {

    /**
     * One register slot in the {@code g} packet.
     *
     * @param register the target's register, or null for one the stub reports unavailable
     */
    record Slot(int number, String name, int bytes, String type, String group, Register register) {
        boolean available() {
            return register != null;
        }
    }

    static final List<Slot> SLOTS;
    /** Bytes in a {@code g} reply. */
    static final int REGISTER_BYTES;
    private static final String XML;

    private static final String CORE = "org.gnu.gdb.i386.core";
    private static final String SEGMENTS = "org.gnu.gdb.i386.segments";
    private static final String SYSTEM = "org.pml4.system";

    static {
        List<Slot> s = new ArrayList<>();
        List<String> features = new ArrayList<>();
        String[] gpr = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"};
        for (String name : gpr) {
            String type = name.equals("rbp") || name.equals("rsp") ? "data_ptr" : "int64";
            s.add(new Slot(s.size(), name, 8, type, null, Register.valueOf(name.toUpperCase())));
            features.add(CORE);
        }
        s.add(new Slot(s.size(), "rip", 8, "code_ptr", null, Register.RIP));
        s.add(new Slot(s.size(), "eflags", 4, "i386_eflags", null, Register.EFLAGS));
        for (Register r : List.of(Register.CS, Register.SS, Register.DS, Register.ES, Register.FS, Register.GS)) {
            s.add(new Slot(s.size(), r.gdbName(), 4, "int32", null, r));
        }
        for (int i = 0; i < 8; i++) {
            s.add(new Slot(s.size(), "st" + i, 10, "i387_ext", null, null));
        }
        for (String name : List.of("fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop")) {
            s.add(new Slot(s.size(), name, 4, "int", "float", null));
        }
        while (features.size() < s.size()) {
            features.add(CORE);
        }
        s.add(new Slot(s.size(), "fs_base", 8, "int", null, Register.FS_BASE));
        s.add(new Slot(s.size(), "gs_base", 8, "int", null, Register.GS_BASE));
        features.add(SEGMENTS);
        features.add(SEGMENTS);
        // CR0, CR4 and EFER as 32 bits: their bits 63:32 are reserved (SDM Vol. 3A 2.5, 2.2.1), and
        // gdb assigns a plain number such as 0x80000011 (an unsigned int) only to a flags register
        // of the same width; 64-bit flags would need "set $cr0 = (long) 0x80000011".
        s.add(new Slot(s.size(), "cr0", 4, "pml4_cr0", "system", Register.CR0));
        s.add(new Slot(s.size(), "cr2", 8, "uint64", "system", Register.CR2));
        s.add(new Slot(s.size(), "cr3", 8, "uint64", "system", Register.CR3));
        s.add(new Slot(s.size(), "cr4", 4, "pml4_cr4", "system", Register.CR4));
        s.add(new Slot(s.size(), "cr8", 8, "uint64", "system", Register.CR8));
        s.add(new Slot(s.size(), "efer", 4, "pml4_efer", "system", Register.EFER));
        while (features.size() < s.size()) {
            features.add(SYSTEM);
        }
        SLOTS = Collections.unmodifiableList(s);
        REGISTER_BYTES = s.stream().mapToInt(Slot::bytes).sum();
        XML = xml(s, features);
    }

    private TargetDescription() {
    }

    static String xml() {
        return XML;
    }

    /** The slot for a gdb register number, or null. */
    static Slot slot(long number) {
        return number >= 0 && number < SLOTS.size() ? SLOTS.get((int) number) : null;
    }

    static Slot slot(Register register) {
        for (Slot s : SLOTS) {
            if (s.register() == register) {
                return s;
            }
        }
        throw new IllegalArgumentException(register.name());
    }

    private static String xml(List<Slot> slots, List<String> features) {
        StringBuilder x = new StringBuilder();
        x.append("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n");
        x.append("  <architecture>i386:x86-64</architecture>\n");
        String open = null;
        for (int i = 0; i < slots.size(); i++) {
            String feature = features.get(i);
            if (!feature.equals(open)) {
                if (open != null) {
                    x.append("  </feature>\n");
                }
                x.append("  <feature name=\"").append(feature).append("\">\n");
                x.append(types(feature));
                open = feature;
            }
            Slot s = slots.get(i);
            x.append("    <reg name=\"").append(s.name()).append("\" bitsize=\"").append(s.bytes() * 8)
                    .append("\" type=\"").append(s.type()).append("\" regnum=\"").append(s.number()).append('"');
            if (s.group() != null) {
                x.append(" group=\"").append(s.group()).append('"');
            }
            x.append("/>\n");
        }
        x.append("  </feature>\n</target>\n");
        return x.toString();
    }

    private static String types(String feature) {
        return switch (feature) {
            case CORE -> flags("i386_eflags", 4, "CF", 0, "", 1, "PF", 2, "AF", 4, "ZF", 6, "SF", 7, "TF", 8, "IF", 9,
                    "DF", 10, "OF", 11, "NT", 14, "RF", 16, "VM", 17, "AC", 18, "VIF", 19, "VIP", 20, "ID", 21);
            // SDM Vol. 3A 2.5 (CR0, CR4) and 2.2.1 (IA32_EFER).
            case SYSTEM -> flags("pml4_cr0", 4, "PE", 0, "MP", 1, "EM", 2, "TS", 3, "ET", 4, "NE", 5, "WP", 16,
                    "AM", 18, "NW", 29, "CD", 30, "PG", 31)
                    + flags("pml4_cr4", 4, "VME", 0, "PVI", 1, "TSD", 2, "DE", 3, "PSE", 4, "PAE", 5, "MCE", 6,
                    "PGE", 7, "PCE", 8, "OSFXSR", 9, "OSXMMEXCPT", 10, "UMIP", 11, "LA57", 12, "VMXE", 13,
                    "SMXE", 14, "FSGSBASE", 16, "PCIDE", 17, "OSXSAVE", 18, "SMEP", 20, "SMAP", 21, "PKE", 22)
                    + flags("pml4_efer", 4, "SCE", 0, "LME", 8, "LMA", 10, "NXE", 11);
            default -> "";
        };
    }

    /** A {@code <flags>} type: pairs of field name and bit number. */
    private static String flags(String id, int size, Object... fields) {
        StringBuilder x = new StringBuilder("    <flags id=\"").append(id).append("\" size=\"").append(size).append("\">\n");
        for (int i = 0; i < fields.length; i += 2) {
            x.append("      <field name=\"").append(fields[i]).append("\" start=\"").append(fields[i + 1])
                    .append("\" end=\"").append(fields[i + 1]).append("\"/>\n");
        }
        return x.append("    </flags>\n").toString();
    }
}
