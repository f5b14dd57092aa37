/*
 * pml4's fast-mode helper (issue 12): the three callbacks that run for every executed block or
 * must run before Java sees a memory fault, built by `make` into target/libpml4fast.so and bound
 * by dev.pml4.cpu.FastExecution. Everything else of fast mode is Java.
 *
 *  - pml4_block: the only UC_HOOK_BLOCK. Adds the block's instruction count to the clock, and
 *    stops the engine before a block that would run past the next moment Java must look
 *    (an interrupt check, the instruction limit); Java then runs that block instruction by
 *    instruction. A block not yet known asks Java to scan it.
 *  - pml4_edge: the UC_HOOK_EDGE_GENERATED hook. Fires once per (re)translation before the block
 *    runs, including after self-modifying code, so Java scans exactly the code QEMU will run.
 *    A block with sensitive instructions is translated again at once with the one code hook's
 *    range (the "window") opened over them.
 *  - pml4_mem: wraps Java's memory-event hook. Unicorn 2.0.1 calls it with RIP and the lazy
 *    flags (cc_op) as of the start of the block; QEMU's cpu_restore_state, given the return
 *    address into translated code that the load/store helper keeps on the stack, makes both
 *    exact before Java reads them (Unicorn 2.1.4 does the same call itself).
 *
 * Struct offsets below are those of Debian's libunicorn 2.0.1 (read from its disassembly).
 * pml4_check_layout verifies them against the running library before fast mode starts, reading
 * through process_vm_readv so that a wrong guess fails instead of crashing; on any other layout
 * pml4 runs in precise mode.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

typedef struct uc_struct uc_engine;
typedef struct { uint64_t pc; uint16_t icount; uint16_t size; } uc_tb;
extern int uc_emu_stop(uc_engine *uc);
extern int uc_reg_write(uc_engine *uc, int regid, const void *value);
extern int uc_reg_read(uc_engine *uc, int regid, void *value);
extern int uc_ctl(uc_engine *uc, int control, ...);
extern void restore_state_to_opc_x86_64(void *env, void *tb, uint64_t *data);
extern void *tcg_tb_lookup_x86_64(void *tcg_ctx, uintptr_t tc_ptr);
extern bool pml4_tlb_allows(void *table, uint64_t addr, uint64_t size, uint64_t rights);
extern void pml4_tlb_remove_code(void *table, uint64_t start, uint64_t end);

#define UC_X86_REG_RIP 41
#define UC_CTL_WRITE_TB_REMOVE_CACHE (9 | (2 << 26) | (1 << 30))
/* Debian libunicorn 2.0.1 (from the disassembly of uc_emu_stop and cpu_restore_state_x86_64). */
#define UC_CPU 0x180          /* uc_struct.cpu */
#define CPU_ENV 0x128         /* CPUState.env_ptr */
#define UC_TCG_CTX 0x2c0      /* uc_struct.tcg_ctx */
#define TCG_BUF 0xa0          /* TCGContext.code_gen_buffer */
#define TCG_BUF_MAX 0xb8      /* TCGContext.code_gen_buffer_max_size */
#define HOOK_BEGIN 24         /* struct hook.begin, .end follows */
#define STACK_WORDS 256
#define STOP_LIMIT 1          /* state.stopped: the block would run past the limit */
#define STOP_REARM 2          /* state.stopped: the block must be translated again with the window */
#define STOP_FLUSH 3          /* state.stopped: as STOP_REARM, and the cache did not let the block go */
#define STOP_FETCH_CHECK 4    /* state.stopped: the block's code lies on a parked page: Java walks it first */

typedef int (*scan_fn)(uint64_t pc, uint32_t size, uint32_t icount);
typedef int (*check_fn)(uint64_t pc, uint32_t size);
typedef int (*abandoned_fn)(uint64_t cur_pc, uint32_t cur_size, uint64_t pc, uint32_t size);
typedef bool (*mem_fn)(uc_engine *uc, int type, uint64_t addr, int size, int64_t value, void *user);

#define TABLE_BITS 12
typedef struct { uint64_t pc; uint32_t size, icount; } block_t;

