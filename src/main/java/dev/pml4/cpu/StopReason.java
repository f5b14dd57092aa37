package dev.pml4.cpu;

/** Why a run ended, and the exit status BOOT.md gives it ("How a run ends"). */
public sealed interface StopReason {
    int exitStatus();

    /** One line for people. */
    String describe();

    /**
     * The run went wrong rather than ended (a triple fault, the instruction limit, a bug of pml4,
     * a stale TLB entry under --check-tlb=stop, something not modelled): {@code run} prints why,
     * and the trace ring is written.
     */
    default boolean abnormal() {
        int status = exitStatus();
        return status == 4 || status == 6 || status == 8 || status == 10 || status == 12;
    }

    /** HLT with interrupts off and nothing pending: the kernel powered off. */
    record Halted(long rip) implements StopReason {
        public int exitStatus() {
            return 0;
        }

        public String describe() {
            return String.format("the guest halted with interrupts off at RIP 0x%x", rip);
        }
    }

    /** HLT with interrupts on, but no device can ever raise one: the machine would sleep forever. */
    record Idle(long rip) implements StopReason {
        public int exitStatus() {
            return 0;
        }

        public String describe() {
            return String.format("the guest halted at RIP 0x%x with interrupts on, but no interrupt source is armed, so it would sleep forever", rip);
        }
    }

    /** The guest wrote {@code value} to the debug-exit port. */
    record DebugExit(int value) implements StopReason {
        public int exitStatus() {
            return ((value << 1) | 1) & 0xff;
        }

        public String describe() {
            String truncated = ((value << 1) | 1) > 0xff ? " (a process exit status keeps only its low 8 bits)" : "";
            return String.format("the guest wrote 0x%x to the debug-exit port: exit status %d%s", value, exitStatus(), truncated);
        }
    }

    /** A fault while delivering #DF, or an exception nothing can deliver (SDM Vol. 3A 6.15, interrupt 8). */
    record TripleFault(String chain, long rip, long cr2, long cr3, String why) implements StopReason {
        public int exitStatus() {
            return 4;
        }

        public String describe() {
            return String.format("triple fault: %s; RIP=0x%x CR2=0x%x CR3=0x%x. %s", chain, rip, cr2, cr3, why);
        }
    }

    record InstructionLimit(long limit, long rip) implements StopReason {
        public int exitStatus() {
            return 6;
        }

        public String describe() {
            return String.format("the instruction limit (%d) was reached at RIP 0x%x; raise it with --max-insns N (0: no limit)", limit, rip);
        }
    }

    /**
     * {@code --check-tlb=stop}: the guest was about to access memory through a TLB entry whose
     * paging-structure entries it had changed without invalidating it (the checker's report says
     * which). RIP is the instruction that makes the access; it has not run.
     */
    record StaleTranslation(long rip, long linear, String access) implements StopReason {
        public int exitStatus() {
            return 10;
        }

        public String describe() {
            return String.format("stopped before a stale TLB entry was used: %s of 0x%x at RIP 0x%x (--check-tlb=stop)", access, linear, rip);
        }
    }

    /**
     * The guest used something pml4 does not model yet (16-bit code, call gates, task gates,
     * virtual-8086 mode...): the run stops rather than going on wrongly.
     */
    record NotModelled(String what, long rip) implements StopReason {
        public int exitStatus() {
            return 12;
        }

        public String describe() {
            return String.format("not modelled: %s (at RIP 0x%x); the run stops here rather than go on wrongly", what, rip);
        }
    }

    /** A bug in pml4. */
    record InternalError(String what, Throwable cause) implements StopReason {
        public int exitStatus() {
            return 8;
        }

        public String describe() {
            return "internal error: " + what + (cause != null ? " (" + cause + ")" : "")
                    + ". This is a bug in pml4: please report it with the guest image and the command line.";
        }
    }

    /** The debugger stopped the machine (breakpoint, step, watchpoint, caught exception, Ctrl-C); it may resume. */
    record DebugBreak(Object event) implements StopReason {
        public int exitStatus() {
            return 0;
        }

        public String describe() {
            return "stopped by the debugger: " + event;
        }
    }
}
