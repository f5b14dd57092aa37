package dev.pml4.api;

import dev.pml4.mmu.PageFaultErrorCode;

/**
 * An exception or interrupt delivered through the guest's IDT (SDM Vol. 3A 6.14).
 *
 * @param vector    the vector delivered (14 for #PF; 8 when a fault during delivery became #DF)
 * @param errorCode the error code pushed, or -1 for a vector that pushes none
 * @param cr2       CR2 after delivery: the faulting linear address for #PF
 * @param handler   the handler's address, from the gate
 * @param cpl       the privilege level the handler runs at
 * @param chain     the events in order, for people: "#PF(0x2) CR2=0x10000000000"
 */
public record Fault(int vector, int errorCode, long cr2, long handler, int cpl, String chain) {
    /** The page-fault vector (SDM Vol. 3A 6.15, interrupt 14). */
    public static final int PAGE_FAULT = 14;

    /** "#PF(0x2) CR2=0x10000000000" and its error code spelt out for a page fault. */
    public String describe() {
        return vector == PAGE_FAULT && errorCode >= 0 ? chain + " [" + PageFaultErrorCode.describe(errorCode) + "]" : chain;
    }
}
