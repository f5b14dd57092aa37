package dev.pml4.ffi.unicorn;

/** The callback shapes Unicorn calls back into Java, one per {@code uc_cb_*} typedef used. */
public final class Hooks {
    private Hooks() {
    }

    /** {@code uc_cb_hookcode_t}: before each instruction (UC_HOOK_CODE) or block (UC_HOOK_BLOCK). */
    @FunctionalInterface
    public interface Code {
        void onCode(long address, int size);
    }

    /** {@code uc_cb_eventmem_t}: an unmapped or protection-violating access; true means retry it. */
    @FunctionalInterface
    public interface MemoryEvent {
        boolean onEvent(MemoryAccess type, long address, int size, long value);
    }

    /** {@code uc_cb_hookmem_t}: a valid access (UC_HOOK_MEM_READ/WRITE/FETCH). */
    @FunctionalInterface
    public interface MemoryTrace {
        void onAccess(MemoryAccess type, long address, int size, long value);
    }

    /** {@code uc_cb_hookintr_t}: QEMU raised an interrupt or exception. */
    @FunctionalInterface
    public interface Interrupt {
        void onInterrupt(int vector);
    }

    /** {@code uc_cb_insn_in_t}: IN from a port; size in bytes (1, 2, 4). */
    @FunctionalInterface
    public interface PortIn {
        int onIn(int port, int size);
    }

    /** {@code uc_cb_insn_out_t}: OUT to a port; size in bytes (1, 2, 4). */
    @FunctionalInterface
    public interface PortOut {
        void onOut(int port, int size, int value);
    }

    /** {@code uc_cb_hookinsn_invalid_t}: an invalid opcode; true means it was handled. */
    @FunctionalInterface
    public interface InvalidInstruction {
        boolean onInvalid();
    }

    /** {@code uc_cb_mmio_read_t}. */
    @FunctionalInterface
    public interface MmioRead {
        long read(long userData, long offset, int size);
    }

    /** {@code uc_cb_mmio_write_t}. */
    @FunctionalInterface
    public interface MmioWrite {
        void write(long userData, long offset, int size, long value);
    }
}
