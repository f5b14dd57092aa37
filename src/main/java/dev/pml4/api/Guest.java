package dev.pml4.api;

import dev.pml4.cli.RunArguments;
import dev.pml4.cpu.ExecutionObserver;
import dev.pml4.devices.SerialInput;
import dev.pml4.machine.ImageRejectedException;
import dev.pml4.machine.KernelImage;
import dev.pml4.machine.KernelImages;
import dev.pml4.machine.Machine;
import dev.pml4.mmu.Mmu;
import dev.pml4.trace.Tracer;

import java.io.BufferedWriter;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One booted machine: built by {@link #builder(Path)}, run once by {@link #run()}, inspected by
 * {@link #state()}, closed by {@link #close()}.
 */
public final class Guest implements AutoCloseable {
    private final Machine machine;
    private final Path image;
    private final RunArguments arguments;
    private final ByteArrayOutputStream transcript;
    private final List<String> warnings;
    private final StringWriter report = new StringWriter();
    private final InputStream serialIn;
    private final OutputStream serialOut;
    private Outcome outcome;

    private Guest(Machine machine, Path image, RunArguments arguments, ByteArrayOutputStream transcript, List<String> warnings,
                  InputStream serialIn, OutputStream serialOut) {
        this.machine = machine;
        this.image = image;
        this.arguments = arguments;
        this.transcript = transcript;
        this.warnings = warnings;
        this.serialIn = serialIn;
        this.serialOut = serialOut;
    }

    /** A builder for a machine that boots {@code image} (ELF64 or a flat binary). */
    public static Builder builder(Path image) {
        return new Builder(image);
    }

    /**
     * Runs the guest until it halts, writes the debug-exit port, triple-faults or reaches the
     * instruction limit; then does what {@code --stats}, {@code --show} and {@code --dump-on-exit}
     * ask (their text in {@link #report()}).
     *
     * @throws IllegalStateException when it has already run
     */
    public Outcome run() {
        if (outcome != null) {
            throw new IllegalStateException("this guest has run; build another to run again");
        }
        Machine.RunResult result = machine.run();
        outcome = Outcome.of(result.reason(), result.instructions());
        try (PrintWriter out = new PrintWriter(report)) {
            arguments.printEndOfRun(out, machine, result);
        }
        if (arguments.dumpOnExit().isPresent()) {
            try {
                machine.dump(arguments.dumpOnExit().get(), image.toAbsolutePath().toString());
            } catch (IOException e) {
                throw new UncheckedIOException("--dump-on-exit " + arguments.dumpOnExit().get(), e);
            }
        }
        return outcome;
    }

    /** How the run ended; null before {@link #run()}. */
    public Outcome outcome() {
        return outcome;
    }

    /** Everything the guest wrote to COM1 so far, one char per byte (ISO-8859-1). */
    public String serial() {
        return transcript.toString(StandardCharsets.ISO_8859_1);
    }

    /** Warnings about questionable guest behaviour (holes in physical memory, unknown ports). */
    public List<String> warnings() {
        return List.copyOf(warnings);
    }

    /** What {@code --stats} and {@code --show} printed when the run ended ("" without them). */
    public String report() {
        return report.toString();
    }

    /** The machine's state now, for walks, entries, the TLB, registers and memory. */
    public EndState state() {
        return new EndState(machine);
    }

    /**
     * What the TLB-coherence check found ({@code --check-tlb}); {@code enabled} is false when the
     * check is off.
     */
    public dev.pml4.mmu.TlbCheckFinding.Report tlbCheck() {
        return machine.tlbCheck();
    }

    /** The kernel's symbols (ELF symbols, or the NASM map beside a flat image), for describing addresses. */
    public dev.pml4.machine.SymbolTable symbols() {
        return machine.symbols();
    }

    /** The machine itself, for what this API does not cover. */
    public Machine machine() {
        return machine;
    }

    @Override
    public void close() {
        try {
            machine.close();
        } finally {
            try (InputStream in = serialIn; OutputStream out = serialOut) {
                // closes --serial-in's and --serial's files
            } catch (IOException e) {
                throw new UncheckedIOException("closing the serial files", e);
            }
        }
    }

    /** Options as {@code pml4 run} takes them, then typed settings, which win over the options. */
    public static final class Builder {
        private final Path image;
        private final List<String> options = new ArrayList<>();
        private final List<GuestListener> listeners = new ArrayList<>();
        private Long maxInstructions;
        private byte[] serialInput;
        private Path directory;

        private Builder(Path image) {
            this.image = Objects.requireNonNull(image, "image");
        }

        /** Any options of {@code pml4 run}, e.g. {@code "--mem", "32M", "--tlb", "tiny", "--cmdline", "x"}. */
        public Builder options(String... args) {
            return options(List.of(args));
        }

        public Builder options(List<String> args) {
            options.addAll(args);
            return this;
        }

        /** Where the files the options name are, when not in the working directory (e.g. beside a lab spec). */
        public Builder directory(Path directory) {
            this.directory = directory;
            return this;
        }

        /** The instruction limit (as {@code --max-insns}; 0: none). */
        public Builder maxInstructions(long limit) {
            this.maxInstructions = limit;
            return this;
        }

        /** Bytes COM1 receives, read ahead as {@code --serial-in} does (replaces {@code --serial-in}). */
        public Builder serialInput(byte[] bytes) {
            this.serialInput = bytes.clone();
            return this;
        }

        public Builder listener(GuestListener listener) {
            listeners.add(Objects.requireNonNull(listener));
            return this;
        }

        /**
         * Creates the machine and boots the image.
         *
         * @throws SetupException when an option or the image is refused (the message names it)
         */
        public Guest build() throws SetupException {
            RunArguments args;
            try {
                args = RunArguments.parse(options);
                if (directory != null) {
                    args = args.relativeTo(directory);
                }
            } catch (IllegalArgumentException e) {
                throw new SetupException(e.getMessage(), e);
            }
            if (args.gdbPort().isPresent()) {
                throw new SetupException("--gdb: serving gdb needs 'pml4 run'", null);
            }
            KernelImage kernel;
            List<dev.pml4.machine.BootModule> modules;
            try {
                kernel = KernelImages.read(image, args.loadAddress(), args.entry(), args.bootMethod());
                modules = args.modules();
            } catch (ImageRejectedException e) {
                throw new SetupException(e.getMessage(), e);
            }
            ByteArrayOutputStream transcript = new ByteArrayOutputStream();
            List<String> warnings = new ArrayList<>();
            InputStream in = serialIn(args);
            OutputStream serialOut = serialOut(args, transcript, List.copyOf(listeners));
            Machine.Config config = Machine.Config.defaults(serialOut).withRamSize(args.memory()).withTlb(args.tlb())
                    .withInstructionLimit(maxInstructions != null ? maxInstructions : args.maxInstructions())
                    .withSerialIn(new SerialInput(in, false)).withWarnings(warnings::add);
            Machine machine;
            try {
                machine = new Machine(config);
            } catch (OutOfMemoryError e) {
                throw new SetupException("--mem: cannot allocate that much RAM on this host (" + e.getMessage() + ")", e);
            }
            try {
                if (args.checkTlb().isPresent()) {
                    var checker = machine.checkTlb(args.checkTlb().get());
                    for (GuestListener l : listeners) {
                        checker.addListener(l::tlbCheck);
                    }
                }
                Mmu.Listener noMmuListener = new Mmu.Listener() {
                };
                if (!listeners.isEmpty()) {
                    // Before booting: putting the processor at the entry may already walk.
                    listen(machine, new Events(machine.cpu(), listeners, ExecutionObserver.NONE, noMmuListener));
                }
                machine.boot(kernel, args.commandLine().orElse(null), modules);
                if (args.trace().isPresent()) {
                    // The tracer needs the booted image's symbols; the listeners hear everything it does.
                    Tracer tracer = machine.trace(args.traceOptions(kernel, image), new BufferedWriter(traceWriter(args.trace().get()), 1 << 16));
                    if (!listeners.isEmpty()) {
                        listen(machine, new Events(machine.cpu(), listeners, tracer, tracer));
                    }
                }
                return new Guest(machine, image, args, transcript, warnings, in, serialOut);
            } catch (ImageRejectedException | IllegalArgumentException e) {
                machine.close();
                throw new SetupException(e.getMessage(), e);
            } catch (IOException e) {
                machine.close();
                throw new SetupException("--trace " + args.trace().get() + ": " + e.getMessage(), e);
            } catch (RuntimeException | Error e) {
                machine.close();
                throw e;
            }
        }

        private static void listen(Machine machine, Events events) {
            machine.cpu().setObserver(events);
            machine.mmu().setListener(events);
        }

        private InputStream serialIn(RunArguments args) throws SetupException {
            if (serialInput != null) {
                return new ByteArrayInputStream(serialInput);
            }
            if (args.serialIn().isEmpty()) {
                return InputStream.nullInputStream();
            }
            Path file = args.serialIn().get();
            if (file.toString().equals("-")) {
                return new java.io.FilterInputStream(System.in) {
                    @Override
                    public void close() {
                        // never close the process's standard input
                    }
                };
            }
            try {
                return Files.newInputStream(file);
            } catch (IOException e) {
                throw new SetupException("--serial-in " + file + ": cannot read it (" + e + ")", e);
            }
        }

        /** The transcript, each byte to the listeners, and to {@code --serial FILE} when given. */
        private static OutputStream serialOut(RunArguments args, ByteArrayOutputStream transcript, List<GuestListener> listeners)
                throws SetupException {
            OutputStream file;
            try {
                file = args.serialOut().isPresent() ? Files.newOutputStream(args.serialOut().get()) : OutputStream.nullOutputStream();
            } catch (IOException e) {
                throw new SetupException("--serial " + args.serialOut().get() + ": cannot write there (" + e + ")", e);
            }
            return new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    transcript.write(b);
                    file.write(b);
                    for (GuestListener l : listeners) {
                        l.serial(b & 0xff);
                    }
                }

                @Override
                public void flush() throws IOException {
                    file.flush();
                }

                @Override
                public void close() throws IOException {
                    file.close();
                }
            };
        }

        private static Writer traceWriter(String target) throws IOException {
            if (target.equals("-")) {
                return new OutputStreamWriter(new FileOutputStream(FileDescriptor.err), StandardCharsets.UTF_8);
            }
            return Files.newBufferedWriter(Path.of(target));
        }
    }
}
