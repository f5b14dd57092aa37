package dev.pml4.grade;

/** A lab spec or a grade command line that cannot be used; the message names the key (exit status 2). */
public final class SpecException extends Exception {
    public SpecException(String message) {
        super(message);
    }
}
