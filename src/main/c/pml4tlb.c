/*
 * pml4's engine page table (issue 12): the translations the TLB model holds, kept where QEMU's own
 * software TLB fills from them, so that making a TLB entry real costs a store here instead of a
 * Unicorn region (every uc_mem_map and uc_mem_unmap rebuilds Unicorn 2.0.1's view of memory, 13 us
 * and more with every region: DESIGN.md fact 13). Bound by dev.pml4.cpu.EnginePageTable.
 *
 * How QEMU is made to use it (measured in a C spike first, docs/engine-page-table.md):
 *  - QEMU's paging stays off, as everywhere in pml4. Its x86 tlb_fill then installs linear =
 *    physical through tlb_set_page_with_attrs_x86_64, which it calls through libunicorn's PLT. The
 *    GOT slot of that call is pointed at pml4_tlb_set_page below (once per process), which installs
 *    the frame and rights of this table instead, for engines that have a table; others pass through.
 *  - Guest RAM is one Unicorn region at an engine-physical address no canonical linear address
 *    reaches (EnginePageTable.RAM_BASE), so Unicorn's own checks of the linear address (2.0.1 looks the
 *    linear address up in its regions before QEMU's TLB) meet only the regions Java lays over the
 *    canonical space, which have no rights: every access QEMU's TLB does not hold comes to the
 *    memory hook, which answers from this table (pml4_tlb_allows, in pml4_mem) or asks Java.
 *  - A fill for a page this table does not hold can only come from QEMU looking up translated code
 *    (no Unicorn check runs there): it is raised as exception MISS_VECTOR at the exact state (no
 *    instruction of the block has run), reported to Java's interrupt hook, and retried when Java
 *    returns, as the spike measured. Never while Java is below on the stack (no_raise).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct uc_struct uc_engine;
extern int uc_ctl(uc_engine *uc, int control, ...);
extern void tlb_flush_page_x86_64(void *cpu, uint64_t addr);
extern void tlb_flush_x86_64(void *cpu);
extern void raise_exception_err_ra_x86_64(void *env, int exception_index, int error_code, uintptr_t retaddr);
extern void tlb_set_dirty_x86_64(void *cpu, uint64_t vaddr);
extern void tlb_reset_dirty_x86_64(void *cpu, uint64_t host_start, uint64_t length);

/* Debian libunicorn 2.0.1 (pml4fast.c checks uc->cpu at run time; the others were read from the
 * disassembly of x86_cpu_tlb_fill_x86_64 and raise_interrupt2). */
#define UC_CPU 0x180            /* uc_struct.cpu */
#define CPU_ENV 0x8750          /* X86CPU -> CPUX86State */
#define ENV_OLD_EXCEPTION 0x1558 /* CPUX86State.old_exception: -1 unless QEMU is delivering an exception */
#define CPU_FILL_RETADDR 0x9ce8 /* x86_cpu_tlb_fill's first store: its retaddr argument */
#define UC_CTL_WRITE_TB_REMOVE_CACHE (9 | (2 << 26) | (1 << 30))
#define MISS_VECTOR 31          /* reserved by the SDM (Vol. 3A 6.3.1), never raised by QEMU itself */

#define PAGE 4096ULL
#define LEAF 8ULL               /* an entry that maps: engine-physical base | LEAF | QEMU rights (1 R, 2 W, 4 X) */
#define RIGHTS 7ULL
#define FLUSH_EACH_LIMIT 16     /* beyond this many pages a whole flush is cheaper (~1 us) */

