package dev.pml4.cli;

import dev.pml4.devices.SerialInput;
import dev.pml4.machine.ImageRejectedException;
import dev.pml4.machine.KernelImage;
import dev.pml4.machine.KernelImages;
import dev.pml4.machine.Machine;
import dev.pml4.mmu.Tlb;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedOutputStream;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.Callable;

@Command(name = "run", sortOptions = false,
        description = {"Boot IMAGE (an ELF64 kernel, or a flat binary) by boot protocol 1 and run it",
                "until it halts, writes the debug-exit port, faults beyond recovery or reaches",
                "the instruction limit. The guest's COM1 output goes to standard output unless",
                "--serial says otherwise.", ""},
        footer = {"", "Examples:",
                "  pml4 run guest/build/hello.elf",
                "  pml4 run --mem 128M --cmdline 'verbose' guest/build/demo.elf",
                "  pml4 run --serial out.txt --max-insns 5000000 kernel.bin --load-addr 0x200000",
                "  pml4 run --stats guest/build/demo.elf"})
final class RunCommand implements Callable<Integer> {
    /** picocli converter for --tlb. */
    static final class TlbSpec implements CommandLine.ITypeConverter<dev.pml4.mmu.TlbConfig> {
        @Override
        public dev.pml4.mmu.TlbConfig convert(String value) {
            try {
                return dev.pml4.mmu.TlbConfig.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    @Parameters(index = "0", paramLabel = "IMAGE", description = "The kernel: ELF64 (ET_EXEC, x86-64) or a flat binary.")
    Path image;

    @Option(names = "--mem", paramLabel = "SIZE", converter = Sizes.Ram.class, defaultValue = "64M",
            description = "RAM from physical 0, a multiple of 4 KiB (default: ${DEFAULT-VALUE}); K, M and G suffixes.")
    long memory;

    @Option(names = "--serial", paramLabel = "FILE", description = "Write COM1's output to FILE instead of standard output.")
    Path serialOut;

    @Option(names = "--serial-in", paramLabel = "FILE", description = {
            "Feed COM1's receiver from FILE ('-': standard input), read ahead so that every byte",
            "arrives at the same instruction on every run. Without it the receiver polls standard",
            "input without waiting: what a person types arrives when it arrives."})
    Path serialIn;

    @Option(names = "--max-insns", paramLabel = "N", converter = Sizes.Count.class, defaultValue = "1000000000",
            description = "Stop with exit status 6 after N instructions (default: ${DEFAULT-VALUE}; 0: no limit).")
    long maxInstructions;

    @Option(names = "--cmdline", paramLabel = "TEXT", description = "The command line the kernel finds through the boot info.")
    String commandLine;

    @Option(names = "--load-addr", paramLabel = "ADDR", converter = Sizes.Address.class,
            description = "Flat binaries only: physical load address (default 0x100000).")
    Long loadAddress;

    @Option(names = "--entry", paramLabel = "ADDR", converter = Sizes.Address.class,
            description = "Flat binaries only: entry point (default: the load address).")
    Long entry;

    @Option(names = "--tlb", paramLabel = "SPEC", converter = TlbSpec.class, defaultValue = "skylake",
            description = {"TLB geometry: a preset (skylake, tiny, none) or a list of TLB.SIZE=SETSxWAYS,",
                    "e.g. 'tiny' or 'skylake,d4k=1x4,i4k=1x2' (TLB i or d; SIZE 4k, 2m, 1g). Default: ${DEFAULT-VALUE}."})
    dev.pml4.mmu.TlbConfig tlb;

    @Option(names = "--stats", description = "When the run ends, print instructions, page walks and TLB statistics to standard error.")
    boolean stats;

    // Without it "pml4 run --help" was refused for want of an IMAGE, though the parse errors point
    // there; mixinStandardHelpOptions would add a --version that has nothing to print here.
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        KernelImage kernel;
        try {
            kernel = KernelImages.read(image, optional(loadAddress), optional(entry));
        } catch (ImageRejectedException e) {
            err.println("pml4: " + e.getMessage());
            return Main.EXIT_USAGE;
        }
        try (OutputStream out = openSerialOut(); InputStream in = openSerialIn()) {
            SerialInput input = new SerialInput(in, serialIn == null);
            Machine.Config config = Machine.Config.defaults(out).withRamSize(memory).withTlb(tlb).withInstructionLimit(maxInstructions)
                    .withSerialIn(input).withWarnings(w -> err.println("pml4: warning: " + w));
            Machine created;
            try {
                created = new Machine(config);
            } catch (OutOfMemoryError e) {
                // One native allocation of the whole RAM failed; the Java heap is as it was.
                err.println("pml4: --mem " + memoryAsGiven() + ": cannot allocate that much RAM on this host ("
                        + e.getMessage() + ")");
                return Main.EXIT_USAGE;
            }
            try (Machine machine = created) {
                try {
                    machine.boot(kernel, commandLine);
                } catch (ImageRejectedException e) {
                    err.println("pml4: " + e.getMessage());
                    return Main.EXIT_USAGE;
                }
                Machine.RunResult result = machine.run();
                out.flush();
                int status = result.exitStatus();
                boolean abnormal = status == 4 || status == 6 || status == 8;
                if (abnormal || stats) {
                    err.println("pml4: " + result.reason().describe());
                }
                if (stats) {
                    printStats(err, machine, result);
                }
                return status;
            }
        } catch (IOException e) {
            err.println("pml4: " + e.getMessage());
            return Main.EXIT_USAGE;
        }
    }

    private static void printStats(PrintWriter err, Machine machine, Machine.RunResult result) {
        err.printf("pml4: %,d instructions, %,d page walks, %,d page faults%n", result.instructions(),
                machine.mmu().walks(), machine.mmu().pageFaults());
        for (Tlb.Kind kind : Tlb.Kind.values()) {
            Tlb.Statistics s = machine.mmu().tlb().statistics(kind);
            err.printf("pml4: %s: %,d hits, %,d misses, %,d walks, %,d fills, %,d evictions, %,d invalidated by %,d flushes%n",
                    kind == Tlb.Kind.INSTRUCTION ? "ITLB" : "DTLB", s.hits(), s.misses(), machine.mmu().walks(kind),
                    s.fills(), s.evictions(), s.invalidations(), s.flushes());
        }
    }

    private OutputStream openSerialOut() throws IOException {
        if (serialOut == null) {
            return new BufferedOutputStream(new FileOutputStream(java.io.FileDescriptor.out)) {
                @Override
                public void close() throws IOException {
                    flush(); // never close the process's standard output
                }
            };
        }
        try {
            return new BufferedOutputStream(new FileOutputStream(serialOut.toFile()));
        } catch (IOException e) {
            throw new IOException("--serial " + serialOut + ": cannot write there (" + e.getMessage() + ")");
        }
    }

    private InputStream openSerialIn() throws IOException {
        if (serialIn == null || serialIn.toString().equals("-")) {
            return new FileInputStream(java.io.FileDescriptor.in) {
                @Override
                public void close() {
                    // never close the process's standard input
                }
            };
        }
        try {
            return new FileInputStream(serialIn.toFile());
        } catch (IOException e) {
            throw new IOException("--serial-in " + serialIn + ": cannot read it (" + e.getMessage() + ")");
        }
    }

    /** --mem as the user wrote it ("64G"), rather than in bytes. */
    private String memoryAsGiven() {
        List<String> given = spec.findOption("--mem").originalStringValues();
        return given.isEmpty() ? String.valueOf(memory) : given.getLast();
    }

    private static OptionalLong optional(Long v) {
        return v == null ? OptionalLong.empty() : OptionalLong.of(v);
    }
}
