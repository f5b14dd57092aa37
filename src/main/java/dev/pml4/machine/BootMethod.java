package dev.pml4.machine;

import java.util.Locale;

/**
 * How a kernel is booted: pml4's own boot protocol 1 (docs/boot.md), Multiboot 1 (specification
 * 0.6.96) or Multiboot2 (specification 2.0). {@link KernelImages} chooses from the image (a
 * Multiboot2 header wins over a Multiboot one, which wins over protocol 1) unless
 * {@code --boot} names one.
 */
public enum BootMethod {
    PML4, MULTIBOOT, MULTIBOOT2;

    /** The name {@code --boot} takes. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** @throws IllegalArgumentException naming the choices */
    public static BootMethod parse(String name) {
        for (BootMethod m : values()) {
            if (m.cliName().equals(name.strip().toLowerCase(Locale.ROOT))) {
                return m;
            }
        }
        throw new IllegalArgumentException("'" + name + "' is not a boot protocol: use pml4, multiboot or multiboot2");
    }
}