typedef struct {
    void *cpu;              /*  0 the CPUState this table serves (uc->cpu) */
    uc_engine *uc;          /*  8 */
    uint64_t miss_addr;     /* 16 the linear address of the last miss */
    uint64_t miss_retaddr;  /* 24 where in translated code it came from; 0: a code lookup */
    uint64_t misses;        /* 32 */
    uint64_t fills;         /* 40 fills of QEMU's TLB answered from the table */
    uint64_t answered;      /* 48 memory events answered here, without Java */
    uint32_t miss_pending;  /* 56 set with a miss, cleared by Java */
    uint32_t no_raise;      /* 60 a call from Java is under way: a miss must not unwind through it */
    uint64_t poison;        /* 64 engine-physical page a fill under no_raise gets (reads all-ones) */
    uint64_t poisoned;      /* 72 such fills */
    uint64_t scratch;       /* 80 the entry at SCRATCH (pml4_tlb_remove_frame_code), outside the tree */
    uint64_t running_misses; /* 88 misses from running code (a store's second page), among misses */
    uint64_t ram_base;      /* 96 engine-physical address of guest RAM */
    uint64_t ram_size;      /* 104 */
    uint64_t ram_host;      /* 112 its host address */
    uint8_t *code_frames;   /* 120 a bit per RAM frame QEMU translated code from (pml4_tlb_code_frame) */
    uint64_t root[512];     /* 128 five levels of 512 (bits 56:12): 0, a child node, or a leaf (LEAF set) */
} table_t;

size_t pml4_tlb_table_size(void) { return sizeof(table_t); }

/* ---- the tables of the engines that use one; looked up by the CPUState a fill is for */

#define MAX_TABLES 256
static table_t *tables[MAX_TABLES];
static pthread_mutex_t tables_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread table_t *last_table;

static table_t *table_of(void *cpu)
{
    table_t *t = last_table;
    if (t != NULL && t->cpu == cpu)
        return t;
    for (int i = 0; i < MAX_TABLES; i++) {
        t = __atomic_load_n(&tables[i], __ATOMIC_ACQUIRE);
        if (t != NULL && __atomic_load_n(&t->cpu, __ATOMIC_ACQUIRE) == cpu) {
            last_table = t;
            return t;
        }
    }
    return NULL;
}

/*
 * ---- the radix tree: levels 4 (128 PiB a slot) down to 0 (4 KiB), indexed by bits 56:12 as 5-level
 * paging's tables are (SDM Vol. 3A 4.5.1). Only addresses canonical there (bits 63:56 equal) have an
 * entry, so that no other address can alias one that has.
 */
#define TOP 4
#define SCRATCH 0x7000000000000000ULL /* non-canonical with 4- and 5-level paging (EnginePageTable's bases) */

static inline bool keyed(uint64_t linear) { int64_t high = (int64_t)linear >> 56; return high == 0 || high == -1; }

static inline unsigned index_at(uint64_t linear, int level) { return (linear >> (12 + 9 * level)) & 511; }
static inline uint64_t span(int level) { return PAGE << (9 * level); }

static void free_node(uint64_t *node, int level)
{
    if (level > 0)
        for (int i = 0; i < 512; i++)
            if (node[i] != 0 && !(node[i] & LEAF))
                free_node((uint64_t *)node[i], level - 1);
    free(node);
}

/* The entry that maps linear, or 0; *physical the engine-physical address of linear's page. */
static uint64_t lookup(const table_t *t, uint64_t linear, uint64_t *physical)
{
    if (!keyed(linear)) {
        if ((linear & ~(PAGE - 1)) != SCRATCH || t->scratch == 0)
            return 0;
        *physical = t->scratch & ~(PAGE - 1);
        return t->scratch;
    }
    const uint64_t *node = t->root;
    for (int level = TOP; level >= 0; level--) {
        uint64_t e = node[index_at(linear, level)];
        if (e == 0)
            return 0;
        if (e & LEAF) {
            *physical = (e & ~(PAGE - 1)) + (linear & (span(level) - 1) & ~(PAGE - 1));
            return e;
        }
        node = (const uint64_t *)e;
    }
    return 0;
}

/* A new node holding what the leaf e (at level + 1) mapped, split into leaves of level. */
static uint64_t *split(uint64_t e, int level)
{
    uint64_t *node = aligned_alloc(PAGE, PAGE);
    if (node == NULL)
        abort(); /* out of memory: as any allocation in the JVM would end */
    for (int i = 0; i < 512; i++)
        node[i] = e == 0 ? 0 : ((e & ~(PAGE - 1)) + i * span(level)) | (e & (LEAF | RIGHTS));
    return node;
}

