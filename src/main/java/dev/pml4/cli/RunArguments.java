package dev.pml4.cli;

import dev.pml4.machine.KernelImage;
import dev.pml4.mmu.TlbConfig;
import dev.pml4.trace.TraceOptions;
import picocli.CommandLine;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The options of {@code pml4 run}, parsed by {@code run}'s own picocli model, for the callers that
 * are not the command line: the Java API ({@code dev.pml4.api}) and {@code pml4 grade}, whose
 * specs give a test's options as {@code args}. One set of options, one parser: an option added to
 * {@code run} is accepted here with the same syntax, defaults and messages.
 */
public final class RunArguments {
    private final RunCommand parsed;

    private RunArguments(RunCommand parsed) {
        this.parsed = parsed;
    }

    /**
     * Parses {@code args} (options only: the image is given apart).
     *
     * @throws IllegalArgumentException with picocli's message, which names the option
     */
    public static RunArguments parse(List<String> args) {
        RunCommand command = new RunCommand();
        try {
            new CommandLine(command.model()).parseArgs(args.toArray(String[]::new));
        } catch (CommandLine.ParameterException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        if (command.image != null) {
            throw new IllegalArgumentException("'" + command.image + "' is not an option: the kernel image is given apart");
        }
        new RunArguments(command).checkTlb(); // refuses a bad mode now, as run does before booting
        new RunArguments(command).bootMethod(); // and a protocol pml4 does not know
        if (command.help) {
            throw new IllegalArgumentException("--help asks for the usage text, which a run given options this way cannot print");
        }
        return new RunArguments(command);
    }

    /**
     * The same options with the files they name ({@code --serial-in}, {@code --serial},
     * {@code --trace=FILE}, {@code --dump-on-exit}) taken relative to {@code directory} rather
     * than the working directory, as a lab spec's paths are relative to the spec.
     */
    public RunArguments relativeTo(Path directory) {
        if (parsed.serialIn != null && !parsed.serialIn.toString().equals("-")) {
            parsed.serialIn = directory.resolve(parsed.serialIn);
        }
        if (parsed.serialOut != null) {
            parsed.serialOut = directory.resolve(parsed.serialOut);
        }
        if (parsed.dumpOnExit != null) {
            parsed.dumpOnExit = directory.resolve(parsed.dumpOnExit);
        }
        if (parsed.trace != null && !parsed.trace.equals("-")) {
            parsed.trace = directory.resolve(parsed.trace).toString();
        }
        return this;
    }

    /** No options: every default of {@code pml4 run}. */
    public static RunArguments defaults() {
        return parse(List.of());
    }

    public long memory() {
        return parsed.memory;
    }

    public long maxInstructions() {
        return parsed.maxInstructions;
    }

    public TlbConfig tlb() {
        return parsed.tlb.config();
    }

    public Optional<String> commandLine() {
        return Optional.ofNullable(parsed.commandLine);
    }

    public OptionalLong loadAddress() {
        return parsed.loadAddress == null ? OptionalLong.empty() : OptionalLong.of(parsed.loadAddress);
    }

    public OptionalLong entry() {
        return parsed.entry == null ? OptionalLong.empty() : OptionalLong.of(parsed.entry);
    }

    /** {@code --serial FILE}: where COM1's output is written (as well as to the caller). */
    public Optional<Path> serialOut() {
        return Optional.ofNullable(parsed.serialOut);
    }

    /** {@code --serial-in FILE}; {@code -} is standard input. */
    public Optional<Path> serialIn() {
        return Optional.ofNullable(parsed.serialIn);
    }

    /** {@code --trace[=FILE]}: "-" for standard error, a file name, or empty when not tracing. */
    public Optional<String> trace() {
        return parsed.trace != null || parsed.traceRing > 0 ? Optional.of(parsed.trace == null ? "-" : parsed.trace) : Optional.empty();
    }

    /**
     * What to trace, as {@code --trace-*} say; needs the kernel for {@code --trace-range SYMBOL}.
     *
     * @throws IllegalArgumentException naming the option that is wrong
     */
    public TraceOptions traceOptions(KernelImage kernel, Path image) {
        parsed.image = image;
        return parsed.traceOptions(kernel);
    }

    /** {@code --show WHAT,...}: the inspections to print when the run ends. */
    public List<String> show() {
        return parsed.show == null ? List.of() : List.copyOf(parsed.show);
    }

    public boolean stats() {
        return parsed.stats;
    }

    public Optional<Path> dumpOnExit() {
        return Optional.ofNullable(parsed.dumpOnExit);
    }

    /**
     * {@code --check-tlb[=report|stop]}: the TLB-coherence check, or empty when off.
     *
     * @throws IllegalArgumentException for a mode other than report or stop
     */
    public Optional<dev.pml4.mmu.TlbCoherenceChecker.Mode> checkTlb() {
        if (parsed.checkTlb == null) {
            return Optional.empty();
        }
        return Optional.of(switch (parsed.checkTlb.toLowerCase(java.util.Locale.ROOT)) {
            case "report" -> dev.pml4.mmu.TlbCoherenceChecker.Mode.REPORT;
            case "stop" -> dev.pml4.mmu.TlbCoherenceChecker.Mode.STOP;
            default -> throw new IllegalArgumentException("--check-tlb=" + parsed.checkTlb + ": use report or stop");
        });
    }

    /**
     * {@code --boot}: the boot protocol forced, or empty to choose it from the image.
     *
     * @throws IllegalArgumentException for a protocol pml4 does not know
     */
    public Optional<dev.pml4.machine.BootMethod> bootMethod() {
        return parsed.bootMethod();
    }

    /** {@code --module FILE[=STRING]}, read (Multiboot kernels only). */
    public List<dev.pml4.machine.BootModule> modules() throws dev.pml4.machine.ImageRejectedException {
        return parsed.bootModules();
    }

    /** {@code --gdb PORT}: the run waits for gdb. */
    public Optional<Integer> gdbPort() {
        return Optional.ofNullable(parsed.gdbPort);
    }

    /** What {@code --stats} and {@code --show} print when a run has ended, as {@code pml4 run} prints them. */
    public void printEndOfRun(java.io.PrintWriter out, dev.pml4.machine.Machine machine, dev.pml4.machine.Machine.RunResult result) {
        if (parsed.stats) {
            RunCommand.printStats(out, machine, result);
        }
        if (parsed.checkTlb != null) {
            out.print(machine.tlbCheck().summary().describe());
        }
        RunCommand.printShow(out, machine, parsed.show);
        out.flush();
    }
}
