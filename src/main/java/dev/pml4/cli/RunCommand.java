package dev.pml4.cli;

import dev.pml4.devices.SerialInput;
import dev.pml4.machine.ImageRejectedException;
import dev.pml4.machine.KernelImage;
import dev.pml4.machine.KernelImages;
import dev.pml4.machine.Machine;
import dev.pml4.mmu.Tlb;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

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
import dev.pml4.machine.SymbolTable;
import java.util.concurrent.Callable;

import static dev.pml4.cli.OptionBinding.option;
import static dev.pml4.cli.OptionBinding.positional;
import static dev.pml4.cli.OptionBinding.strings;

/**
 * {@code pml4 run}. Its picocli model is declared by {@link #model()} through picocli's
 * programmatic API, each option once with the field its value goes to, rather than by annotations:
 * reading ~30 annotations by reflection was most of a cold run's start-up (README, "Start-up").
 */
final class RunCommand implements Callable<Integer> {
    /**
     * --tlb's value: the geometry, and the text that named it as its string. picocli makes a string
     * of every value it sets (for its trace, traced or not), and TlbConfig's is a record's, made at
     * run time by a bootstrap method whose classes the AOT cache does not keep: ~7 ms of a cold run.
     */
    record TlbOption(String text, dev.pml4.mmu.TlbConfig config) {
        @Override
        public String toString() {
            return text;
        }
    }