/* Shared with Java (FastExecution.State): keep the two layouts equal. */
typedef struct {
    uint64_t total;      /*  0 instructions retired when the current block ends */
    uint64_t base;       /*  8 instructions retired when the current block began */
    uint64_t limit;      /* 16 no block may end past this count without Java looking */
    uint64_t cur_pc;     /* 24 the current block */
    uint32_t cur_size;   /* 32 */
    uint32_t cur_icount; /* 36 */
    uint64_t stop_pc;    /* 40 the block not entered because of the limit */
    uint32_t stop_size;  /* 48 */
    uint32_t stopped;    /* 52 why the block hook stopped the engine (STOP_*), or 0 */
    uint64_t window;     /* 56 struct hook * of the one code hook */
    uint64_t armed_pc;   /* 64 block being translated again with the window open */
    uint64_t lo, hi;     /* 72, 80 the window Java asks for (scan's answer) */
    scan_fn scan;        /* 88 Java: 1 when the block needs the window */
    mem_fn java_mem;     /* 96 Java's memory-event hook */
    uint64_t restores;   /* 104 faults made exact */
    uint64_t inexact;    /* 112 faults that could not be made exact */
    uint32_t restore;    /* 120 restore the state before Java's memory hook (fast mode on) */
    uint32_t exact;      /* 124 the last memory event had its state restored */
    uint64_t blocks;     /* 128 executed blocks (statistics) */
    uint64_t scans;      /* 136 translations scanned */
    uint32_t armed_done; /* 144 the armed block was translated again (an edge event saw it) */
    uint32_t armed_outside; /* 148 Java armed it between runs (the first block of a run has no edge event) */
    const char *tb;      /* 152 the current block's TranslationBlock, once a memory event found it */
    uint32_t keep_window; /* 160 the window stays as Java set it (fast mode gave up: every instruction hooked) */
    uint32_t pad;        /* 164 */
    uint64_t stretched_pc;   /* 168 a block translated with the window open for one run (a stretch) */
    uint64_t stretched_size; /* 176 */
    abandoned_fn abandoned; /* 184 Java: instructions of the current block that ran before pc, or -1 (SelfModifyingCode) */
    uint64_t fresh_pc;   /* 192 the first block of this run was translated now (Java saw its fetch): scan it */
    uint64_t parked_mask; /* 200 bit (page >> 12) & 63 of every parked page whose translated code was kept */
    uint64_t checked_pc; /* 208 the block Java has just walked for: let it in once */
    check_fn check;      /* 216 Java: walks a block's parked code page; 0 when the block may run now */
    void *tlb;           /* 224 the engine page table (pml4tlb.c), or NULL when regions hold the TLB */
    block_t table[1 << TABLE_BITS];
} state_t;

size_t pml4_state_size(void) { return sizeof(state_t); }

static inline block_t *slot(state_t *s, uint64_t pc)
{
    return &s->table[(pc ^ (pc >> TABLE_BITS) ^ (pc >> 28)) & ((1 << TABLE_BITS) - 1)];
}

/* Drops the translated code of [start, end): through the engine page table when there is one (see pml4tlb.c). */
static void remove_code(uc_engine *uc, state_t *s, uint64_t start, uint64_t end)
{
    if (s->tlb != NULL)
        pml4_tlb_remove_code(s->tlb, start, end);
    else
        uc_ctl(uc, UC_CTL_WRITE_TB_REMOVE_CACHE, start, end);
}

static inline void window(state_t *s, uint64_t lo, uint64_t hi)
{
    uint64_t *w = (uint64_t *)(s->window + HOOK_BEGIN);
    w[0] = lo;
    w[1] = hi;
}

/* Closed: [1, 1] (begin > end would mean every address). */
static inline void close_window(state_t *s)
{
    if (!s->keep_window)
        window(s, 1, 1);
}

/* Translate the block at pc again, now, with the window over [lo, hi]: nothing of it has run. */
static void arm(uc_engine *uc, state_t *s, uint64_t pc, uint32_t size)
{
    s->armed_done = 0;
    s->armed_outside = 0;
    window(s, s->lo, s->hi);
    s->armed_pc = pc;
    remove_code(uc, s, pc, pc + size);
    uc_reg_write(uc, UC_X86_REG_RIP, &pc); /* leaves the block before it is entered */
}

/* Records the block, with Java's scan of it; true when Java asks for the window over it. */
static bool fill(state_t *s, block_t *e, uint64_t pc, uint32_t size, uint32_t icount)
{
    s->scans++;
    int n = s->scan(pc, size, icount);
    e->pc = pc;
    e->size = size;
    e->icount = icount != 0 ? icount : (uint32_t)n;
    return s->lo <= s->hi;
}

/* Java's scan; true when the block was armed (it is left before it is entered). */
static bool scan(uc_engine *uc, state_t *s, block_t *e, uint64_t pc, uint32_t size, uint32_t icount)
{
    if (fill(s, e, pc, size, icount)) {
        arm(uc, s, pc, size);
        return true;
    }
    return false;
}

