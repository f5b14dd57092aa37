/**
 * pml4's native bindings (Unicorn, capstone, the C library) and the few FFM shapes they all call
 * and are called through: {@link dev.pml4.ffi.NativeFunction} and {@link dev.pml4.ffi.NativeCallback}.
 *
 * <h2>Why a few shared shapes</h2>
 * The FFM linker spins hidden classes (a specialised stub and a dozen or more lambda forms) for each
 * distinct {@code FunctionDescriptor} and option set it links, once per JVM, and the JDK's AOT cache
 * cannot keep them. With a descriptor per C signature (about 55 of them), a run of the hello kernel
 * defined ~420 classes at run time, most of its start-up after the AOT cache was mapped (issue 12,
 * part 3). Every function and callback pml4 uses passes and returns only integers and pointers, and
 * SysV x86-64 passes those all alike, so four shapes serve them all:
 * <ul>
 *   <li>{@code (long x 6) -> long}: every non-variadic function of up to six arguments;</li>
 *   <li>the same, {@code Linker.Option.critical(false)}: hot calls that can never call back into
 *   Java (a critical downcall stays in the Java thread state, so an upcall inside it is not
 *   allowed: {@code uc_emu_start}, {@code uc_reg_write} and {@code uc_mem_write} may run hooks and
 *   are never critical);</li>
 *   <li>{@code (long, long, ... long x 6) -> long}, {@code firstVariadicArg(2)}: {@code uc_ctl},
 *   {@code uc_hook_add}, and the seven arguments of {@code uc_mmio_map};</li>
 *   <li>the upcall {@code (long x 6) -> long}: every Unicorn hook and every callback of fast mode's
 *   helper.</li>
 * </ul>
 *
 * <h2>Why it is safe (System V AMD64 psABI, section 3.2.3 "Parameter Passing", 3.5.7 "Variable
 * Argument Lists")</h2>
 * <ul>
 *   <li>Integers of every size, {@code bool}, enums and pointers are of class INTEGER: they take the
 *   next of RDI, RSI, RDX, RCX, R8, R9, then an 8-byte stack slot each, in order. A long passed where
 *   the C function declares an {@code int} lands in the same register or slot; the callee reads its
 *   low 32 bits only, since the ABI leaves a 32-bit argument's upper bits unspecified.</li>
 *   <li>The callee reads only the registers and slots its prototype names, and the caller pops its
 *   own stack arguments: trailing arguments a function does not declare (the zeros a call is padded
 *   with up to its shape) are never seen. A Java callback that receives six registers likewise
 *   ignores those its C type does not have; they hold whatever the native caller left there.</li>
 *   <li>Results come back in RAX. A C {@code int} (or {@code uc_err}, {@code cs_err}, {@code
 *   unsigned}) sets only EAX: the binding takes {@code (int) r}. A {@code bool} sets only AL:
 *   {@code (r & 0xff) != 0}. A pointer fills RAX: {@code MemorySegment.ofAddress(r)}. After a {@code
 *   void} function RAX is meaningless and ignored. A native caller of a callback likewise reads only
 *   AL, EAX or RAX, as its C type says; a Java callback returns 0 or 1 for a {@code bool}.</li>
 *   <li>A variadic callee takes its variadic arguments from the same registers and slots as fixed
 *   ones, and also reads AL, an upper bound on the vector registers used (0 here), which the linker
 *   sets for a variadic shape. So one variadic shape with two fixed arguments serves {@code uc_ctl}
 *   (two fixed) and {@code uc_hook_add} (seven fixed: they travel exactly as variadic INTEGER
 *   arguments would), and {@code va_arg(ap, int)} reads the low half of the slot a long was passed
 *   in. RAX is a scratch register to a non-variadic callee, so {@code uc_mmio_map} may go through
 *   the variadic shape as well.</li>
 *   <li>Pointers travel as host addresses ({@link dev.pml4.ffi.NativeFunction#pointer}), so the
 *   linker no longer keeps a segment's arena alive during the call: each binding passes memory of its
 *   engine's or handle's arena (closed only after the native handle), or of a try-with-resources
 *   arena that outlives the call. A heap segment is refused, as the linker refused it (no call here
 *   ever allowed heap access).</li>
 * </ul>
 * None of this is claimed for another ABI (Windows x64 passes four arguments in registers, macOS
 * on AArch64 passes variadic ones on the stack); the bindings are written for Debian's amd64
 * libraries anyway (struct offsets were read from them).
 */
package dev.pml4.ffi;
