package dev.pml4.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.io.PrintWriter;
import java.util.List;

/**
 * {@code pml4}: the command line. Exit statuses are BOOT.md's ("How a run ends"). Its picocli model
 * and {@code run}'s are built through picocli's programmatic API rather than from annotations,
 * which a cold JVM reads slowly (see {@link OptionBinding}); the other subcommands, off the path of
 * a run, keep their annotations.
 */
public final class Main implements Runnable {
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_INTERNAL = 8;

    /**
     * The subcommands, in the order the usage lists them. picocli reflects over every option of a
     * command when it is added (annotations read through proxies, converters made); building all
     * ten was most of the start-up of a {@code pml4 run}, so a command line that names one gets
     * only that one (see {@link #commandLine(String...)}).
     */
    private static final List<String> SUBCOMMANDS = List.of("run", "inspect", "pt", "walk", "tlb", "idt", "bench",
            "grade", "fuzz", "help");

    // A switch rather than a map of constructor references: a static map of lambdas made JDK 25's
    // AOT cache assembly abort (archiveHeapWriter "Metadata ... should have been archived").
    private static Object subcommand(String name) {
        return switch (name) {
            case "run" -> new RunCommand().model();
            case "inspect" -> new InspectCommand();
            case "pt" -> new DumpViews.PageTables();
            case "walk" -> new DumpViews.Walk();
            case "tlb" -> new DumpViews.TlbView();
            case "idt" -> new DumpViews.IdtView();
            case "bench" -> new BenchCommand();
            case "grade" -> new dev.pml4.grade.GradeCommand();
            case "fuzz" -> new FuzzCommand();
            case "help" -> new CommandLine.HelpCommand();
            default -> throw new IllegalArgumentException(name);
        };
    }

    private CommandSpec spec;

    /**
     * The model of {@code pml4} without its subcommands. -h and -V are mixinStandardHelpOptions'
     * options, with its texts: the mixin itself is read from annotations.
     */
    private static CommandSpec model(Main main) {
        main.spec = CommandSpec.wrapWithoutInspection(main).name("pml4").versionProvider(new Version());
        main.spec.usageMessage()
                .description("Boots a small freestanding x86-64 kernel and shows the memory-management unit at work:",
                        "the real four-level page walk, a modelled TLB, and the exceptions it raises.",
                        "")
                .footer("", "Run 'pml4 help run' for the options of a run. Exit statuses:",
                        "  0  the guest halted with interrupts off (it powered off)",
                        "  odd  (v << 1) | 1: the guest wrote v to the debug-exit port 0xF4",
                        "  2  the command line or the image was refused",
                        "  4  triple fault",
                        "  6  the instruction limit was reached",
                        "  8  an internal error of pml4 (a bug)",
                        " 10  --check-tlb=stop: the guest was about to use a stale TLB entry",
                        " 12  the guest used something pml4 does not model yet");
        main.spec.addOption(OptionSpec.builder("-h", "--help").type(boolean.class).usageHelp(true)
                .description("Show this help message and exit.").build());
        main.spec.addOption(OptionSpec.builder("-V", "--version").type(boolean.class).versionHelp(true)
                .description("Print version information and exit.").build());
        return main.spec;
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing command: try 'pml4 run IMAGE'");
    }

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("run")) {
            dev.pml4.machine.NativeWarmUp.start(); // links bindings while picocli parses (README, "Start-up")
        }
        System.exit(execute(args));
    }

    /** Runs the command line and returns the exit status (tests call this instead of main). */
    public static int execute(String... args) {
        CommandLine cli = commandLine(args);
        try {
            return cli.execute(args);
        } catch (Error e) {
            // picocli hands only Exceptions to the execution exception handler. An Error left to the
            // JVM would end the process with status 1, which BOOT.md gives to a guest that wrote 0 to
            // the debug-exit port.
            reportInternalError(cli.getErr(), e);
            return EXIT_INTERNAL;
        }
    }

    /** The command line with pml4's exit statuses and error handling (tests run it with their own output writers). */
    public static CommandLine commandLine() {
        return commandLine(new String[0]);
    }

    /**
     * The command line for {@code args}: with only the subcommand {@code args[0]} names, when it
     * names one (but {@code help}, which lists them all); else with every subcommand, so that the
     * usage, {@code help} and the suggestions for a mistyped command see them all.
     */
    static CommandLine commandLine(String... args) {
        CommandLine cli = new CommandLine(model(new Main()));
        boolean one = args.length > 0 && !args[0].equals("help") && SUBCOMMANDS.contains(args[0]);
        for (String name : one ? List.of(args[0]) : SUBCOMMANDS) {
            cli.addSubcommand(name, subcommand(name));
        }
        cli.setExitCodeExceptionMapper(t -> EXIT_INTERNAL);
        cli.getCommandSpec().exitCodeOnInvalidInput(EXIT_USAGE);
        cli.getSubcommands().values().forEach(c -> c.getCommandSpec().exitCodeOnInvalidInput(EXIT_USAGE));
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            reportInternalError(commandLine.getErr(), e);
            return EXIT_INTERNAL;
        });
        // The same "pml4: what is wrong" line as every other refusal, and a pointer to --help
        // rather than the whole usage text, which buried the one line that mattered.
        cli.setParameterExceptionHandler((e, unparsed) -> {
            CommandLine failed = e.getCommandLine();
            PrintWriter err = failed.getErr();
            err.println("pml4: " + e.getMessage());
            CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
            err.println("Try '" + failed.getCommandSpec().qualifiedName() + " --help' for more information.");
            err.flush();
            return failed.getCommandSpec().exitCodeOnInvalidInput();
        });
        return cli;
    }

    private static void reportInternalError(PrintWriter err, Throwable e) {
        err.println("pml4: internal error: " + e);
        e.printStackTrace(err);
        err.println("This is a bug in pml4: please report it with the guest image and the command line.");
        err.flush();
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[]{"pml4 " + (v != null ? v : "(development build)")};
        }
    }
}