typedef struct {
    int pages_changed; /* pages whose QEMU translation may now be stale */
} change_t;

/*
 * Applies op to [linear, linear + size) under node (level): writes leaves as large as the range
 * and the alignment of physical allow (op 'm'), or clears them (op 'u').
 */
static void apply(uint64_t *node, int level, uint64_t linear, uint64_t size, uint64_t physical, uint64_t rights, char op, change_t *c)
{
    while (size > 0) {
        unsigned i = index_at(linear, level);
        uint64_t here = span(level) - (linear & (span(level) - 1)); /* bytes to the end of this slot */
        uint64_t n = here < size ? here : size;
        uint64_t e = node[i];
        bool whole = n == span(level);
        if (whole && (op != 'm' || (physical & (span(level) - 1)) == 0)) {
            if (e != 0 && !(e & LEAF))
                free_node((uint64_t *)e, level - 1);
            if (e != 0)
                c->pages_changed += (int)(level >= 2 ? 1 << 20 : span(level) / PAGE);
            node[i] = op == 'm' ? physical | LEAF | rights : 0;
        } else if (level == 0) {
            /* cannot happen: a 4 KiB slot is always whole */
        } else {
            if (e == 0 && op != 'm') {
                /* nothing there */
            } else {
                if (e == 0 || (e & LEAF)) {
                    node[i] = (uint64_t)split(e, level - 1);
                }
                apply((uint64_t *)node[i], level - 1, linear, n, physical, rights, op, c);
            }
        }
        linear += n;
        physical += n;
        size -= n;
    }
}

static void flush(table_t *t, uint64_t linear, uint64_t size, int pages)
{
    if (pages == 0)
        return;
    if (pages > FLUSH_EACH_LIMIT || size / PAGE > FLUSH_EACH_LIMIT) {
        tlb_flush_x86_64(t->cpu);
        return;
    }
    for (uint64_t p = linear & ~(PAGE - 1); p < linear + size; p += PAGE)
        tlb_flush_page_x86_64(t->cpu, p);
}

/* [linear, linear + size) -> engine-physical [physical, ...) with QEMU rights (1 R, 2 W, 4 X). */
void pml4_tlb_map(table_t *t, uint64_t linear, uint64_t size, uint64_t physical, uint64_t rights)
{
    if (!keyed(linear) || !keyed(linear + size - 1))
        return; /* never mapped by Java: its canonical checks come first */
    change_t c = {0};
    apply(t->root, TOP, linear, size, physical, rights & RIGHTS, 'm', &c);
    flush(t, linear, size, c.pages_changed);
}

void pml4_tlb_unmap(table_t *t, uint64_t linear, uint64_t size)
{
    if (!keyed(linear) || !keyed(linear + size - 1))
        return;
    change_t c = {0};
    apply(t->root, TOP, linear, size, 0, 0, 'u', &c);
    flush(t, linear, size, c.pages_changed);
}

/* Gives every leaf of [linear, linear + size) under node (level) the rights, splitting a leaf the range cuts. */
static void protect_range(uint64_t *node, int level, uint64_t linear, uint64_t size, uint64_t rights, change_t *c)
{
    while (size > 0) {
        unsigned i = index_at(linear, level);
        uint64_t here = span(level) - (linear & (span(level) - 1));
        uint64_t n = here < size ? here : size;
        uint64_t e = node[i];
        if (e != 0 && !(e & LEAF)) {
            protect_range((uint64_t *)e, level - 1, linear, n, rights, c);
        } else if (e != 0 && n == span(level)) {
            if ((e & RIGHTS) != rights) {
                node[i] = (e & ~RIGHTS) | rights;
                c->pages_changed += (int)(level >= 2 ? 1 << 20 : span(level) / PAGE);
            }
        } else if (e != 0) {
            node[i] = (uint64_t)split(e, level - 1);
            protect_range((uint64_t *)node[i], level - 1, linear, n, rights, c);
        }
        linear += n;
        size -= n;
    }
}

