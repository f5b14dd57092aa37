package dev.pml4.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code pml4 pt}, {@code walk}, {@code tlb} and {@code idt}: the inspections of a dump
 * ({@code --dump-on-exit}) as commands of their own, like a monitor's; each is
 * {@code pml4 inspect DUMP WHAT} under another name.
 */
final class DumpViews {
    private DumpViews() {
    }

    /** What every view shares: the dump it reads, and the way to ask it. */
    abstract static class View implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "DUMP", description = "A file written by 'pml4 run --dump-on-exit'.")
        Path dump;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        int inspect(String what, List<String> args) {
            InspectCommand c = new InspectCommand();
            c.spec = spec;
            c.dump = dump;
            c.what = what;
            c.args = args;
            return c.call();
        }
    }

    @Command(name = "pt", description = "Print the page-table tree of a dump's CR3, contiguous ranges merged, flags decoded.",
            footer = {"", "Example:  pml4 pt demo.dump --dot | dot -Tpng > tables.png"})
    static final class PageTables extends View {
        @Option(names = "--dot", description = "A Graphviz digraph instead of text.")
        boolean dot;

        @Override
        public Integer call() {
            return inspect(dot ? "pt-dot" : "pt", List.of());
        }
    }

    @Command(name = "walk", description = "Show one page walk of VA in a dump, step by step, without side effects.",
            footer = {"", "Example:  pml4 walk demo.dump 0xffff8000dead0000 --write"})
    static final class Walk extends View {
        @Parameters(index = "1", paramLabel = "VA", description = "The linear address, 0x... or decimal.")
        String address;

        @Option(names = "--write", description = "Walk for a write (default: a read).")
        boolean write;

        @Option(names = "--fetch", description = "Walk for an instruction fetch.")
        boolean fetch;

        @Option(names = "--user", description = "Walk as CPL 3 would (default: supervisor).")
        boolean user;

        @Override
        public Integer call() {
            List<String> args = new ArrayList<>(List.of(address, write ? "write" : fetch ? "fetch" : "read"));
            if (user) {
                args.add("user");
            }
            return inspect("walk", args);
        }
    }

    @Command(name = "tlb", description = "List the TLB entries saved in a dump.")
    static final class TlbView extends View {
        @Override
        public Integer call() {
            return inspect("tlb", List.of());
        }
    }

    @Command(name = "idt", description = "Decode the IDT saved in a dump: each gate's type, DPL, IST and handler.")
    static final class IdtView extends View {
        @Override
        public Integer call() {
            return inspect("idt", List.of());
        }
    }
}
