package dev.pml4.api;

/**
 * The options or the image were refused before anything ran (what {@code pml4 run} reports with
 * exit status 2). The message names what is wrong.
 */
public final class SetupException extends Exception {
    public SetupException(String message, Throwable cause) {
        super(message, cause);
    }
}
