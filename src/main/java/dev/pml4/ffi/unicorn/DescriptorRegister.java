package dev.pml4.ffi.unicorn;

/**
 * {@code uc_x86_mmr}: a descriptor-table register (GDTR, IDTR) or a system segment register with
 * its hidden part (LDTR, TR). Selector and flags are unused for GDTR and IDTR.
 */
public record DescriptorRegister(int selector, long base, int limit, int flags) {
}
