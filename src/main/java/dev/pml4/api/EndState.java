package dev.pml4.api;

import dev.pml4.inspect.Inspector;
import dev.pml4.machine.Machine;
import dev.pml4.mmu.AccessMode;
import dev.pml4.mmu.AccessType;
import dev.pml4.mmu.Mmu;
import dev.pml4.mmu.PagingLevel;
import dev.pml4.mmu.PagingState;
import dev.pml4.mmu.Tlb;
import dev.pml4.mmu.TlbEntry;
import dev.pml4.mmu.WalkStep;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SequencedMap;

/**
 * The machine's state as it is now, usually after {@link Guest#run()}: nothing here changes it.
 * Walks are probes, as {@code --show walk:VA} does: they set no accessed or dirty flag and fill
 * no TLB entry. Addresses are linear (virtual) unless the method says physical.
 */
public final class EndState {
    private final Machine machine;

    EndState(Machine machine) {
        this.machine = machine;
    }

    private PagingState paging() {
        return machine.cpu().pagingState();
    }

    /** A walk of {@code address} from the current CR3 for an access of this kind, as a probe. */
    public Walk walk(long address, AccessType access, boolean user) {
        return Walk.of(machine.mmu().walker().probe(address, access, user ? AccessMode.USER : AccessMode.SUPERVISOR, paging()),
                access, user);
    }

    /** The same walk step by step, as {@code --show walk:VA} prints it. */
    public String describeWalk(long address, AccessType access, boolean user) {
        return machine.inspector().walk(address, access, user ? AccessMode.USER : AccessMode.SUPERVISOR);
    }

    /**
     * The paging-structure entry at {@code level} on the way to {@code address}, as the walk reads
     * it; empty when the walk stops above that level (an entry not present, or a large page).
     */
    public Optional<WalkStep> entry(long address, PagingLevel level) {
        return walk(address, AccessType.READ, false).step(level);
    }

    /** Every present mapping under CR3, contiguous ranges with the same rights merged (as {@code pml4 pt}). */
    public List<Inspector.Range> pageTables() {
        return machine.inspector().ranges();
    }

    /** The entries one TLB holds now. */
    public List<TlbEntry> tlb(Tlb.Kind kind) {
        return machine.mmu().tlb().entries(kind);
    }

    /** The entry {@code kind} caches for {@code address} under the current PCID, if any. */
    public Optional<TlbEntry> tlbEntry(Tlb.Kind kind, long address) {
        return Optional.ofNullable(machine.mmu().tlb().peek(kind, address, Mmu.currentPcid(paging())));
    }

    /**
     * The registers by lower-case name: rax ... r15, rip, rflags, cs, ss, cpl, cr0, cr2, cr3, cr4,
     * cr8, efer, and gdtr/idtr/tr {@code _base}, {@code _limit}, {@code _selector}.
     */
    public SequencedMap<String, Long> registers() {
        return machine.registers();
    }

    /** One register by name, as {@link #registers()} names them. */
    public long register(String name) {
        Long value = registers().get(name.toLowerCase(Locale.ROOT));
        if (value == null) {
            throw new IllegalArgumentException("no register '" + name + "': one of " + registers().keySet());
        }
        return value;
    }

    /** Bytes of physical memory (a hole reads all-ones). */
    public byte[] readPhysical(long address, int length) {
        return machine.memory().readBytes(address, length);
    }

    /**
     * Bytes at a linear address, translated page by page by probe walks (supervisor reads).
     *
     * @throws IllegalArgumentException when a page of the range does not translate, with the walk's reason
     */
    public byte[] readVirtual(long address, int length) {
        byte[] out = new byte[length];
        int done = 0;
        while (done < length) {
            long linear = address + done;
            Walk w = walk(linear, AccessType.READ, false);
            if (!w.translated()) {
                throw new IllegalArgumentException(String.format("0x%x does not translate: %s (#PF error 0x%x)", linear, w.reason(), w.errorCode()));
            }
            int chunk = (int) Math.min(length - done, 4096 - (linear & 0xfff));
            System.arraycopy(readPhysical(w.physical(), chunk), 0, out, done, chunk);
            done += chunk;
        }
        return out;
    }

    /** A little-endian quadword at a linear address. */
    public long readVirtual64(long address) {
        return java.nio.ByteBuffer.wrap(readVirtual(address, 8)).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** One of {@code pml4 inspect}'s views by name: pt, pt-dot, tlb, idt, or "walk VA [read|write|fetch] [user]". */
    public String show(String what) {
        String[] words = what.strip().split("[\\s:]+");
        return machine.inspector().answer(words[0], List.of(words).subList(1, words.length));
    }

    /** The VGA text screen as {@code --vga} writes it: 25 lines, trailing blanks removed, code page 437 as UTF-8. */
    public String vgaScreen() {
        return machine.vga().screen().text();
    }
}
