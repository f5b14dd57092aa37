package dev.pml4.machine;

/**
 * A kernel image (or the boot request around it) that cannot be booted under BOOT.md, found before
 * anything runs. The message reads "file: what and why", naming the segment where there is one, so
 * the CLI can print it as it is and exit with status 2 (BOOT.md, "How a run ends").
 */
public final class ImageRejectedException extends Exception {
    private final String file;
    private final String reason;

    public ImageRejectedException(String file, String reason) {
        this(file, reason, null);
    }

    public ImageRejectedException(String file, String reason, Throwable cause) {
        super(file + ": " + reason, cause);
        this.file = file;
        this.reason = reason;
    }

    /** The image's name as the user gave it (a path, usually). */
    public String file() {
        return file;
    }

    /** The message without the file name in front. */
    public String reason() {
        return reason;
    }
}
