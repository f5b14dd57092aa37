/**
 * pml4 as a library, for JVM courses and tools: boot a kernel, run it, watch what the MMU does,
 * and look at the state it ended in.
 *
 * <pre>{@code
 * try (Guest guest = Guest.builder(Path.of("guest/build/idt_demand.elf"))
 *         .options("--mem", "32M", "--tlb", "tiny")      // any option of `pml4 run`
 *         .listener(new GuestListener() {
 *             public void fault(Fault f) { System.out.println(f); }
 *         })
 *         .build()) {
 *     Outcome outcome = guest.run();
 *     Walk walk = guest.state().walk(0x10000000000L, AccessType.WRITE, false);
 * }
 * }</pre>
 *
 * <ul>
 *   <li>{@link dev.pml4.api.Guest}: one machine, built by {@link dev.pml4.api.Guest.Builder} from an
 *       image and the same options as {@code pml4 run} (parsed by {@code run}'s own parser).</li>
 *   <li>{@link dev.pml4.api.GuestListener}: serial output, exceptions and interrupts delivered
 *       ({@link dev.pml4.api.Fault}), page walks ({@link dev.pml4.api.Walk}) and TLB fills and
 *       invalidations ({@link dev.pml4.api.TlbEvent}), as they happen. Listeners only watch.</li>
 *   <li>{@link dev.pml4.api.EndState}: the machine after (or before) a run: walks as probes (no
 *       A/D bit set, no TLB fill), paging-structure entries, the page-table tree, the TLB,
 *       registers, physical and virtual memory.</li>
 * </ul>
 *
 * <p>Runs are deterministic: the same image and options give the same events and end state.
 * A machine holds native memory: close it (try-with-resources).
 */
package dev.pml4.api;