    /** picocli converter for --tlb. */
    static final class TlbSpec implements CommandLine.ITypeConverter<TlbOption> {
        @Override
        public TlbOption convert(String value) {
            try {
                return new TlbOption(value, dev.pml4.mmu.TlbConfig.parse(value));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    // The values of the options and the parameter model() declares, set by picocli when it parses.
    Path image;
    long memory;
    Path serialOut;
    Path serialIn;
    long maxInstructions;
    String commandLine;
    String boot;
    List<String> modules;
    Long loadAddress;
    Long entry;
    TlbOption tlb;
    String trace;
    String traceFormat;
    List<String> traceEvents;
    long traceFrom;
    String traceRange;
    boolean traceOnFault;
    long traceRing;
    List<String> show;
    Path svg;
    Integer gdbPort;
    boolean gdbWait;
    Path dumpOnExit;
    dev.pml4.cpu.ExecutionMode mode;
    String checkTlb;
    Path vgaOut;
    Path screenshot;
    boolean display;
    boolean stats;
    boolean help;

    /** The model this command is parsed with: {@link #model()} makes it. */
    CommandSpec spec;

    /** This command's picocli model, bound to this command's fields; the options in the order --help lists them. */
    CommandSpec model() {
        spec = CommandSpec.wrapWithoutInspection(this).name("run");
        spec.usageMessage().sortOptions(false)
                .description("Boot IMAGE (an ELF64 kernel or a flat binary by boot protocol 1, or a kernel with a",
                        "Multiboot or Multiboot2 header, ELF32, ELF64 or flat) and run it",
                        "until it halts, writes the debug-exit port, faults beyond recovery or reaches",
                        "the instruction limit. The guest's COM1 output goes to standard output unless",
                        "--serial says otherwise.", "")
                .footer("", "Examples:",
                        "  pml4 run guest/build/hello.elf",
                        "  pml4 run --mem 128M --cmdline 'verbose' guest/build/demo.elf",
                        "  pml4 run --serial out.txt --max-insns 5000000 kernel.bin --load-addr 0x200000",
                        "  pml4 run --stats guest/build/demo.elf");
        // Optional to picocli only because "--trace IMAGE" would otherwise read IMAGE as the trace
        // file; call() insists on it with picocli's own message.
        spec.addPositional(positional(Path.class, () -> image, v -> image = v).index("0").arity("0..1").paramLabel("IMAGE")
                .description("The kernel: ELF64 (ET_EXEC, x86-64) or a flat binary; with a Multiboot header also ELF32.").build());
        spec.addOption(option("--mem", long.class, () -> memory, v -> memory = v).paramLabel("SIZE")
                .converters(new Sizes.Ram()).defaultValue("64M")
                .description("RAM from physical 0, a multiple of 4 KiB (default: ${DEFAULT-VALUE}); K, M and G suffixes.").build());
        spec.addOption(option("--serial", Path.class, () -> serialOut, v -> serialOut = v).paramLabel("FILE")
                .description("Write COM1's output to FILE instead of standard output.").build());
        spec.addOption(option("--serial-in", Path.class, () -> serialIn, v -> serialIn = v).paramLabel("FILE").description(
                "Feed COM1's receiver from FILE ('-': standard input), read ahead so that every byte",
                "arrives at the same instruction on every run. Without it the receiver polls standard",
                "input without waiting: what a person types arrives when it arrives.").build());
        spec.addOption(option("--max-insns", long.class, () -> maxInstructions, v -> maxInstructions = v).paramLabel("N")
                .converters(new Sizes.Count()).defaultValue("1000000000")
                .description("Stop with exit status 6 after N instructions (default: ${DEFAULT-VALUE}; 0: no limit).").build());
        spec.addOption(option("--cmdline", String.class, () -> commandLine, v -> commandLine = v).paramLabel("TEXT")
                .description("The command line the kernel finds through the boot info.").build());
        spec.addOption(option("--boot", String.class, () -> boot, v -> boot = v).paramLabel("PROTOCOL").description(
                "Boot by this protocol: pml4 (boot protocol 1), multiboot or multiboot2. Default: from the",
                "image (a Multiboot2 header wins over a Multiboot one, which wins over protocol 1).").build());
        spec.addOption(strings("--module", () -> modules, v -> modules = v).paramLabel("FILE[=STRING]").description(
                "Multiboot only, repeatable: load FILE as a boot module, page-aligned after the kernel,",
                "with STRING as its string (default: FILE).").build());
        spec.addOption(option("--load-addr", Long.class, () -> loadAddress, v -> loadAddress = v).paramLabel("ADDR")
                .converters(new Sizes.Address())
                .description("Flat binaries only: physical load address (default 0x100000).").build());
        spec.addOption(option("--entry", Long.class, () -> entry, v -> entry = v).paramLabel("ADDR")
                .converters(new Sizes.Address())
                .description("Flat binaries only: entry point (default: the load address).").build());
        spec.addOption(option("--tlb", TlbOption.class, () -> tlb, v -> tlb = v).paramLabel("SPEC")
                .converters(new TlbSpec()).defaultValue("skylake").description(
                        "TLB geometry: a preset (skylake, tiny, none) or a list of TLB.SIZE=SETSxWAYS,",
                        "e.g. 'tiny' or 'skylake,d4k=1x4,i4k=1x2' (TLB i or d; SIZE 4k, 2m, 1g). Default: ${DEFAULT-VALUE}.").build());
        spec.addOption(option("--trace", String.class, () -> trace, v -> trace = v).paramLabel("FILE")
                .arity("0..1").fallbackValue("-")
                .description("Trace every instruction and event to FILE ('-' or no FILE: standard error).").build());
        spec.addOption(option("--trace-format", String.class, () -> traceFormat, v -> traceFormat = v).paramLabel("FORMAT")
                .defaultValue("text")
                .description("text (for people) or jsonl (one JSON object per line, for jq). Default: ${DEFAULT-VALUE}.").build());
        spec.addOption(strings("--trace-events", () -> traceEvents, v -> traceEvents = v).paramLabel("KINDS")
                .splitRegex(",").defaultValue("insn,walk,tlb,exception,cr,io,stale,mode")
                .description("Which lines to write: any of insn, walk, tlb, exception, cr, io, stale, mode. Default: all.").build());
        spec.addOption(option("--trace-from", long.class, () -> traceFrom, v -> traceFrom = v).paramLabel("N")
                .converters(new Sizes.Count()).defaultValue("1")
                .description("Start tracing at instruction number N.").build());
        spec.addOption(option("--trace-range", String.class, () -> traceRange, v -> traceRange = v).paramLabel("RANGE")
                .description("Trace only instructions in START:END (addresses) or in the function SYMBOL.").build());
        spec.addOption(option("--trace-on-fault", boolean.class, () -> traceOnFault, v -> traceOnFault = v)
                .description("Start tracing at the first exception or interrupt.").build());
        spec.addOption(option("--trace-ring", long.class, () -> traceRing, v -> traceRing = v).paramLabel("N")
                .converters(new Sizes.Count()).defaultValue("0")
                .description("Keep only the last N trace lines (recorded raw, formatted at the end); write them only if the run ends badly (status 4, 6, 8, 10 or 12).").build());
        spec.addOption(strings("--show", () -> show, v -> show = v).paramLabel("WHAT").splitRegex(",").description(
                "When the run ends, print the MMU state on standard error: pt (the page tables of CR3,",
                "ranges merged), pt-dot (the same as a Graphviz digraph), tlb (the TLB entries), idt",
                "(the gates), walk:VA (one walk of VA, step by step). Nothing is changed: walks are probes.").build());
        spec.addOption(option("--svg", Path.class, () -> svg, v -> svg = v).paramLabel("FILE")
                .description("When the run ends, draw the page tables (pt-dot) to FILE as SVG with Graphviz's dot.").build());
        spec.addOption(option("--gdb", Integer.class, () -> gdbPort, v -> gdbPort = v).paramLabel("PORT").description(
                "Wait for gdb on 127.0.0.1:PORT before the first instruction (like QEMU's -s -S):",
                "target remote :PORT. Breakpoints, stepping, watchpoints, CR0-CR4/EFER, memory through the",
                "guest's page tables, and 'monitor pt|walk VA|tlb|idt|catch VEC'.").build());
        spec.addOption(option("--gdb-wait", boolean.class, () -> gdbWait, v -> gdbWait = v)
                .description("Accepted for QEMU users: --gdb always waits for gdb to connect.").build());
        spec.addOption(option("--dump-on-exit", Path.class, () -> dumpOnExit, v -> dumpOnExit = v).paramLabel("FILE")
                .description("When the run ends, write RAM and the processor's state to FILE for 'pml4 inspect'.").build());
        spec.addOption(option("--mode", dev.pml4.cpu.ExecutionMode.class, () -> mode, v -> mode = v).paramLabel("MODE")
                .converters(new ModeConverter()).defaultValue("fast").description(
                        "fast (the default) or precise: fast runs whole blocks natively, precise calls Java on",
                        "every instruction; both give the same results. --trace, --trace-ring, --gdb and",
                        "--check-tlb always run precisely.").build());
        spec.addOption(option("--check-tlb", String.class, () -> checkTlb, v -> checkTlb = v).paramLabel("MODE")
                .arity("0..1").fallbackValue("report").description(
                        "Check TLB coherence: report every first use of a TLB entry whose paging-structure entries",
                        "the guest changed without invalidating it (report: go on with the stale entry, as hardware",
                        "would; stop: end the run before the access, exit status 10), dirty flags lost and spurious",
                        "faults, and a summary at the end, on standard error.").build());
        spec.addOption(option("--vga", Path.class, () -> vgaOut, v -> vgaOut = v).paramLabel("FILE")
                .description("When the run ends, write the VGA text screen to FILE: 25 lines, code page 437 as UTF-8.").build());
        spec.addOption(option("--screenshot", Path.class, () -> screenshot, v -> screenshot = v).paramLabel("FILE.png")
                .description("When the run ends, render the VGA text screen to FILE.png (720x400, the VGA font and 16 colours).").build());
        spec.addOption(option("--display", boolean.class, () -> display, v -> display = v)
                .description("Draw the VGA text screen on standard error while the kernel runs, in colour (like QEMU's curses display).").build());
        spec.addOption(option("--stats", boolean.class, () -> stats, v -> stats = v)
                .description("When the run ends, print instructions, page walks and TLB statistics to standard error.").build());
        // Without it "pml4 run --help" was refused for want of an IMAGE, though the parse errors point
        // there; mixinStandardHelpOptions would add a --version that has nothing to print here.
        spec.addOption(option("--help", boolean.class, () -> help, v -> help = v).names("-h", "--help").usageHelp(true)
                .description("Show this help and exit.").build());
        return spec;
    }

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        if (image == null && trace != null && !trace.equals("-")) {
            image = Path.of(trace); // "--trace IMAGE": the trace goes to standard error
            trace = "-";
        }
        dev.pml4.mmu.TlbCoherenceChecker.Mode tlbCheckMode = null;
        if (checkTlb != null) {
            tlbCheckMode = switch (checkTlb.toLowerCase(java.util.Locale.ROOT)) {
                case "report" -> dev.pml4.mmu.TlbCoherenceChecker.Mode.REPORT;
                case "stop" -> dev.pml4.mmu.TlbCoherenceChecker.Mode.STOP;
                default -> null;
            };
            if (tlbCheckMode == null && image == null) {
                image = Path.of(checkTlb); // "--check-tlb IMAGE": the mode is report
                tlbCheckMode = dev.pml4.mmu.TlbCoherenceChecker.Mode.REPORT;
            } else if (tlbCheckMode == null) {
                err.println("pml4: --check-tlb=" + checkTlb + ": use report or stop");
                return Main.EXIT_USAGE;
            }
        }
        if (image == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "Missing required parameter: 'IMAGE'");
        }
        KernelImage kernel;
        List<dev.pml4.machine.BootModule> bootModules;
        try {
            java.util.Optional<dev.pml4.machine.BootMethod> method;
            try {
                method = bootMethod();
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            kernel = KernelImages.read(image, optional(loadAddress), optional(entry), method);
            bootModules = bootModules();
        } catch (ImageRejectedException e) {
            err.println("pml4: " + e.getMessage());
            return Main.EXIT_USAGE;
        }
        try (OutputStream out = openSerialOut(); InputStream in = openSerialIn()) {
            SerialInput input = new SerialInput(in, serialIn == null);
            Machine.Config config = Machine.Config.defaults(out).withRamSize(memory).withTlb(tlb.config()).withInstructionLimit(maxInstructions)
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
                machine.cpu().setExecutionMode(mode);
                if (tlbCheckMode != null) {
                    machine.checkTlb(tlbCheckMode).addListener(f -> {
                        err.print(f.describe(kernel.symbols()));
                        err.flush();
                    });
                }
                try {
                    machine.boot(kernel, commandLine, bootModules);
                } catch (ImageRejectedException e) {
                    err.println("pml4: " + e.getMessage());
                    return Main.EXIT_USAGE;
                }
                if (trace != null || traceRing > 0) {
                    dev.pml4.trace.TraceOptions options;
                    try {
                        options = traceOptions(kernel);
                    } catch (IllegalArgumentException e) {
                        err.println("pml4: " + e.getMessage());
                        return Main.EXIT_USAGE;
                    }
                    java.io.Writer traceOut = trace == null || trace.equals("-")
                            ? new java.io.PrintWriter(new java.io.OutputStreamWriter(new java.io.FileOutputStream(java.io.FileDescriptor.err), java.nio.charset.StandardCharsets.UTF_8))
                            : java.nio.file.Files.newBufferedWriter(Path.of(trace));
                    machine.trace(options, new java.io.BufferedWriter(traceOut, 1 << 16));
                }
                Machine.RunResult result;
                if (gdbPort != null) {
                    var target = new dev.pml4.debug.MachineDebugTarget(machine);
                    var defaults = dev.pml4.debug.gdb.GdbServer.Config.defaults();
                    var gdbConfig = new dev.pml4.debug.gdb.GdbServer.Config(defaults.address(), gdbPort, defaults.onDisconnect(),
                            line -> { });
                    try (var server = dev.pml4.debug.gdb.GdbServer.listen(target, gdbConfig)) {
                        err.println("pml4: waiting for gdb on 127.0.0.1:" + server.port() + " (target remote :" + server.port() + ")");
                        err.flush();
                        var outcome = server.serve();
                        if (outcome instanceof dev.pml4.debug.gdb.GdbServer.Outcome.Killed) {
                            err.println("pml4: killed by gdb");
                            return 9;
                        }
                    }
                }
                try (TerminalDisplay screen = display ? TerminalDisplay.onStandardError(machine.vga()) : null) {
                    result = machine.run();
                }
                out.flush();
                if (!writeScreen(err, machine)) {
                    return Main.EXIT_USAGE;
                }
                int status = result.exitStatus();
                boolean abnormal = result.reason().abnormal();
                if (abnormal || stats) {
                    err.println("pml4: " + result.reason().describe());
                }
                if (checkTlb != null) {
                    err.print(machine.tlbCheck().summary().describe());
                    err.flush();
                }
                if (stats) {
                    printStats(err, machine, result);
                }
                if (dumpOnExit != null) {
                    machine.dump(dumpOnExit, image.toAbsolutePath().toString());
                }
                printShow(err, machine, show);
                if (svg != null) {
                    try {
                        dev.pml4.inspect.Graphviz.render(machine.inspector().answer("pt-dot", List.of()), "svg", svg);
                    } catch (IOException e) {
                        err.println("pml4: --svg " + svg + ": " + e.getMessage());
                        return Main.EXIT_USAGE;
                    }
                }
                return status;
            }
        } catch (IOException e) {
            err.println("pml4: " + e.getMessage());
            return Main.EXIT_USAGE;
        }
    }

