package dev.pml4.cli;

import dev.pml4.inspect.MachineDump;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "inspect", sortOptions = false,
        description = {"Show the MMU state saved by 'pml4 run --dump-on-exit FILE'.",
                "WHAT is pt (the page tables of CR3, ranges merged), pt-dot (the same for Graphviz),",
                "tlb (the TLB's entries), idt (the gates), regs (the registers), or walk VA [read|write|fetch]",
                "[user] (one walk, step by step). Nothing in the dump changes: walks are probes.", ""},
        footer = {"", "Examples:",
                "  pml4 run --dump-on-exit demo.dump guest/build/demo.elf",
                "  pml4 inspect demo.dump pt",
                "  pml4 inspect demo.dump walk 0xffff8000dead0000 write",
                "  pml4 inspect demo.dump pt-dot | dot -Tpng > tables.png"})
final class InspectCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "DUMP", description = "A file written by --dump-on-exit.")
    Path dump;

    @Parameters(index = "1", paramLabel = "WHAT", description = "pt, pt-dot, tlb, idt, regs, or walk.")
    String what;

    @Parameters(index = "2..*", paramLabel = "ARGS", description = "For walk: VA, then read|write|fetch, then user.")
    List<String> args = List.of();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (MachineDump d = MachineDump.read(dump)) {
            if (what.equals("regs")) {
                d.registers().forEach((k, v) -> out.printf("%-13s 0x%016x%n", k, v));
            } else {
                out.print(d.inspector().answer(what, args));
            }
            out.flush();
            return 0;
        } catch (IllegalArgumentException e) {
            err.println("pml4: inspect: " + e.getMessage() + (what.equals("walk") ? "" : " (or regs)"));
            return Main.EXIT_USAGE;
        } catch (IOException e) {
            err.println("pml4: " + e.getMessage());
            return Main.EXIT_USAGE;
        }
    }
}