void pml4_edge(uc_engine *uc, uc_tb *cur, uc_tb *prev, void *user)
{
    state_t *s = user;
    block_t *e = slot(s, cur->pc);
    if (s->fresh_pc == cur->pc)
        s->fresh_pc = 0; /* scanned here: not the first block of a run after all */
    if (s->armed_pc == cur->pc) { /* this translation had the window open */
        s->armed_pc = 0;
        s->armed_done = 1;
        close_window(s);
        e->pc = cur->pc;
        e->size = cur->size;
        e->icount = cur->icount;
        return;
    }
    close_window(s);
    scan(uc, s, e, cur->pc, cur->size, cur->icount);
}

void pml4_block(uc_engine *uc, uint64_t pc, uint32_t size, void *user)
{
    state_t *s = user;
    block_t *e = slot(s, pc);
    uint64_t into = pc - s->cur_pc;
    if (__builtin_expect(into < s->cur_size && (into != 0 || size < s->cur_size), 0)) {
        /*
         * A block that starts inside the one before, other than that block again: a jump back
         * into it, or QEMU abandoning it at a store that changed its code, to run the store again
         * alone (SelfModifyingCode). Then only the instructions before the store ran, not the
         * whole block counted when it began.
         */
        int ran = s->abandoned(s->cur_pc, s->cur_size, pc, size);
        if (ran >= 0)
            s->total = s->base + (uint64_t)ran;
        s->cur_pc = 0;
        s->cur_size = 0;
    }
    int walked = 0;
    if (__builtin_expect(s->checked_pc != 0, 0)) {
        /*
         * Java has just walked the block at checked_pc: it is let in once, as the next block. Spent
         * by whichever block comes next: left over, it let the same block in unwalked much later,
         * after its page was parked again with the code of another frame (cr3_code in fast mode).
         */
        walked = s->checked_pc == pc;
        s->checked_pc = 0;
    }
    if (__builtin_expect(s->parked_mask != 0, 0)) {
        /*
         * Code kept from a page the TLB has dropped (a parked region, EnginePageMapper): running it
         * is an ITLB miss, which precise mode's hook finds at the instruction. Stop before the
         * block so that Java walks it (A bit, #PF at RIP, the page mapped again), then let it in.
         */
        uint64_t last = pc + size - 1;
        if ((((s->parked_mask >> ((pc >> 12) & 63)) | (s->parked_mask >> ((last >> 12) & 63))) & 1) && !walked
                && s->check(pc, size) != 0) {
            s->stop_pc = pc;
            s->stop_size = size;
            s->stopped = STOP_FETCH_CHECK;
            uc_emu_stop(uc);
            return;
        }
    }
    if (__builtin_expect(s->fresh_pc != 0 && s->fresh_pc != pc, 0))
        s->fresh_pc = 0; /* its block went by (the armed path) */
    if (__builtin_expect(s->stretched_pc != 0 && s->stretched_pc != pc, 0)) {
        /*
         * The stretch is over: its block was translated with the code hook on its instructions
         * from the look onwards, and would keep calling Java every time it runs. Drop that
         * translation; the next one is scanned like any other. Not while the block starts again
         * (a loop, a REP string instruction): QEMU must never run a block removed from under it,
         * since a store into that block would then go unseen (smc_timer: an ADD ran with its old
         * immediate), so such a block keeps the hook until another block starts.
         */
        remove_code(uc, s, s->stretched_pc, s->stretched_pc + s->stretched_size);
        s->stretched_pc = 0;
    }
    if (__builtin_expect(s->armed_pc == pc, 0)) {
        s->fresh_pc = 0;
        /*
         * Translated without an edge event (the first block of a run), or not translated again
         * at all: removing a block from the cache sometimes leaves it there (seen on the block
         * after a MOV to CR3 unmapped its page). Then Java flushes the whole cache and runs it again.
         */
        s->armed_pc = 0;
        if (!s->armed_done && !s->armed_outside) {
            s->armed_pc = pc;
            s->stop_pc = pc;
            s->stop_size = size;
            s->stopped = STOP_FLUSH;
            uc_emu_stop(uc);
            return;
        }
        close_window(s);
        if (e->pc != pc || e->size != size)
            fill(s, e, pc, size, 0);
    } else if (__builtin_expect(e->pc != pc || e->size != size || s->fresh_pc == pc, 0)) {
        /*
         * No edge event for this block (the first after a hook redirected RIP or the engine
         * started, or a table collision). It is already entered: writing RIP here would not stop
         * it, so stop the engine (the block is left before its first instruction) and let Java
         * start it again, translated with the window open.
         */
        s->fresh_pc = 0;
        if (fill(s, e, pc, size, 0)) {
            window(s, s->lo, s->hi);
            s->armed_pc = pc;
            s->armed_done = 0;
            s->armed_outside = 1; /* translated as the first block of the next run: no edge event */
            remove_code(uc, s, pc, pc + size);
            s->stop_pc = pc;
            s->stop_size = size;
            s->stopped = STOP_REARM;
            uc_emu_stop(uc);
            return;
        }
    }
    if (__builtin_expect(s->total + e->icount > s->limit, 0)) {
        s->stop_pc = pc;
        s->stop_size = size;
        s->stopped = STOP_LIMIT;
        uc_emu_stop(uc); /* the block is left before its first instruction */
        return;
    }
    s->blocks++;
    s->tb = NULL;
    s->cur_pc = pc;
    s->cur_size = size;
    s->cur_icount = e->icount;
    s->base = s->total;
    s->total += e->icount;
}

