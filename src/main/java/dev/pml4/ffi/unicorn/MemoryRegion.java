package dev.pml4.ffi.unicorn;

/** {@code uc_mem_region}: one mapped range, {@code end} inclusive as Unicorn reports it. */
public record MemoryRegion(long begin, long end, int perms) {
}
