package dev.pml4.debug;

/** What a hardware watchpoint fires on, as x86 debug registers and gdb's Z2/Z3/Z4 name them. */
public enum WatchKind {
    /** A write to the range (gdb {@code watch}, Z2). */
    WRITE,
    /** A read of the range (gdb {@code rwatch}, Z3). */
    READ,
    /** A read or a write (gdb {@code awatch}, Z4). */
    ACCESS
}
