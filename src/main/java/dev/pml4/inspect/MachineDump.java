package dev.pml4.inspect;

import dev.pml4.cpu.CpuModel;
import dev.pml4.machine.ImageRejectedException;
import dev.pml4.machine.KernelImages;
import dev.pml4.machine.PhysicalMemory;
import dev.pml4.machine.SymbolTable;
import dev.pml4.mmu.PageRights;
import dev.pml4.mmu.PageSize;
import dev.pml4.mmu.PageWalker;
import dev.pml4.mmu.PagingState;
import dev.pml4.mmu.Tlb;
import dev.pml4.mmu.TlbConfig;
import dev.pml4.mmu.TlbEntry;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * A core dump of a machine: RAM and the processor's state (registers, control registers,
 * descriptor tables, the TLB's entries), in a zip file ({@code state.properties} and
 * {@code ram.bin}), so that the inspections work after the run as they did during it:
 * {@code pml4 run --dump-on-exit FILE}, then {@code pml4 inspect FILE pt|walk VA|tlb|idt|regs}.
 */
public final class MachineDump implements AutoCloseable {
    public static final int VERSION = 1;
    private static final int CHUNK = 1 << 20;

    /** Everything but RAM: register name -> value, and the TLB entries. */
    public record State(Map<String, Long> registers, Map<Tlb.Kind, java.util.List<TlbEntry>> tlb, TlbConfig tlbConfig, String image) {
    }

    private final PhysicalMemory memory;
    private final Properties properties;
    private final Tlb tlb;
    private final SymbolTable symbols;

    private MachineDump(PhysicalMemory memory, Properties properties, Tlb tlb, SymbolTable symbols) {
        this.memory = memory;
        this.properties = properties;
        this.tlb = tlb;
        this.symbols = symbols;
    }

    /** Writes RAM and {@code state} to {@code file}. */
    public static void write(Path file, PhysicalMemory ram, State state) throws IOException {
        try (OutputStream raw = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(raw)) {
            Properties p = new Properties();
            p.setProperty("version", Integer.toString(VERSION));
            p.setProperty("ram", Long.toString(ram.ramSize()));
            if (state.image() != null) {
                p.setProperty("image", state.image());
            }
            state.registers().forEach((k, v) -> p.setProperty("reg." + k, Long.toUnsignedString(v, 16)));
            for (var kind : Tlb.Kind.values()) {
                int i = 0;
                for (TlbEntry e : state.tlb().get(kind)) {
                    p.setProperty("tlb." + kind.name() + "." + i++, String.format("%x,%x,%s,%b,%b,%b,%b,%d,%b", e.pageBase(), e.frameBase(),
                            e.size().name(), e.rights().writable(), e.rights().user(), e.rights().executable(), e.global(), e.pcid(), e.dirty()));
                }
            }
            zip.putNextEntry(new ZipEntry("state.properties"));
            p.store(zip, "pml4 machine dump");
            zip.closeEntry();
            zip.putNextEntry(new ZipEntry("ram.bin"));
            for (long at = 0; at < ram.ramSize(); at += CHUNK) {
                zip.write(ram.readBytes(at, (int) Math.min(CHUNK, ram.ramSize() - at)));
            }
            zip.closeEntry();
        }
    }

    /** Reads a dump; the kernel image named in it, if it is still there, gives symbols. */
    public static MachineDump read(Path file) throws IOException {
        Properties p = new Properties();
        PhysicalMemory memory = null;
        try (InputStream raw = Files.newInputStream(file); ZipInputStream zip = new ZipInputStream(raw)) {
            ZipEntry entry;
            while ((entry = zip.getNextEntry()) != null) {
                if (entry.getName().equals("state.properties")) {
                    p.load(zip);
                } else if (entry.getName().equals("ram.bin")) {
                    if (p.getProperty("ram") == null) {
                        throw new IOException(file + ": state.properties must come before ram.bin");
                    }
                    memory = new PhysicalMemory(Long.parseLong(p.getProperty("ram")));
                    byte[] buffer = new byte[CHUNK];
                    long at = 0;
                    int n;
                    while ((n = zip.readNBytes(buffer, 0, CHUNK)) > 0) {
                        memory.writeBytes(at, n == CHUNK ? buffer : java.util.Arrays.copyOf(buffer, n));
                        at += n;
                    }
                }
            }
        } catch (java.util.zip.ZipException | IllegalArgumentException e) {
            if (memory != null) {
                memory.close();
            }
            throw new IOException(file + ": not a pml4 dump (" + e.getMessage() + ")");
        }
        if (memory == null || !Integer.toString(VERSION).equals(p.getProperty("version"))) {
            if (memory != null) {
                memory.close();
            }
            throw new IOException(file + ": not a pml4 dump of version " + VERSION);
        }
        Tlb tlb = new Tlb(TlbConfig.skylake());
        for (String key : p.stringPropertyNames().stream().sorted().toList()) {
            if (!key.startsWith("tlb.")) {
                continue;
            }
            String[] k = key.split("\\.");
            String[] f = p.getProperty(key).split(",");
            TlbEntry e = new TlbEntry(Long.parseUnsignedLong(f[0], 16), Long.parseUnsignedLong(f[1], 16), PageSize.valueOf(f[2]),
                    new PageRights(Boolean.parseBoolean(f[3]), Boolean.parseBoolean(f[4]), Boolean.parseBoolean(f[5])),
                    Boolean.parseBoolean(f[6]), Integer.parseInt(f[7]), Boolean.parseBoolean(f[8]));
            tlb.fill(Tlb.Kind.valueOf(k[1]), e);
        }
        SymbolTable symbols = SymbolTable.empty();
        String image = p.getProperty("image");
        if (image != null && Files.isRegularFile(Path.of(image))) {
            try {
                symbols = KernelImages.read(Path.of(image), OptionalLong.empty(), OptionalLong.empty()).symbols();
            } catch (ImageRejectedException ignored) {
                // the image changed since: no symbols
            }
        }
        return new MachineDump(memory, p, tlb, symbols);
    }

    public long register(String name) {
        String v = properties.getProperty("reg." + name);
        return v == null ? 0 : Long.parseUnsignedLong(v, 16);
    }

    public Map<String, Long> registers() {
        Map<String, Long> out = new LinkedHashMap<>();
        properties.stringPropertyNames().stream().filter(k -> k.startsWith("reg.")).sorted()
                .forEach(k -> out.put(k.substring(4), register(k.substring(4))));
        return out;
    }

    public Inspector inspector() {
        dev.pml4.mmu.PdpteRegisters pdptes = properties.getProperty("reg.pdpt_loaded_from") == null ? null
                : new dev.pml4.mmu.PdpteRegisters(register("pdpt_loaded_from"), register("pdpte0"), register("pdpte1"),
                register("pdpte2"), register("pdpte3"));
        PagingState state = new PagingState(register("cr0"), register("cr3"), register("cr4"), register("efer"), false, pdptes);
        return new Inspector(memory, new PageWalker(memory, CpuModel.MAX_PHYS_ADDR), state, tlb, symbols,
                register("idtr_base"), (int) register("idtr_limit"));
    }

    @Override
    public void close() {
        memory.close();
    }
}
