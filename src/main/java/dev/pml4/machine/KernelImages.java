package dev.pml4.machine;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.OptionalLong;

/** Reading a kernel image from a file: ELF or flat binary, as BOOT.md's "Images" says. */
public final class KernelImages {
    private KernelImages() {
    }

    /** A Java array's limit; any real RAM size refuses far smaller images anyway. */
    private static final long MAX_FILE_SIZE = Integer.MAX_VALUE - 8;

    /**
     * Reads the file and makes an image of it. A file that starts with {@code \x7fELF} is an ELF
     * file and must be a valid ELF64 executable: it is never run as a flat binary instead, since
     * jumping into an ELF header would only fail later and more obscurely. Anything else is a flat
     * binary.
     *
     * @param loadAddress for a flat binary, its physical load address (default 0x100000)
     * @param entry       for a flat binary, its entry address (default: the load address)
     * @throws ImageRejectedException when the file cannot be read, is empty, is a bad ELF file, or
     *                                is an ELF file given a load address or entry (ELF files carry
     *                                their own)
     */
    public static KernelImage read(Path file, OptionalLong loadAddress, OptionalLong entry)
            throws ImageRejectedException {
        return read(file, loadAddress, entry, java.util.Optional.empty());
    }

    /**
     * As {@link #read(Path, OptionalLong, OptionalLong)}, choosing the boot protocol: {@code method}
     * when given ({@code --boot}), else from the image: a Multiboot2 header (Multiboot2 2.0,
     * section 3.1.1: its magic 8-byte aligned in the first 32 KiB) wins over a Multiboot one (0.6.96
     * section 3.1.1: 4-byte aligned in the first 8 KiB), which wins over boot protocol 1.
     */
    public static KernelImage read(Path file, OptionalLong loadAddress, OptionalLong entry,
                                   java.util.Optional<BootMethod> method) throws ImageRejectedException {
        String name = file.toString();
        byte[] bytes;
        try {
            if (Files.isDirectory(file)) {
                throw new ImageRejectedException(name, "is a directory, not a kernel image");
            }
            if (Files.size(file) > MAX_FILE_SIZE) {
                throw new ImageRejectedException(name, "is " + Messages.size(Files.size(file))
                        + ", too large to be a kernel image");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ImageRejectedException(name, "no such file", e);
        } catch (AccessDeniedException e) {
            throw new ImageRejectedException(name, "cannot be read: permission denied", e);
        } catch (IOException e) {
            throw new ImageRejectedException(name, "cannot be read: " + e.getMessage(), e);
        }
        if (bytes.length == 0) {
            throw new ImageRejectedException(name, "the file is empty: there is nothing to load");
        }
        BootMethod chosen = method.orElseGet(() -> detect(bytes));
        if (chosen != BootMethod.PML4) {
            if (loadAddress.isPresent() || entry.isPresent()) {
                throw new ImageRejectedException(name, (loadAddress.isPresent() ? "--load-addr" : "--entry")
                        + " is for flat binaries under boot protocol 1 only: a " + (chosen == BootMethod.MULTIBOOT2
                        ? "Multiboot2" : "Multiboot") + " kernel's header or ELF file gives its load addresses and entry");
            }
            return MultibootImage.of(name, bytes, chosen);
        }
        if (isElf(bytes) && bytes.length > 4 && bytes[4] == 1) {
            throw new ImageRejectedException(name, "a 32-bit ELF file (EI_CLASS is ELFCLASS32); boot protocol 1 boots "
                    + "ELF64 kernels only (assemble with nasm -f elf64, link with ld -m elf_x86_64), and a 32-bit "
                    + "kernel needs a Multiboot or Multiboot2 header");
        }
        if (isElf(bytes)) {
            // Name only the option(s) given: "--load-addr and --entry" for a lone --entry reads as if
            // the user had passed both.
            if (loadAddress.isPresent()) {
                throw new ImageRejectedException(name, "--load-addr " + Messages.hex(loadAddress.getAsLong())
                        + " is for flat binaries only: an ELF file's program headers give its load addresses"
                        + (entry.isPresent() ? " (and --entry is refused too: e_entry gives its entry point)" : ""));
            }
            if (entry.isPresent()) {
                throw new ImageRejectedException(name, "--entry " + Messages.hex(entry.getAsLong())
                        + " is for flat binaries only: an ELF file's e_entry gives its entry point");
            }
            return ElfImage.parse(name, bytes);
        }
        long load = loadAddress.orElse(BootProtocol.FLAT_DEFAULT_LOAD_ADDRESS);
        FlatImage flat = FlatImage.of(name, bytes, load, entry.orElse(load));
        var map = NasmMapFile.besides(file);
        if (map.isPresent()) {
            try {
                return flat.withSymbols(NasmMapFile.read(map.get()));
            } catch (IOException | IllegalArgumentException e) {
                throw new ImageRejectedException(map.get().toString(), "not a NASM map file (" + e.getMessage() + ")");
            }
        }
        return flat;
    }

    /** The protocol the image's own headers ask for (see {@link #read(Path, OptionalLong, OptionalLong, java.util.Optional)}). */
    public static BootMethod detect(byte[] bytes) {
        if (Multiboot2Header.find(bytes).isPresent()) {
            return BootMethod.MULTIBOOT2;
        }
        if (MultibootHeader.find(bytes).isPresent()) {
            return BootMethod.MULTIBOOT;
        }
        return BootMethod.PML4;
    }

    /** The ELF magic, gABI "ELF Identification": 0x7f 'E' 'L' 'F'. */
    static boolean isElf(byte[] bytes) {
        return bytes.length >= 4 && bytes[0] == 0x7f && bytes[1] == 'E' && bytes[2] == 'L' && bytes[3] == 'F';
    }
}