static int64_t sleb128(const uint8_t **pp)
{
    const uint8_t *p = *pp;
    uint64_t val = 0;
    int byte, shift = 0;
    do {
        byte = *p++;
        val |= (uint64_t)(byte & 0x7f) << shift;
        shift += 7;
    } while (byte & 0x80);
    if (shift < 64 && (byte & 0x40))
        val |= -(uint64_t)1 << shift;
    *pp = p;
    return (int64_t)val;
}

/*
 * The (pc, cc_op) QEMU recorded for the guest instruction whose translated code contains host
 * address c: its own search (cpu_restore_state_from_tb) over the records kept after the block's
 * code. False when c is past the last instruction (the slow path's own return address).
 * TranslationBlock in 2.0.1: pc at 0x00, icount at 0x16, tc.ptr at 0x20, tc.size at 0x28.
 */
static bool instruction_at(const char *tb, uint64_t c, uint64_t data[2])
{
    uint64_t host = *(const uint64_t *)(tb + 0x20);
    uint64_t size = *(const uint64_t *)(tb + 0x28);
    const uint8_t *p = (const uint8_t *)(host + size);
    unsigned icount = *(const uint16_t *)(tb + 0x16);
    uint64_t searched = c - 2; /* GETPC_ADJ */
    if (searched < host || searched >= host + size)
        return false;
    data[0] = *(const uint64_t *)tb;
    data[1] = 0;
    for (unsigned i = 0; i < icount; i++) {
        data[0] += (uint64_t)sleb128(&p);
        data[1] += (uint64_t)sleb128(&p);
        host += (uint64_t)sleb128(&p);
        if (host > searched)
            return true;
    }
    return false;
}

/*
 * The TranslationBlock whose code holds c, found without QEMU's tree: a block removed from the
 * tree (its cache entry dropped, or the tree flushed by a hook that mapped a page) can still be
 * running. QEMU places each TranslationBlock just before its code, aligned to 64 bytes, so look
 * back from c for one that starts at the current block's pc and whose code covers c.
 */
static const char *tb_before(uint64_t c, uint64_t buf, uint64_t pc)
{
    for (uint64_t t = c & ~(uint64_t)63; t >= buf && c - t < 0x10000; t -= 64) {
        const char *tb = (const char *)t;
        uint64_t ptr = *(const uint64_t *)(tb + 0x20), size = *(const uint64_t *)(tb + 0x28);
        if (*(const uint64_t *)tb == pc && ptr > t && ptr <= c && c - ptr < size && size < 0x10000)
            return tb;
    }
    return NULL;
}

/*
 * Finds the return address into translated code that the load/store helper keeps in its frame,
 * and restores RIP and cc_op from QEMU's records for it, as cpu_restore_state would. A candidate
 * counts only if it lies in the current block's translated code, on one of its instructions: a
 * stale pointer to other code, or the slow path's own return address, is never used. The block
 * is looked up in QEMU's tree, or taken from an earlier event in the same block: mapping a page
 * from a hook can flush the tree while the block still runs.
 */
