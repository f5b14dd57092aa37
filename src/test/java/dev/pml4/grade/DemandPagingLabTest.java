package dev.pml4.grade;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The sample lab, guest/labs/demand-paging, graded as a course would: the reference solution gets
 * every point, the student skeleton (its #PF handler a TODO) fails with the messages a student
 * would read. Both reports are kept beside the lab, NAME.grade.expected.
 */
class DemandPagingLabTest {
    static final Path LAB = Grading.labs().resolve("demand-paging");

    private static String expected(String name) throws IOException {
        return Files.readString(LAB.resolve(name + ".grade.expected"), StandardCharsets.UTF_8);
    }

    @Test
    void theSolutionGetsFullMarks() throws IOException {
        Grading.Result r = Grading.grade(LAB.resolve("lab.toml"), Grading.builtLab("demand-paging", "solution"));
        assertEquals(expected("solution"), r.out(), r.err());
        assertEquals(0, r.status());
        assertTrue(r.out().endsWith("Score: 12/12 (7 of 7 tests passed)\n"));
    }

    @Test
    void theSkeletonFailsWithTheMessagesAStudentReads() throws IOException {
        Grading.Result r = Grading.grade(LAB.resolve("lab.toml"), Grading.builtLab("demand-paging", "skeleton"));
        assertEquals(expected("skeleton"), r.out(), r.err());
        assertEquals(1, r.status());
        assertTrue(r.out().endsWith("Score: 1/12 (1 of 7 tests passed)\n"));
    }
}