/* The pages of [linear, linear + size) that the table holds get the rights; QEMU forgets those that changed. */
void pml4_tlb_protect(table_t *t, uint64_t linear, uint64_t size, uint64_t rights)
{
    if (!keyed(linear) || !keyed(linear + size - 1))
        return;
    change_t c = {0};
    protect_range(t->root, TOP, linear, size, rights & RIGHTS, &c);
    flush(t, linear, size, c.pages_changed);
}

/* The entry for linear's page (engine-physical page | LEAF | rights), or 0. */
uint64_t pml4_tlb_entry(table_t *t, uint64_t linear)
{
    uint64_t physical = 0, e = lookup(t, linear, &physical);
    return e == 0 ? 0 : physical | LEAF | (e & RIGHTS);
}

/* Whether every page of [addr, addr + size) is held with all of rights: the memory hook answers yes itself. */
bool pml4_tlb_allows(table_t *t, uint64_t addr, uint64_t size, uint64_t rights)
{
    uint64_t last = addr + (size == 0 ? 0 : size - 1);
    for (uint64_t p = addr & ~(PAGE - 1); ; p += PAGE) {
        uint64_t physical, e = lookup(t, p, &physical);
        if (e == 0 || (e & rights) != rights)
            return false;
        if (p == (last & ~(PAGE - 1)))
            break;
    }
    t->answered++;
    return true;
}

/*
 * Drops the code QEMU translated from the pages of [start, end) that the table holds (by their
 * frames: QEMU keys translated code by physical page). Pages it does not hold are skipped: looking
 * them up would be a miss, which must never unwind through Java.
 */
void pml4_tlb_remove_code(table_t *t, uint64_t start, uint64_t end)
{
    uint32_t was = t->no_raise;
    t->no_raise = 1;
    uint64_t poisoned = t->poisoned;
    for (uint64_t p = start & ~(PAGE - 1); p < end; p += PAGE) {
        uint64_t physical;
        if (lookup(t, p, &physical) != 0)
            uc_ctl(t->uc, UC_CTL_WRITE_TB_REMOVE_CACHE, p < start ? start : p, p + PAGE < end ? p + PAGE : end);
    }
    if (t->poisoned != poisoned)
        tlb_flush_x86_64(t->cpu);
    t->no_raise = was;
}

/*
 * Drops the code QEMU translated from the frames of engine-physical [physical, physical + size),
 * wherever the guest maps them now, or nowhere: each is mapped for the moment at SCRATCH, a
 * non-canonical linear address no guest access can have, and removed through it.
 */
void pml4_tlb_remove_frame_code(table_t *t, uint64_t physical, uint64_t size)
{
    uint32_t was = t->no_raise;
    t->no_raise = 1;
    for (uint64_t p = physical & ~(PAGE - 1); p < physical + size; p += PAGE) {
        t->scratch = p | LEAF | 5;
        uc_ctl(t->uc, UC_CTL_WRITE_TB_REMOVE_CACHE, SCRATCH, SCRATCH + PAGE);
        t->scratch = 0;
        tlb_flush_page_x86_64(t->cpu, SCRATCH);
    }
    t->no_raise = was;
}

/*
 * ---- stores at full speed
 *
 * Unicorn 2.0.1 stubs out QEMU's dirty-memory tracking (cpu_physical_memory_test_and_clear_dirty
 * returns false, tlb_unprotect_code does nothing), so QEMU marks every writable TLB entry
 * TLB_NOTDIRTY and never clears it: every store takes the slow path, and checks the page for
 * translated code (about 0.17 us a store). A page whose frame holds no translated code needs no
 * such check, so the fill clears the mark on it (tlb_set_dirty, as QEMU's own notdirty_write does
 * once a page is dirty). When the translator first fetches from a frame, Java tells the table
 * (pml4_tlb_code_frame), which marks every writable entry onto that frame again (tlb_reset_dirty,
 * as QEMU's tlb_protect_code would): a store into code is seen from then on, as before.
 */
