/**
 * gdb's remote serial protocol over TCP, for a {@link dev.pml4.debug.DebugTarget}:
 * {@link dev.pml4.debug.gdb.GdbServer}. One client, one thread ("1"), all-stop mode.
 *
 * <h2>What gdb can do</h2>
 * Registers ({@code g G p P}, described by {@code target.xml}: the x86-64 core set, fs_base and
 * gs_base, and cr0 cr2 cr3 cr4 cr8 efer in a feature of their own, {@code org.pml4.system}; x87
 * registers are shown unavailable), virtual memory ({@code m M X}), continue and step ({@code c s C S},
 * {@code vCont}), software and hardware breakpoints ({@code Z0 Z1}, both done by the target
 * without patching memory), write/read/access watchpoints ({@code Z2 Z3 Z4}), Ctrl-C, and
 * {@code monitor} commands: {@code catch}/{@code uncatch} here, everything else passed to the
 * target.
 *
 * <h2>Threads</h2>
 * {@link dev.pml4.debug.gdb.GdbServer#serve()} runs on the machine's owner thread and makes every
 * {@link dev.pml4.debug.DebugTarget} call there, resume and step included, so the guest runs on
 * that thread. A reader thread per session owns the socket's input: it frames packets, acks them,
 * retransmits on '-', and on a 0x03 byte while the guest runs calls
 * {@link dev.pml4.debug.DebugTarget#interrupt()}, which only sets a flag the run loop checks.
 * Packets that arrive while the guest runs wait (64 at most; more are dropped).
 *
 * <h2>Stop replies</h2>
 * A breakpoint is {@code T05swbreak:;} ({@code hwbreak:;} for one set with {@code hbreak}), a
 * watchpoint {@code T05watch:ADDR;} ({@code rwatch}, {@code awatch}), a step {@code T05}, Ctrl-C
 * {@code T02}, the end of the run {@code Wxx} with the exit status (after console output that
 * says why). {@code T} replies carry rbp, rsp and rip and {@code thread:1;}. A caught exception is a
 * {@code T} packet with the signal of {@link dev.pml4.debug.gdb.ExceptionVectors} (SIGFPE for #DE,
 * SIGILL for #UD, SIGSEGV for #GP and #PF, SIGTRAP otherwise), preceded by console output that
 * names the vector and error code. Continuing delivers the exception through the guest's IDT
 * whatever signal gdb passes ({@code C}/{@code S} signals are ignored).
 *
 * <h2>Errors</h2>
 * {@code E01} a malformed request (bad hex, missing fields, lengths out of range, wrapping past
 * 2^64, an oversized packet, a bad checksum in no-ack mode), {@code E02} the target refused or
 * failed (or the run has ended), {@code E14} memory not mapped at the address, {@code E00} an
 * unknown {@code qXfer} annex, and the empty reply for anything not supported. A read that runs
 * into an unmapped page returns the bytes before it.
 *
 * <h2>Ends of a session</h2>
 * {@code k} ends the run. {@code D}, or quitting gdb ({@code qAttached} says 1, so gdb detaches),
 * removes breakpoints, watchpoints and caught exceptions and lets the guest run to its end on the
 * serving thread. A connection that drops does the same or ends the run, as
 * {@link dev.pml4.debug.gdb.GdbServer.OnDisconnect} says.
 *
 * <h2>Not supported</h2>
 * Non-stop mode, extended-remote ({@code !}, {@code vRun}, {@code R}), multiprocess, the x87 and
 * SSE registers, {@code qXfer} objects other than {@code features}, tracepoints, file I/O, range
 * stepping, conditional breakpoints evaluated by the stub, run-length encoded input.
 */
package dev.pml4.debug.gdb;
