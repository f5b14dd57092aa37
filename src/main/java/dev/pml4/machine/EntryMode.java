package dev.pml4.machine;

/**
 * The processor mode a boot protocol hands the kernel.
 *
 * <ul>
 *   <li>{@link #LONG_64}: 64-bit mode with 4-level paging on (boot protocol 1, BOOT.md);</li>
 *   <li>{@link #PROTECTED_32}: 32-bit protected mode, flat 4 GiB segments, paging off, as the
 *       Multiboot 1 (0.6.96, section 3.2) and Multiboot2 (2.0, section 3.3) specifications
 *       define the machine state at entry. EAX carries the boot loader's magic and EBX the
 *       physical address of the information structure.</li>
 * </ul>
 */
public enum EntryMode {
    LONG_64,
    PROTECTED_32
}
