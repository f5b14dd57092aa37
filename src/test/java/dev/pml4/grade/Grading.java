package dev.pml4.grade;

import dev.pml4.cli.Main;
import dev.pml4.guest.Guests;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;

/** Runs {@code pml4 grade} through the real command line, with its output captured. */
final class Grading {
    private Grading() {
    }

    record Result(int status, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }
    }

    static Result grade(Object... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        String[] words = new String[args.length + 1];
        words[0] = "grade";
        for (int i = 0; i < args.length; i++) {
            words[i + 1] = args[i].toString();
        }
        int status = cli.execute(words);
        return new Result(status, out.toString(), err.toString());
    }

    static Path labs() {
        return Guests.sourceDir().resolve("labs");
    }

    static Path builtLab(String lab, String kernel) {
        return Guests.buildDir().resolve("labs").resolve(lab).resolve(kernel + ".elf");
    }
}