    /** {@code --boot}: the boot protocol forced, or empty to choose it from the image. */
    java.util.Optional<dev.pml4.machine.BootMethod> bootMethod() {
        if (boot == null) {
            return java.util.Optional.empty();
        }
        try {
            return java.util.Optional.of(dev.pml4.machine.BootMethod.parse(boot));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--boot " + e.getMessage(), e);
        }
    }

    /** {@code --module FILE[=STRING]}, read. */
    List<dev.pml4.machine.BootModule> bootModules() throws ImageRejectedException {
        List<dev.pml4.machine.BootModule> read = new java.util.ArrayList<>();
        for (String m : modules == null ? List.<String>of() : modules) {
            read.add(dev.pml4.machine.BootModule.read(m));
        }
        return read;
    }

    /** --vga and --screenshot; false (after a message) when a file cannot be written. */
    private boolean writeScreen(PrintWriter err, Machine machine) {
        var screen = machine.vga().screen();
        if (vgaOut != null) {
            try {
                java.nio.file.Files.writeString(vgaOut, screen.text(), java.nio.charset.StandardCharsets.UTF_8);
            } catch (IOException e) {
                err.println("pml4: --vga " + vgaOut + ": cannot write there (" + e.getMessage() + ")");
                return false;
            }
        }
        if (screenshot != null) {
            try {
                screen.writePng(screenshot, dev.pml4.devices.VgaScreen.VgaFont.standard());
            } catch (IOException e) {
                err.println("pml4: --screenshot " + screenshot + ": cannot write there (" + e.getMessage() + ")");
                return false;
            }
        }
        return true;
    }


