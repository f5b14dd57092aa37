package dev.pml4.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pml4.guest.Guests;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/** A flat image takes its symbols from the NASM map file beside it. */
class NasmMapFileTest {
    @TempDir
    Path dir;

    @Test
    void theGuestsFlatImageHasItsSymbols() throws Exception {
        KernelImage flat = KernelImages.read(Guests.image("hello_flat"), OptionalLong.empty(), OptionalLong.empty());
        assertEquals("_start", flat.symbols().describe(0x100000).orElseThrow());
        assertTrue(flat.symbols().symbols().stream().anyMatch(s -> s.name().equals("serial_puts")), flat.symbols().symbols().toString());
    }

    @Test
    void readsTheSymbolsPartOnly() throws Exception {
        Path map = dir.resolve("k.map");
        Files.writeString(map, """

                - NASM Map file ---------------------------------------------------------------

                Source file:  k.asm
                Output file:  k.bin

                -- Symbols --------------------------------------------------------------------

                ---- Section .text ------------------------------------------------------------

                Real              Virtual           Name
                          100000            100000  _start
                          100001            100001  loop1
                """);
        SymbolTable t = NasmMapFile.read(map);
        assertEquals(2, t.symbols().size());
        assertEquals("loop1", t.describe(0x100001).orElseThrow());
        Files.write(dir.resolve("k.bin"), new byte[]{(byte) 0x90, (byte) 0xf4});
        assertEquals("_start", KernelImages.read(dir.resolve("k.bin"), OptionalLong.empty(), OptionalLong.empty())
                .symbols().describe(0x100000).orElseThrow());
    }
}
