package dev.pml4.machine;

/**
 * The CPU state a kernel finds at entry (BOOT.md, "State at entry"), plus where its image landed.
 * Registers not listed here are 0 at entry: the other general-purpose registers, CR2
 * ({@link BootProtocol#ENTRY_CR2}), the IDTR ({@link BootProtocol#ENTRY_IDT_BASE},
 * {@link BootProtocol#ENTRY_IDT_LIMIT}) and the FS/GS bases.
 *
 * @param kernelStart lowest physical byte of the kernel (boot info offset 24)
 * @param kernelEnd   one past its highest physical byte, bss included (boot info offset 32)
 * @param firstFree   first free physical address (boot info offset 40)
 */
public record BootState(long rip, long rsp, long rdi, long rflags,
                        long cr0, long cr3, long cr4, long efer,
                        long gdtBase, int gdtLimit,
                        int cs, int ds, int es, int ss, int fs, int gs,
                        long kernelStart, long kernelEnd, long firstFree) {
}
