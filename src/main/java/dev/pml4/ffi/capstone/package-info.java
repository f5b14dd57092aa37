/**
 * A thin FFM binding to capstone 4.0.2 (Debian's libcapstone4), x86-64 only, used to decode the
 * instruction at the guest's RIP so the emulator can say what it does to the MMU.
 *
 * <p>Nothing here knows about the emulator: {@link dev.pml4.ffi.capstone.Capstone} opens a handle
 * and decodes one instruction at a time into {@link dev.pml4.ffi.capstone.Instruction} and
 * {@link dev.pml4.ffi.capstone.Operand} values, which are plain Java copies.
 */
package dev.pml4.ffi.capstone;
