package dev.pml4.mmu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pml4.mmu.TlbCoherenceChecker.Change;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Which changes to a paging-structure entry make a cached translation stale (SDM Vol. 3A 4.10.4.2),
 * which the SDM lets software make without invalidating (4.10.4.3), and what the report says.
 */
class TlbCoherenceJudgeTest {
    @ParameterizedTest(name = "{0} {1} -> {2}: {5}")
    @CsvSource(delimiter = '|', textBlock = """
            # level | cached             | now                | leaf  | size    | dirty | change        | why
            PT      | 0x103023           | 0x104023           | true  | SIZE_4K | false | STALE         | frame 0x103000 -> 0x104000
            PT      | 0x103023           | 0x0                | true  | SIZE_4K | false | STALE         | P 1 -> 0: not present any more
            PT      | 0x103023           | 0x103022           | true  | SIZE_4K | false | STALE         | P 1 -> 0: not present any more
            PT      | 0x103023           | 0x103021           | true  | SIZE_4K | false | STALE         | R/W 1 -> 0
            PT      | 0x103021           | 0x103023           | true  | SIZE_4K | false | GRANTED       | R/W 0 -> 1: rights granted
            PT      | 0x103023           | 0x103027           | true  | SIZE_4K | false | GRANTED       | U/S 0 -> 1: rights granted
            PT      | 0x8000000000103023 | 0x103023           | true  | SIZE_4K | false | GRANTED       | XD 1 -> 0: rights granted
            PT      | 0x103023           | 0x8000000000103023 | true  | SIZE_4K | false | STALE         | XD 0 -> 1
            PT      | 0x103021           | 0x104023           | true  | SIZE_4K | false | STALE         | frame 0x103000 -> 0x104000, R/W 0 -> 1
            PT      | 0x103023           | 0x103003           | true  | SIZE_4K | false | SAME          |
            PT      | 0x103003           | 0x103e63           | true  | SIZE_4K | false | SAME          |
            PT      | 0x103023           | 0x7ff0000000103023 | true  | SIZE_4K | false | SAME          |
            PT      | 0x103063           | 0x103023           | true  | SIZE_4K | true  | DIRTY_CLEARED | D 1 -> 0 while the TLB holds the page as dirty
            PT      | 0x103063           | 0x103023           | true  | SIZE_4K | false | SAME          |
            PT      | 0x103023           | 0x103123           | true  | SIZE_4K | false | STALE         | G 0 -> 1
            PT      | 0x103023           | 0x1030a3           | true  | SIZE_4K | false | STALE         | PAT 0 -> 1
            PT      | 0x103023           | 0x103033           | true  | SIZE_4K | false | STALE         | PCD 0 -> 1
            PD      | 0x2000a3           | 0x4000a3           | true  | SIZE_2M | false | STALE         | frame 0x200000 -> 0x400000
            PD      | 0x2000a3           | 0x2010a3           | true  | SIZE_2M | false | STALE         | PAT 0 -> 1
            PD      | 0x2000a3           | 0x2020a3           | true  | SIZE_2M | false | STALE         | bits 0x2000
            PD      | 0x2000a3           | 0x200023           | true  | SIZE_2M | false | STALE         | PS 1 -> 0
            PD      | 0x105023           | 0x1050a3           | false | SIZE_4K | false | STALE         | PS 0 -> 1
            PD      | 0x105023           | 0x105163           | false | SIZE_4K | false | SAME          |
            PD      | 0x105023           | 0x10503b           | false | SIZE_4K | false | SAME          |
            PML4    | 0x2023             | 0x2027             | false | SIZE_4K | false | GRANTED       | U/S 0 -> 1: rights granted
            PML4    | 0x2023             | 0x3023             | false | SIZE_4K | false | STALE         | frame 0x2000 -> 0x3000
            """)
    void judgesAChange(PagingLevel level, String cached, String now, boolean leaf, PageSize size, boolean dirty, Change change, String why) {
        String[] said = new String[1];
        assertEquals(change, TlbCoherenceChecker.judge(Long.parseUnsignedLong(cached.substring(2), 16), Long.parseUnsignedLong(now.substring(2), 16), level, leaf, size, dirty, said));
        if (change != Change.SAME) {
            assertEquals(why, said[0]);
        }
    }
}
