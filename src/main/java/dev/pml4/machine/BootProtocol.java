package dev.pml4.machine;

/**
 * Every address and value of pml4 boot protocol version 1, in one place.
 *
 * <p>The contract is docs/boot.md (boot protocol 1, BOOT.md for short); each constant below cites the
 * section it comes from. Kernels written elsewhere rely on these values to the letter, so a change
 * here is a change of protocol and needs a new version number there first.
 */
public final class BootProtocol {
    private BootProtocol() {
    }

    /** BOOT.md, "Boot info": version field. */
    public static final long VERSION = 1;

    // ---- BOOT.md, "Physical memory" -------------------------------------------------------------

    /** BOOT.md: default 64 MiB of RAM from physical 0. */
    public static final long DEFAULT_RAM_SIZE = 64L << 20;

    /** BOOT.md: 0x0000–0x0FFF is left zero (the memory map calls it reserved: a null page). */
    public static final long NULL_PAGE = 0x0000;

    /** BOOT.md: the loader's own structures start here. */
    public static final long LOADER_BASE = 0x1000;
    /** BOOT.md: PML4 at 0x1000 (also the value of CR3). */
    public static final long PML4_ADDRESS = 0x1000;
    /** BOOT.md: PDPT at 0x2000. */
    public static final long PDPT_ADDRESS = 0x2000;
    /** BOOT.md: four PDs 0x3000–0x6FFF, one per GiB of the identity map. */
    public static final long PD_ADDRESS = 0x3000;
    public static final int PD_COUNT = 4;
    /** BOOT.md: GDT at 0x7000. */
    public static final long GDT_ADDRESS = 0x7000;
    /** BOOT.md: boot info at 0x8000 (also the value of RDI). */
    public static final long BOOT_INFO_ADDRESS = 0x8000;
    /**
     * BOOT.md: further page tables from 0x9000. They end where the boot stack's range begins
     * (0x10000), so at most seven of them fit: 0x9000–0xFFFF.
     */
    public static final long EXTRA_TABLES_START = 0x9000;
    public static final long EXTRA_TABLES_END = 0x10000;

    /** BOOT.md: boot stack 0x10000–0x7FFFF. */
    public static final long STACK_BOTTOM = 0x10000;
    /** BOOT.md: RSP = 0x80000 at entry (the stack grows down from here). */
    public static final long STACK_TOP = 0x80000;

    /** BOOT.md: 0xA0000–0xFFFFF reserved (VGA window and ROM area). */
    public static final long RESERVED_LOW_START = 0xA0000;
    /**
     * BOOT.md: everything below 0x100000 is the loader area as far as images are concerned; the
     * kernel and free memory start here.
     */
    public static final long KERNEL_AREA_START = 0x100000;

    /** BOOT.md, "Images": a flat binary loads at physical 0x100000 unless told otherwise. */
    public static final long FLAT_DEFAULT_LOAD_ADDRESS = 0x100000;

    // ---- BOOT.md, "State at entry" --------------------------------------------------------------

    /** BOOT.md: RSP = 0x80000. */
    public static final long ENTRY_RSP = STACK_TOP;
    /** BOOT.md: RDI = 0x8000, the boot info. */
    public static final long ENTRY_RDI = BOOT_INFO_ADDRESS;
    /** BOOT.md: RFLAGS = 0x2 (bit 1 is reserved-as-one; IF clear). */
    public static final long ENTRY_RFLAGS = 0x2;
    /** BOOT.md: CR0 = 0x80010033 = PE | MP | ET | NE | WP | PG. */
    public static final long ENTRY_CR0 = 0x8001_0033L;
    /** BOOT.md: CR2 = 0. */
    public static final long ENTRY_CR2 = 0;
    /** BOOT.md: CR3 = 0x1000, the PML4 (PCID 0, PWT and PCD clear). */
    public static final long ENTRY_CR3 = PML4_ADDRESS;
    /** BOOT.md: CR4 = 0x620 = PAE | OSFXSR | OSXMMEXCPT. */
    public static final long ENTRY_CR4 = 0x620;
    /** BOOT.md: EFER = 0x500 = LME | LMA; NXE and SCE are the kernel's to set. */
    public static final long ENTRY_EFER = 0x500;
    /** BOOT.md: IDTR base 0, limit 0, so an exception before LIDT is a triple fault. */
    public static final long ENTRY_IDT_BASE = 0;
    public static final int ENTRY_IDT_LIMIT = 0;

    /** BOOT.md: GDT limit 0x27, five 8-byte descriptors. */
    public static final int GDT_LIMIT = 0x27;
    /** BOOT.md: selector 0x08 kernel code (64-bit, DPL 0). */
    public static final int KERNEL_CODE_SELECTOR = 0x08;
    /** BOOT.md: selector 0x10 kernel data. */
    public static final int KERNEL_DATA_SELECTOR = 0x10;
    /** BOOT.md: selector 0x18 user data (DPL 3); SYSRET loads SS = STAR[63:48] + 8. */
    public static final int USER_DATA_SELECTOR = 0x18;
    /** BOOT.md: selector 0x20 user code (64-bit, DPL 3); SYSRET loads CS = STAR[63:48] + 16. */
    public static final int USER_CODE_SELECTOR = 0x20;
    /** BOOT.md: CS = 0x08, DS = ES = SS = 0x10, FS = GS = 0. */
    public static final int ENTRY_CS = KERNEL_CODE_SELECTOR;
    public static final int ENTRY_DS = KERNEL_DATA_SELECTOR;
    public static final int ENTRY_ES = KERNEL_DATA_SELECTOR;
    public static final int ENTRY_SS = KERNEL_DATA_SELECTOR;
    public static final int ENTRY_FS = 0;
    public static final int ENTRY_GS = 0;