    /** {@code --show}: the inspections asked for, when the run has ended. */
    static void printShow(PrintWriter err, Machine machine, List<String> show) {
        if (show == null) {
            return;
        }
        var inspector = machine.inspector();
        for (String what : show) {
            // walk:VA on the command line is "walk VA" to the inspector.
            String[] words = what.strip().split(":", 2);
            try {
                err.print(inspector.answer(words[0], words.length > 1 ? List.of(words[1]) : List.of()));
            } catch (IllegalArgumentException e) {
                err.println("pml4: --show " + what + ": " + e.getMessage());
            }
        }
        err.flush();
    }

    static void printStats(PrintWriter err, Machine machine, Machine.RunResult result) {
        err.printf("pml4: %,d instructions, %,d page walks, %,d page faults%n", result.instructions(),
                machine.mmu().walks(), machine.mmu().pageFaults());
        for (Tlb.Kind kind : Tlb.Kind.values()) {
            Tlb.Statistics s = machine.mmu().tlb().statistics(kind);
            err.printf("pml4: %s: %,d hits, %,d misses, %,d walks, %,d fills, %,d evictions, %,d invalidated by %,d flushes%n",
                    kind == Tlb.Kind.INSTRUCTION ? "ITLB" : "DTLB", s.hits(), s.misses(), machine.mmu().walks(kind),
                    s.fills(), s.evictions(), s.invalidations(), s.flushes());
        }
        var guard = machine.cpu().translationGuard();
        err.printf("pml4: translation guard: %,d code fetches, %,d instructions checked, %,d #UD raised, %,d blocks cut short%n",
                guard.fetches(), guard.instructionsChecked(), guard.undefined(), guard.blocksCutShort());
        if (machine.cpu().fastModePending()) {
            err.printf("pml4: precise mode (fast mode starts at instruction %,d, which this run did not reach)%n",
                    machine.cpu().fastModeFrom());
        } else {
            err.printf("pml4: %s mode%s%n", machine.cpu().executionMode().name().toLowerCase(java.util.Locale.ROOT),
                    machine.cpu().fastModeStatistics().map(f -> "; " + f).orElse(""));
        }
        err.printf("pml4: %s%n", machine.cpu().engineMemoryStatistics());
    }

