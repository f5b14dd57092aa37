/**
 * What a debugger may ask of a machine: {@link dev.pml4.debug.DebugTarget}, the
 * {@link dev.pml4.debug.Register}s it names, the {@link dev.pml4.debug.StopEvent}s it returns.
 * The gdb remote stub in {@code dev.pml4.debug.gdb} depends on these types only; an adapter over
 * {@code dev.pml4.cpu.Cpu} implements the interface. Read {@link dev.pml4.debug.DebugTarget}
 * for the threading rule.
 */
package dev.pml4.debug;
