package dev.pml4.cpu;

/**
 * What the processor tells an observer (the tracer, the debugger) as it runs. An observer only
 * watches: nothing it does may change what the guest sees.
 */
public interface ExecutionObserver {
    /** The instruction numbered {@code count} (1-based) at {@code rip} is about to run. */
    default void instruction(long count, long rip, int size) {
    }

    /**
     * An event was delivered through the IDT.
     *
     * @param chain the events in order, the first the one raised, later ones found delivering it
     * @param frame what was pushed, lowest address first (error code, if any, then RIP, CS, RFLAGS, RSP, SS)
     */
    default void delivered(String chain, int vector, int errorCode, long cr2, long handler, int newCpl,
                           long frameAddress, long[] frame) {
    }

    /** MOV to CRn, or WRMSR of EFER ({@code register} "efer"). */
    default void controlRegister(String register, long oldValue, long newValue) {
    }

    /**
     * The processor's mode changed ({@code "64-bit mode"}, {@code "compatibility mode"},
     * {@code "protected mode"}): a far transfer, an event delivery or IRET to a code segment of
     * another size, or CR0.PG activating IA-32e mode. {@code cs} is the code segment now.
     */
    default void modeSwitched(String from, String to, int cs) {
    }

    /** IN or OUT. */
    default void port(boolean out, int port, int size, long value) {
    }

    ExecutionObserver NONE = new ExecutionObserver() {
    };
}