    private OutputStream openSerialOut() throws IOException {
        if (serialOut == null) {
            return new StandardOutputSink(spec.commandLine().getErr());
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

    dev.pml4.trace.TraceOptions traceOptions(KernelImage kernel) {
        dev.pml4.trace.TraceOptions.Format format = switch (traceFormat.toLowerCase(java.util.Locale.ROOT)) {
            case "text" -> dev.pml4.trace.TraceOptions.Format.TEXT;
            case "jsonl", "json" -> dev.pml4.trace.TraceOptions.Format.JSONL;
            default -> throw new IllegalArgumentException("--trace-format " + traceFormat + ": use text or jsonl");
        };
        java.util.Set<dev.pml4.trace.TraceOptions.Kind> kinds = java.util.EnumSet.noneOf(dev.pml4.trace.TraceOptions.Kind.class);
        for (String k : traceEvents) {
            try {
                kinds.add(dev.pml4.trace.TraceOptions.Kind.valueOf(k.strip().toUpperCase(java.util.Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--trace-events: '" + k + "' is not one of insn, walk, tlb, exception, cr, io, stale");
            }
        }
        long start = 0;
        long end = -1;
        if (traceRange != null) {
            int colon = traceRange.indexOf(':');
            if (colon > 0) {
                try {
                    start = dev.pml4.inspect.Inspector.parseAddress(traceRange.substring(0, colon));
                    end = dev.pml4.inspect.Inspector.parseAddress(traceRange.substring(colon + 1));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("--trace-range " + traceRange + ": START:END must be two addresses, like 0x100000:0x100400");
                }
            } else {
                var symbol = kernel.symbols().symbols().stream().filter(sym -> sym.name().equals(traceRange)).findFirst()
                        .orElseThrow(() -> new IllegalArgumentException("--trace-range " + traceRange + ": no such symbol in " + image));
                start = symbol.value();
                end = symbol.value() + Math.max(1, symbol.size());
                if (symbol.size() == 0) { // a NASM label has no size: up to the next symbol
                    end = kernel.symbols().symbols().stream().mapToLong(SymbolTable.Symbol::value)
                            .filter(v -> Long.compareUnsigned(v, symbol.value()) > 0).reduce((a, b) -> Long.compareUnsigned(a, b) < 0 ? a : b)
                            .orElse(symbol.value() + 1);
                }
            }
        }
        return new dev.pml4.trace.TraceOptions(format, kinds, Math.max(1, traceFrom), start, end, traceOnFault, (int) Math.min(traceRing, 10_000_000));
    }

    /** --mode: fast or precise, in any case. */
    static final class ModeConverter implements CommandLine.ITypeConverter<dev.pml4.cpu.ExecutionMode> {
        @Override
        public dev.pml4.cpu.ExecutionMode convert(String value) {
            try {
                return dev.pml4.cpu.ExecutionMode.valueOf(value.strip().toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a mode: use fast or precise");
            }
        }
    }

    private static OptionalLong optional(Long v) {
        return v == null ? OptionalLong.empty() : OptionalLong.of(v);
    }
}