    /*
     * The descriptors themselves (Intel SDM vol. 3, 3.4.5 "Segment Descriptors"). Base 0 and limit
     * 0xFFFFF with G=1 throughout; code segments have L=1, D=0 (64-bit code); data segments D/B=1.
     * The accessed bit (type bit 0) is set, as it would be on hardware once the loader had loaded
     * CS/DS/SS, and as Linux does, so that loading a selector never has to write the GDT.
     */
    public static final long GDT_NULL = 0;
    /** 0x08: P=1 DPL=0 S=1 type=0xB (execute/read, accessed), L=1, G=1. */
    public static final long GDT_KERNEL_CODE = 0x00AF_9B00_0000_FFFFL;
    /** 0x10: P=1 DPL=0 S=1 type=0x3 (read/write, accessed), D/B=1, G=1. */
    public static final long GDT_KERNEL_DATA = 0x00CF_9300_0000_FFFFL;
    /** 0x18: P=1 DPL=3 S=1 type=0x3 (read/write, accessed), D/B=1, G=1. */
    public static final long GDT_USER_DATA = 0x00CF_F300_0000_FFFFL;
    /** 0x20: P=1 DPL=3 S=1 type=0xB (execute/read, accessed), L=1, G=1. */
    public static final long GDT_USER_CODE = 0x00AF_FB00_0000_FFFFL;

    // ---- BOOT.md, "Boot page tables" ------------------------------------------------------------

    /** BOOT.md: the first 4 GiB are identity-mapped. */
    public static final long IDENTITY_MAP_SIZE = 4L << 30;
    public static final long PAGE_SIZE_4K = 0x1000;
    public static final long PAGE_SIZE_2M = 0x20_0000;

    /* Page-table entry bits (Intel SDM vol. 3, 4.5 "4-Level Paging"). */
    public static final long PTE_PRESENT = 1L;
    public static final long PTE_WRITABLE = 1L << 1;
    /** PS: in a PD entry, maps a 2 MiB page. */
    public static final long PTE_PAGE_SIZE = 1L << 7;
    /** Bits 51:12 of an entry: the physical address it points at. */
    public static final long PTE_ADDRESS_MASK = 0x000F_FFFF_FFFF_F000L;

    /** BOOT.md: non-leaf entries are present and writable (supervisor: U/S clear). */
    public static final long TABLE_ENTRY_FLAGS = PTE_PRESENT | PTE_WRITABLE;
    /** BOOT.md: 2 MiB identity pages: present, writable, supervisor, not global, A and D clear. */
    public static final long IDENTITY_2M_FLAGS = PTE_PRESENT | PTE_WRITABLE | PTE_PAGE_SIZE;
    /** BOOT.md: 4 KiB pages for p_vaddr != p_paddr: present, writable, supervisor, A and D clear. */
    public static final long PAGE_4K_FLAGS = PTE_PRESENT | PTE_WRITABLE;

    // ---- BOOT.md, "Boot info" -------------------------------------------------------------------

    /** BOOT.md: magic, the 8 ASCII bytes "PML4BOOT" read as a little-endian u64. */
    public static final long BOOT_INFO_MAGIC = 0x544F_4F42_344C_4D50L;

    public static final int BI_MAGIC = 0;
    public static final int BI_VERSION = 8;
    public static final int BI_RAM_SIZE = 16;
    public static final int BI_KERNEL_START = 24;
    public static final int BI_KERNEL_END = 32;
    public static final int BI_FIRST_FREE = 40;
    public static final int BI_COMMAND_LINE = 48;
    public static final int BI_MEMORY_MAP_COUNT = 56;
    public static final int BI_MEMORY_MAP = 64;
    /** BOOT.md: each entry is { base, length, type }, three u64. */
    public static final int MEMORY_MAP_ENTRY_SIZE = 24;

    /*
     * Not in BOOT.md, but fixed here so that kernels see the same limits whatever they load: boot
     * info, memory map and command line share the page at 0x8000 (0x9000 is the first extra page
     * table). The command line, when there is one, follows the memory map at the next 8-byte
     * boundary; 1023 bytes plus its NUL leave room for 125 memory-map entries.
     */
    public static final long BOOT_INFO_PAGE_END = EXTRA_TABLES_START;
    public static final int COMMAND_LINE_MAX_BYTES = 1023;
    public static final int MEMORY_MAP_MAX_ENTRIES =
            (int) ((BOOT_INFO_PAGE_END - BOOT_INFO_ADDRESS - BI_MEMORY_MAP - (COMMAND_LINE_MAX_BYTES + 1) - 7)
                    / MEMORY_MAP_ENTRY_SIZE);

    /** BOOT.md: memory-map entry types. */
    public enum MemoryType {
        USABLE(1), RESERVED(2), LOADER(3), KERNEL(4);

        public final int code;

        MemoryType(int code) {
            this.code = code;
        }
    }
}
