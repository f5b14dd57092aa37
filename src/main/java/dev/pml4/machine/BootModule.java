package dev.pml4.machine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A boot module ({@code --module FILE[=STRING]}): a file the Multiboot loader copies into RAM
 * beside the kernel and lists in the information structure with its string (Multiboot 0.6.96
 * section 3.3, "mods"; Multiboot2 section 3.6.6).
 *
 * @param name   the file as the user named it, for messages
 * @param data   its bytes
 * @param string the module's string: STRING when given, the file name otherwise (as GRUB's
 *               {@code module FILE} gives the path)
 */
public record BootModule(String name, byte[] data, String string) {
    public BootModule {
        data = data.clone();
    }

    @Override
    public byte[] data() {
        return data.clone();
    }

    public int size() {
        return data.length;
    }

    /**
     * Reads {@code FILE[=STRING]}.
     *
     * @throws ImageRejectedException naming the file when it cannot be read
     */
    public static BootModule read(String spec) throws ImageRejectedException {
        int eq = spec.indexOf('=');
        String file = eq < 0 ? spec : spec.substring(0, eq);
        String string = eq < 0 ? file : spec.substring(eq + 1);
        if (file.isEmpty()) {
            throw new ImageRejectedException("--module " + spec, "no file name before '='");
        }
        try {
            return new BootModule(file, Files.readAllBytes(Path.of(file)), string);
        } catch (IOException | RuntimeException e) {
            throw new ImageRejectedException("--module " + file, "cannot be read ("
                    + (e instanceof java.nio.file.NoSuchFileException ? "no such file" : e.getMessage()) + ")", e);
        }
    }
}
