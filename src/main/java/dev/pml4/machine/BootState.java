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
 * @param rax         RAX at entry (the Multiboot magic in EAX; 0 for boot protocol 1)
 * @param rbx         RBX at entry (the Multiboot information structure in EBX; 0 for boot protocol 1)
 * @param entryMode   the processor mode at entry: 64-bit for boot protocol 1, 32-bit protected
 *                    mode with paging off for Multiboot
 */
public record BootState(long rip, long rsp, long rdi, long rflags,
                        long cr0, long cr3, long cr4, long efer,
                        long gdtBase, int gdtLimit,
                        int cs, int ds, int es, int ss, int fs, int gs,
                        long kernelStart, long kernelEnd, long firstFree,
                        long rax, long rbx, EntryMode entryMode) {

    /** A boot protocol 1 state: 64-bit mode, RAX and RBX zero. */
    public BootState(long rip, long rsp, long rdi, long rflags,
                     long cr0, long cr3, long cr4, long efer,
                     long gdtBase, int gdtLimit,
                     int cs, int ds, int es, int ss, int fs, int gs,
                     long kernelStart, long kernelEnd, long firstFree) {
        this(rip, rsp, rdi, rflags, cr0, cr3, cr4, efer, gdtBase, gdtLimit, cs, ds, es, ss, fs, gs,
                kernelStart, kernelEnd, firstFree, 0, 0, EntryMode.LONG_64);
    }
}
