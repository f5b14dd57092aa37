package dev.pml4.mmu;

/**
 * Who makes an access, in the sense of SDM Vol. 3A 4.6 ("Access Rights").
 *
 * <p>The SDM classifies every access as supervisor-mode or user-mode. Accesses made at CPL 3 are
 * user-mode, except the <em>implicit</em> supervisor-mode accesses that the processor makes itself
 * while running at any CPL: reading the GDT or LDT to load a segment, the IDT to deliver an event,
 * the TSS for a stack switch. SMAP treats those differently from explicit supervisor accesses: it
 * applies to them whatever RFLAGS.AC says (SDM 4.6).
 */
public enum AccessMode {
    /** An explicit access at CPL 3. */
    USER,
    /** An explicit access at CPL 0, 1 or 2. SMAP may be overridden by RFLAGS.AC=1 (STAC). */
    SUPERVISOR,
    /** A supervisor-mode access the CPU makes itself (GDT, LDT, IDT, TSS), even at CPL 3. */
    IMPLICIT_SUPERVISOR;

    /** True for both supervisor modes. */
    public boolean isSupervisor() {
        return this != USER;
    }
}