static inline bool code_frame(const table_t *t, uint64_t physical)
{
    uint64_t frame = (physical - t->ram_base) / PAGE;
    return t->code_frames == NULL || physical < t->ram_base || physical - t->ram_base >= t->ram_size
            || (t->code_frames[frame / 8] >> (frame % 8)) & 1;
}

/* The translator fetched code from the frame at engine-physical `physical`: stores to it are checked again. */
void pml4_tlb_code_frame(table_t *t, uint64_t physical)
{
    if (t->code_frames == NULL || physical < t->ram_base || physical - t->ram_base >= t->ram_size)
        return;
    uint64_t frame = (physical - t->ram_base) / PAGE;
    if ((t->code_frames[frame / 8] >> (frame % 8)) & 1)
        return;
    t->code_frames[frame / 8] |= (uint8_t)(1 << (frame % 8));
    tlb_reset_dirty_x86_64(t->cpu, t->ram_host + frame * PAGE, PAGE);
}

/* All translated code was dropped (pml4_tlb_remove_frame_code of every code frame): no frame holds any. */
void pml4_tlb_code_forgotten(table_t *t)
{
    if (t->code_frames != NULL)
        memset(t->code_frames, 0, (t->ram_size / PAGE + 7) / 8);
}

/* ---- the fill */

typedef void (*set_page_fn)(void *cpu, uint64_t vaddr, uint64_t paddr, int attrs, int prot, int mmu_idx, uint64_t size);
static set_page_fn qemu_set_page;

static void pml4_tlb_set_page(void *cpu, uint64_t vaddr, uint64_t paddr, int attrs, int prot, int mmu_idx, uint64_t size)
{
    table_t *t = table_of(cpu);
    if (t == NULL) {
        qemu_set_page(cpu, vaddr, paddr, attrs, prot, mmu_idx, size);
        return;
    }
    uint64_t physical = 0, e = lookup(t, vaddr, &physical);
    if (e != 0) {
        t->fills++;
        qemu_set_page(cpu, vaddr & ~(PAGE - 1), physical, attrs, (int)(e & RIGHTS), mmu_idx, PAGE);
        if ((e & 2) && !code_frame(t, physical))
            tlb_set_dirty_x86_64(cpu, vaddr & ~(PAGE - 1));
        return;
    }
    if (t->no_raise) {
        t->poisoned++;
        qemu_set_page(cpu, vaddr & ~(PAGE - 1), t->poison, attrs, 3, mmu_idx, PAGE);
        return;
    }
    t->miss_addr = vaddr;
    t->miss_retaddr = *(uint64_t *)((char *)cpu + CPU_FILL_RETADDR);
    t->misses++;
    if (t->miss_retaddr != 0)
        t->running_misses++;
    t->miss_pending = 1;
    char *env = (char *)cpu + CPU_ENV;
    *(int32_t *)(env + ENV_OLD_EXCEPTION) = -1; /* so that QEMU takes it as the first exception (no #DF) */
    raise_exception_err_ra_x86_64(env, MISS_VECTOR, 0, (uintptr_t)t->miss_retaddr);
}

/* ---- installing: the GOT slot of libunicorn's call to tlb_set_page_with_attrs_x86_64 */

static int install_result = -1;

