package dev.pml4.machine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Symbols for a flat binary from the map file NASM writes for it ({@code [map symbols NAME.map]}
 * in the source): the "Real / Virtual / Name" rows of its Symbols part. A flat image
 * {@code kernel.bin} takes its symbols from {@code kernel.map} beside it, if there is one.
 */
public final class NasmMapFile {
    private static final Pattern ROW = Pattern.compile("^\\s*([0-9A-Fa-f]+)\\s+([0-9A-Fa-f]+)\\s+(\\S+)\\s*$");

    private NasmMapFile() {
    }

    /** The map file beside {@code image}: same name with .map for its extension. */
    public static Optional<Path> besides(Path image) {
        String name = image.getFileName().toString();
        int dot = name.lastIndexOf('.');
        Path map = image.resolveSibling((dot > 0 ? name.substring(0, dot) : name) + ".map");
        return Files.isRegularFile(map) ? Optional.of(map) : Optional.empty();
    }

    public static SymbolTable read(Path map) throws IOException {
        List<SymbolTable.Symbol> symbols = new ArrayList<>();
        boolean inSymbols = false;
        for (String line : Files.readAllLines(map, StandardCharsets.ISO_8859_1)) {
            if (line.startsWith("-- Symbols")) {
                inSymbols = true;
                continue;
            }
            if (line.startsWith("-- ") && !line.startsWith("-- Symbols")) {
                inSymbols = false;
            }
            Matcher m = ROW.matcher(line);
            if (inSymbols && m.matches()) {
                symbols.add(new SymbolTable.Symbol(m.group(3), Long.parseUnsignedLong(m.group(2), 16), 0,
                        SymbolTable.Kind.NOTYPE, SymbolTable.Binding.GLOBAL));
            }
        }
        return SymbolTable.of(symbols);
    }
}
