package dev.pml4.inspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.util.List;
import java.util.regex.Pattern;

/** The views name each mode's levels as the SDM does and show entries at their width; pt-dot draws the tables. */
class PagingModeViewsTest {

    /** Columns: guest, address, the steps' level names in order, a line of the walk. */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', textBlock = """
            paging32    | 0x401000           | PDE PTE                   | PTE    index   1  entry at 0x000010a004 = 0x00301063          P RW S A D
            paging32    | 0x0                | PDE                       | PDE    index   0  entry at 0x0000109000 = 0x000000e3          P RW S A D PS
            paging_pae  | 0x40100000         | PDPTE PDE                 | PDPTE  index   1  register from 0x0000109028 = 0x000000000010b001  P
            paging_pae  | 0x402000           | PDPTE PDE PTE             | PTE    index   2  entry at 0x000010c010 = 0x8000000000303003  P RW S XD
            paging_la57 | 0x0001000000001000 | PML5E PML4E PDPTE PDE PTE | PML5E  index   1  entry at 0x0000109008 = 0x000000000010d023  P RW S A
            """)
    void walksNameTheLevelsOfTheMode(String guest, String address, String levels, String line) throws Exception {
        InspectorTest.afterRun(guest, m -> {
            String walk = m.inspector().answer("walk", List.of(address));
            var names = Pattern.compile("(?m)^  (\\S+) +index").matcher(walk).results().map(r -> r.group(1)).toList();
            assertEquals(List.of(levels.split(" ")), names, walk);
            assertTrue(walk.contains(line + "\n"), walk);
        });
    }

    @Test
    void theTlbViewShowsThePdpteRegistersUnderPae() throws Exception {
        InspectorTest.afterRun("paging_pae", m -> {
            String tlb = m.inspector().answer("tlb", List.of());
            assertTrue(tlb.startsWith("PDPTE registers (loaded from 0x109020):\n  0: 0x000000000010a001  P\n"
                    + "  1: 0x000000000010b001  P\n  2: 0x0000000000000000  not present\n"), tlb);
        });
    }

    /** Protected mode's IDT has 8-byte gates with 32-bit offsets and no IST (SDM 6.11). */
    @Test
    void theIdtViewReadsProtectedModeGates() throws Exception {
        InspectorTest.afterRun("paging_pae", m -> {
            String idt = m.inspector().answer("idt", List.of());
            assertTrue(idt.startsWith("IDT at 0x10d000, limit 0x7ff (256 gates of 8 bytes, protected mode)\n"), idt);
            assertTrue(Pattern.compile("(?m)^   13 #GP   interrupt P DPL 0  0x0008:0x001[0-9a-f]{5}\\b").matcher(idt).find(), idt);
            assertTrue(Pattern.compile("(?m)^   14 #PF   interrupt P DPL 0  0x0008:0x001[0-9a-f]{5}\\b").matcher(idt).find(), idt);
            assertEquals(3, idt.lines().count(), idt);
        });
    }

    @Test
    void theTreeIsVmprintsLayout() throws Exception {
        InspectorTest.afterRun("paging32", m -> {
            assertEquals("""
                    page table 0x0000000000109000 (32-bit paging (CR0.PG=1, CR4.PAE=0))
                     ..0: pde 0x000000e3 pa 0x0000000000000000 4 MiB page
                     ..1: pde 0x0010a023 pa 0x000000000010a000
                     .. ..0: pte 0x00302023 pa 0x0000000000302000 4 KiB page
                     .. ..1: pte 0x00301063 pa 0x0000000000301000 4 KiB page
                    """, m.inspector().answer("pt-tree", List.of()));
        });
    }

    @Test
    void ptShowsThirtyTwoBitRangesWithAFourMibPage() throws Exception {
        InspectorTest.afterRun("paging32", m -> {
            String pt = m.inspector().answer("pt", List.of());
            assertTrue(pt.contains("  0x00000000-0x003fffff -> 0x0000000000-0x00003fffff  RW S X       4 MiB\n"), pt);
        });
    }

    /** demo maps one frame at two addresses: one frame node with two arrows; every table drawn once. */
    @Test
    void theDotPictureDrawsTablesOnceAndTheAliasAsOneFrame() throws Exception {
        InspectorTest.afterRun("demo", m -> {
            String dot = m.inspector().pageTablesDot();
            assertEquals(2, Pattern.compile("-> f109000_1000;").matcher(dot).results().count(), dot);
            var tableNodes = Pattern.compile("(?m)^  (t[0-9a-f]+) \\[label=").matcher(dot).results().map(r -> r.group(1)).toList();
            assertEquals(tableNodes.stream().distinct().toList(), tableNodes, "each table once");
            assertTrue(tableNodes.contains("t103000"), dot);
            assertTrue(dot.contains("cr3 -> t103000;"), dot);
        });
    }

    /** --svg's renderer: dot is installed by make (toolchain/install-deps.sh). */
    @Test
    void graphvizRendersThePicture() throws Exception {
        InspectorTest.afterRun("paging_la57", m -> {
            var out = Files.createTempFile("pml4-pt", ".svg");
            try {
                Graphviz.render(m.inspector().pageTablesDot(), "svg", out);
                String svg = Files.readString(out);
                assertTrue(svg.contains("<svg"), svg);
                assertTrue(svg.contains("PML5 at 0x109000"), svg);
            } finally {
                Files.deleteIfExists(out);
            }
        });
    }
}