static int patch_slot(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    if (strstr(info->dlpi_name, "libunicorn.so.2") == NULL)
        return 0;
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    if (dyn == NULL)
        return *(int *)data = 3, 1;
    const ElfW(Sym) *symbols = NULL;
    const char *strings = NULL;
    const ElfW(Rela) *relocations = NULL;
    size_t bytes = 0;
    for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++) {
        if (d->d_tag == DT_SYMTAB) symbols = (const ElfW(Sym) *)d->d_un.d_ptr;
        if (d->d_tag == DT_STRTAB) strings = (const char *)d->d_un.d_ptr;
        if (d->d_tag == DT_JMPREL) relocations = (const ElfW(Rela) *)d->d_un.d_ptr;
        if (d->d_tag == DT_PLTRELSZ) bytes = d->d_un.d_val;
    }
    if (symbols == NULL || strings == NULL || relocations == NULL)
        return *(int *)data = 4, 1;
    for (size_t i = 0; i < bytes / sizeof(ElfW(Rela)); i++) {
        const ElfW(Rela) *r = &relocations[i];
        if (ELF64_R_TYPE(r->r_info) != R_X86_64_JUMP_SLOT
                || strcmp(strings + symbols[ELF64_R_SYM(r->r_info)].st_name, "tlb_set_page_with_attrs_x86_64") != 0)
            continue;
        void **slot = (void **)(info->dlpi_addr + r->r_offset);
        uintptr_t page = (uintptr_t)slot & ~(uintptr_t)(getpagesize() - 1);
        /* The GOT is read-only after relocation (RELRO, BIND_NOW): open it for the one store. */
        if (mprotect((void *)page, (size_t)getpagesize(), PROT_READ | PROT_WRITE) != 0)
            return *(int *)data = 5, 1;
        qemu_set_page = (set_page_fn)*slot;
        __atomic_store_n(slot, (void *)pml4_tlb_set_page, __ATOMIC_RELEASE);
        mprotect((void *)page, (size_t)getpagesize(), PROT_READ);
        return *(int *)data = 0, 1;
    }
    return *(int *)data = 6, 1;
}

/* Points the slot at pml4_tlb_set_page, once per process: 0, or why not (2 no libunicorn.so.2 loaded, 3-6). */
int pml4_tlb_install(void)
{
    pthread_mutex_lock(&tables_lock);
    if (install_result < 0) {
        int result = 2;
        dl_iterate_phdr(patch_slot, &result);
        install_result = result;
    }
    int r = install_result;
    pthread_mutex_unlock(&tables_lock);
    return r;
}

/*
 * A table for the engine uc (its CPU must exist: after its first mapping), or NULL when there are
 * MAX_TABLES engines at once. Tables are reused, never freed: another thread's last_table may
 * still point at one.
 */
table_t *pml4_tlb_attach(uc_engine *uc, uint64_t poison, uint64_t ram_base, uint64_t ram_size, uint64_t ram_host)
{
    void *cpu = *(void **)((char *)uc + UC_CPU);
    pthread_mutex_lock(&tables_lock);
    table_t *t = NULL;
    int free_slot = -1;
    for (int i = 0; i < MAX_TABLES && t == NULL; i++) {
        if (tables[i] != NULL && tables[i]->cpu == NULL)
            t = tables[i];
        else if (tables[i] == NULL && free_slot < 0)
            free_slot = i;
    }
    if (t == NULL && free_slot >= 0 && (t = calloc(1, sizeof(table_t))) != NULL)
        __atomic_store_n(&tables[free_slot], t, __ATOMIC_RELEASE);
    if (t != NULL) {
        memset((char *)t + sizeof(void *), 0, sizeof(table_t) - sizeof(void *));
        t->uc = uc;
        t->poison = poison;
        t->ram_base = ram_base;
        t->ram_size = ram_size;
        t->ram_host = ram_host;
        t->code_frames = calloc((ram_size / PAGE + 7) / 8, 1); /* NULL: every frame counts as code */
        __atomic_store_n(&t->cpu, cpu, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&tables_lock);
    return t;
}

/* Before the engine closes: the table is emptied and free for another engine. */
void pml4_tlb_detach(table_t *t)
{
    pthread_mutex_lock(&tables_lock);
    __atomic_store_n(&t->cpu, NULL, __ATOMIC_RELEASE);
    for (int i = 0; i < 512; i++)
        if (t->root[i] != 0 && !(t->root[i] & LEAF))
            free_node((uint64_t *)t->root[i], TOP - 1);
    memset(t->root, 0, sizeof t->root);
    t->scratch = 0;
    free(t->code_frames);
    t->code_frames = NULL;
    pthread_mutex_unlock(&tables_lock);
}
