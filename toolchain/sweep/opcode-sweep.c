/*
 * opcode-sweep: which instruction forms make Unicorn's x86-64 translator abort, crash or hang the
 * process (libunicorn 2.0.1 aborts with "tcg fatal error" on some invalid instructions before any
 * hook runs). Each form runs in a child forked from a parent that has opened and set up the engine
 * once, set up as pml4 runs it: UC_MODE_64, a code hook on every instruction, memory-miss, interrupt
 * and invalid-instruction hooks. The child runs the form's first instruction and reports how it
 * ended through its exit status; a signal (abort, crash) or the watchdog (hang) marks the form bad.
 *
 * Output, one line per bad form (tab-separated): bytes  outcome  map  prefixes  modrm-form
 * With -a every form is printed, good ones too.
 *
 * Build and run: toolchain/sweep/run-sweep.sh (writes toolchain/sweep/bad-forms.tsv).
 */
#include <unicorn/unicorn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CODE 0x1000
#define DATA 0x10000

enum { OK_RAN = 0, OK_UD = 10, OK_INTR = 11, OK_ERROR = 12, NO_PROGRESS = 13, SETUP = 20 };

static uint64_t start;
static int instructions;

static void on_code(uc_engine *uc, uint64_t address, uint32_t size, void *user) {
    (void)size; (void)user;
    if (address != start || ++instructions > 1) {
        uc_emu_stop(uc);
    }
}

static bool on_invalid(uc_engine *uc, void *user) {
    (void)user;
    uc_emu_stop(uc);
    _exit(OK_UD);
}

static void on_intr(uc_engine *uc, uint32_t intno, void *user) {
    (void)user; (void)intno;
    uc_emu_stop(uc);
    _exit(OK_INTR);
}

static bool on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t address, int size, int64_t value, void *user) {
    (void)uc; (void)type; (void)address; (void)size; (void)value; (void)user;
    return false;
}

static uc_engine *setup(void) {
    uc_engine *uc;
    if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc) != UC_ERR_OK) {
        exit(SETUP);
    }
    uc_mem_map(uc, CODE, 0x1000, UC_PROT_ALL);
    uc_mem_map(uc, DATA, 0x20000, UC_PROT_READ | UC_PROT_WRITE);
    uc_hook h;
    uc_hook_add(uc, &h, UC_HOOK_CODE, on_code, NULL, 1, 0);
    uc_hook_add(uc, &h, UC_HOOK_MEM_UNMAPPED | UC_HOOK_MEM_PROT, on_unmapped, NULL, 1, 0);
    uc_hook_add(uc, &h, UC_HOOK_INTR, on_intr, NULL, 1, 0);
    uc_hook_add(uc, &h, UC_HOOK_INSN_INVALID, on_invalid, NULL, 1, 0);
    int regs[] = {UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RSI,
                  UC_X86_REG_RDI, UC_X86_REG_RBP, UC_X86_REG_R8, UC_X86_REG_R9, UC_X86_REG_R10,
                  UC_X86_REG_R11, UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15};
    for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++) {
        uint64_t v = DATA + 0x8000;
        uc_reg_write(uc, regs[i], &v);
    }
    uint64_t sp = DATA + 0x10000;
    uc_reg_write(uc, UC_X86_REG_RSP, &sp);
    return uc;
}

/* Runs one form in this (child) process; never returns. */
static void run_form(uc_engine *uc, const uint8_t *bytes, int n) {
    uint8_t page[0x1000];
    memset(page, 0xf4, sizeof page); /* HLT after the form */
    memcpy(page, bytes, n);
    uc_mem_write(uc, CODE, page, sizeof page);
    start = CODE;
    alarm(2);
    uc_err err = uc_emu_start(uc, CODE, 0xfffffffffffff000ULL, 0, 0);
    if (err != UC_ERR_OK) {
        _exit(OK_ERROR);
    }
    uint64_t rip;
    uc_reg_read(uc, UC_X86_REG_RIP, &rip);
    _exit(instructions == 0 && rip == CODE ? NO_PROGRESS : OK_RAN);
}