static bool restore(uc_engine *uc, state_t *s, const uint64_t *stack)
{
    void *cpu = *(void **)((char *)uc + UC_CPU);
    char *tcg = *(char **)((char *)uc + UC_TCG_CTX);
    uint64_t buf = *(uint64_t *)(tcg + TCG_BUF), max = *(uint64_t *)(tcg + TCG_BUF_MAX);
    for (int i = 0; i < STACK_WORDS; i++) {
        uint64_t c = stack[i];
        if (c - buf >= max)
            continue;
        const char *tb = s->tb;
        uint64_t data[2];
        if (tb == NULL || !instruction_at(tb, c, data)) {
            tb = tcg_tb_lookup_x86_64(tcg, c);
            if (tb == NULL)
                tb = tb_before(c, buf, s->cur_pc);
            if (tb == NULL || *(const uint64_t *)tb != s->cur_pc || !instruction_at(tb, c, data))
                continue;
        }
        s->tb = tb;
        restore_state_to_opc_x86_64(*(void **)((char *)cpu + CPU_ENV), (void *)tb, data);
        return true;
    }
    return false;
}

/* Called by pml4_mem (assembly below) with the six callee-saved registers and then the caller's stack. */
bool pml4_mem_inner(uc_engine *uc, int type, uint64_t addr, int size, int64_t value, state_t *s, const uint64_t *saved)
{
    /*
     * With the engine page table, every access QEMU's TLB does not hold comes here (the regions over
     * the linear space have no rights): one the table allows is QEMU refilling its TLB, answered
     * here; Java sees only what the TLB model must decide, as with regions.
     */
    if (s->tlb != NULL && (type == 22 || type == 23) /* UC_MEM_WRITE_PROT, UC_MEM_READ_PROT */
            && pml4_tlb_allows(s->tlb, addr, (uint64_t)size, type == 22 ? 2 : 1))
        return true;
    /* A fetch is reported while translating: no translated code is running. */
    bool fetch = type == 21 || type == 24; /* UC_MEM_FETCH_UNMAPPED, UC_MEM_FETCH_PROT */
    s->exact = 0;
    if (s->restore && !fetch) {
        if (restore(uc, s, saved + 7)) {
            s->restores++;
            s->exact = 1;
        } else {
            s->inexact++;
        }
    }
    return s->java_mem(uc, type, addr, size, value, s);
}

/* The memory-event callback: saves the callee-saved registers, then calls pml4_mem_inner. */
bool pml4_mem(uc_engine *uc, int type, uint64_t addr, int size, int64_t value, void *user);
__asm__(".text\n.globl pml4_mem\n.type pml4_mem,@function\npml4_mem:\n"
        " push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
        " mov %rsp, %rax\n"
        " push %rax\n"               /* 7th argument: the saved registers, then the stack; aligned */
        " call pml4_mem_inner\n"
        " add $8, %rsp\n"
        " pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n ret\n"
        ".size pml4_mem, .-pml4_mem\n");

/* Reads 8 bytes at p without faulting: false when p is not readable memory. */
static bool safe_read(uint64_t p, uint64_t *out)
{
    struct iovec local = {out, 8}, remote = {(void *)p, 8};
    return p != 0 && process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 8;
}

/*
 * Checks the offsets this helper relies on against the running library: 0 when they hold, else
 * a bit per failed check. `hook` is the code hook created with begin = end = 1 (the window).
 * 1: uc->cpu; 2: cpu->env_ptr (RAX written through the API must appear in env->regs[0]);
 * 4: the TCG context's code buffer; 8: struct hook's begin and end.
 */
int pml4_check_layout(uc_engine *uc, uint64_t hook)
{
    int failed = 0;
    uint64_t cpu = 0, env = 0, tcg = 0, buf = 0, max = 0, begin = 0, end = 0, seen = 0;
    if (!safe_read((uint64_t)uc + UC_CPU, &cpu) || !safe_read(cpu, &seen))
        failed |= 1;
    if (failed || !safe_read(cpu + CPU_ENV, &env) || !safe_read(env, &seen)) {
        failed |= 2;
    } else {
        uint64_t rax, magic = 0x706d6c34666173ULL, back = 0;
        uc_reg_read(uc, 35 /* UC_X86_REG_RAX */, &rax);
        uc_reg_write(uc, 35, &magic);
        if (!safe_read(env, &back) || back != magic)
            failed |= 2;
        uc_reg_write(uc, 35, &rax);
    }
    if (!safe_read((uint64_t)uc + UC_TCG_CTX, &tcg) || !safe_read(tcg + TCG_BUF, &buf) || !safe_read(tcg + TCG_BUF_MAX, &max)
            || !safe_read(buf, &seen) || max < (1 << 20) || max > (1ULL << 34))
        failed |= 4;
    if (!safe_read(hook + HOOK_BEGIN, &begin) || !safe_read(hook + HOOK_BEGIN + 8, &end) || begin != 1 || end != 1)
        failed |= 8;
    return failed;
}
