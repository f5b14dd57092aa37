/**
 * The MMU: the four-level page walk ({@link dev.pml4.mmu.PageWalker}), the access-rights rules
 * shared by the walker and the TLB ({@link dev.pml4.mmu.AccessRights}) and the values they
 * produce. Names follow the Intel SDM Vol. 3A chapter 4 (PML4E, PDPTE, PDE, PTE, R/W, U/S, XD,
 * A, D, G, PS, WP, SMEP, SMAP, NXE, RSVD, I/D).
 */
package dev.pml4.mmu;