static const char *outcome(int status) {
    if (WIFSIGNALED(status)) {
        switch (WTERMSIG(status)) {
        case SIGABRT: return "abort";
        case SIGALRM: return "hang";
        case SIGSEGV: return "crash-segv";
        case SIGBUS: return "crash-bus";
        case SIGILL: return "crash-ill";
        case SIGFPE: return "crash-fpe";
        default: return "crash-signal";
        }
    }
    switch (WEXITSTATUS(status)) {
    case OK_RAN: return "ran";
    case OK_UD: return "ud";
    case OK_INTR: return "exception";
    case OK_ERROR: return "engine-error";
    case NO_PROGRESS: return "no-progress";
    default: return "setup-failed";
    }
}

static int bad(const char *o) {
    return strncmp(o, "abort", 5) == 0 || strncmp(o, "hang", 4) == 0 || strncmp(o, "crash", 5) == 0
        || strcmp(o, "no-progress") == 0 || strcmp(o, "setup-failed") == 0;
}

static int is_prefix(int b) {
    return b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65 || b == 0x66
        || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 || (b >= 0x40 && b <= 0x4f);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "-a") != 0) {
        /* One form given as hex bytes: its outcome. */
        uint8_t bytes[16];
        int n = 0;
        for (int i = 1; i < argc && n < 16; i++) bytes[n++] = (uint8_t)strtoul(argv[i], NULL, 16);
        uc_engine *uc = setup();
        pid_t pid = fork();
        if (pid == 0) run_form(uc, bytes, n);
        int status;
        waitpid(pid, &status, 0);
        printf("%s\n", outcome(status));
        return 0;
    }
    int all = argc > 1 && strcmp(argv[1], "-a") == 0;
    static const struct { const char *name; uint8_t bytes[3]; int n; } prefixes[] = {
        {"-", {0}, 0}, {"f0", {0xf0}, 1}, {"f2", {0xf2}, 1}, {"f3", {0xf3}, 1}, {"66", {0x66}, 1},
        {"48", {0x48}, 1}, {"f3f0", {0xf3, 0xf0}, 2}, {"66f0", {0x66, 0xf0}, 2}, {"f048", {0xf0, 0x48}, 2},
    };
    static const struct { const char *name; uint8_t bytes[2]; int n; } maps[] = {
        {"1", {0}, 0}, {"0f", {0x0f}, 1}, {"0f38", {0x0f, 0x38}, 2}, {"0f3a", {0x0f, 0x3a}, 2},
    };
    uc_engine *uc = setup();
    long forms = 0, bads = 0;
    for (size_t m = 0; m < sizeof maps / sizeof maps[0]; m++) {
        for (int op = 0; op < 256; op++) {
            if (m == 0 && (is_prefix(op) || op == 0x0f)) {
                continue; /* prefixes are swept as prefixes, 0F as its maps */
            }
            for (size_t p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++) {
                for (int form = 0; form < 16; form++) {
                    int reg = form & 7, mod = form < 8 ? 3 : 0;
                    uint8_t bytes[16];
                    int n = 0;
                    memcpy(bytes + n, prefixes[p].bytes, prefixes[p].n); n += prefixes[p].n;
                    memcpy(bytes + n, maps[m].bytes, maps[m].n); n += maps[m].n;
                    bytes[n++] = (uint8_t)op;
                    bytes[n++] = (uint8_t)(mod << 6 | reg << 3); /* rm = 0: rax, or [rax] */
                    for (int k = 0; k < 4; k++) bytes[n++] = 0x01; /* any immediate */
                    fflush(stdout);
                    pid_t pid = fork();
                    if (pid == 0) {
                        freopen("/dev/null", "w", stderr); /* QEMU's abort message */
                        run_form(uc, bytes, n);
                    }
                    int status;
                    waitpid(pid, &status, 0);
                    forms++;
                    const char *o = outcome(status);
                    if (bad(o)) bads++;
                    if (all || bad(o)) {
                        for (int k = 0; k < n; k++) printf("%s%02x", k ? " " : "", bytes[k]);
                        printf("\t%s\t%s\t%s\t%s /%d\n", o, maps[m].name, prefixes[p].name, mod == 3 ? "reg" : "mem", reg);
                    }
                }
            }
        }
    }
    fprintf(stderr, "opcode-sweep: %ld forms, %ld bad\n", forms, bads);
    return 0;
}
