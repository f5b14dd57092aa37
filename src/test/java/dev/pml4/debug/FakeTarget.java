package dev.pml4.debug;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;

/**
 * A toy machine behind {@link DebugTarget}, for testing the stub without Unicorn: sparse virtual
 * memory in 4 KiB pages (no page tables: a page is mapped or not), and an interpreter for a
 * handful of real x86-64 encodings, so that gdb's disassembler agrees with it:
 * <pre>
 *   90                     nop
 *   48 ff c0               inc rax
 *   48 89 04 25 imm32      mov [imm32], rax
 *   48 8b 04 25 imm32      mov rax, [imm32]
 *   0f 0b                  ud2           (#UD)
 *   cc                     int3          (#BP, a trap)
 *   eb rel8                jmp short
 *   f4                     hlt           (the run ends, exit status = al)
 * </pre>
 * Anything else raises #UD; an access to an unmapped page raises #PF. An exception is delivered by
 * jumping to {@link #handlers}; with no handler the run ends with status 4 ("triple fault").
 */
public final class FakeTarget implements DebugTarget {
    public static final long PAGE = 4096;
    /** Where the standard program starts. */
    public static final long ENTRY = 0x100000;
    public static final long CR3 = 0x9000;
    /** An instruction count after which a runaway resume gives up (status 6, like pml4's limit). */
    public static final long LIMIT = 200_000_000L;

    private final Map<Long, byte[]> pages = new HashMap<>();
    private final EnumMap<Register, Long> registers = new EnumMap<>(Register.class);
    private final Set<Long> breakpoints = new HashSet<>();
    private final List<long[]> watches = new ArrayList<>(); // {address, length, kind ordinal}
    private Set<Integer> caught = Set.of();
    public final Map<Integer, Long> handlers = new TreeMap<>();
    private volatile boolean interruptRequested;
    /** Set while resume() or step() runs, so tests can wait for a run to be under way. */
    public volatile boolean running;
    private int pendingVector = -1;
    private boolean killed;
    private StopEvent.Exited exited;
    /** Every call, as text ("insertBreakpoint 0x100010"), for tests to look at. */
    public final List<String> calls = Collections.synchronizedList(new ArrayList<>());
    /** The thread each call (but interrupt) came from: the threading rule says one. */
    public final Set<Thread> callers = Collections.synchronizedSet(new HashSet<>());
    public int maxBreakpoints = 4;
    public int maxWatchpoints = 4;

    public FakeTarget() {
        for (Register r : Register.values()) {
            registers.put(r, 0L);
        }
        registers.put(Register.RIP, ENTRY);
        registers.put(Register.RSP, 0x7ff0L);
        registers.put(Register.EFLAGS, 0x2L);
        registers.put(Register.CS, 0x8L);
        for (Register r : List.of(Register.SS, Register.DS, Register.ES, Register.FS, Register.GS)) {
            registers.put(r, 0x10L);
        }
        registers.put(Register.CR0, 0x8001_0011L); // PE ET WP PG
        registers.put(Register.CR3, CR3);
        registers.put(Register.CR4, 0x20L);       // PAE
        registers.put(Register.EFER, 0x500L);     // LME LMA
    }

    /** The program the tests and the gdb transcript use. */
    public static FakeTarget standard() {
        FakeTarget t = new FakeTarget();
        t.map(0x1000, 0x3000);
        t.map(0x7000, 0x1000);
        t.map(ENTRY, 0x1000);
        t.poke(0x1000, le(0x1122334455667788L));
        t.poke(0x1008, le(0x99aabbccddeeff00L));
        t.poke(0x3000, le(0x0123456789abcdefL));
        byte[] program = bytes(
                "90".repeat(16)           // 0x100000..0x10000f
                        + "90"            // 0x100010 nop
                        + "48ffc0"        // 0x100011 inc rax
                        + "48890425" + "00200000" // 0x100014 mov [0x2000], rax
                        + "488b0425" + "00300000" // 0x10001c mov rax, [0x3000]
                        + "0f0b"          // 0x100024 ud2
                        + "f4");          // 0x100026 hlt
        t.poke(ENTRY, program);
        t.poke(ENTRY + 0x100, bytes("48ffc0f4")); // #UD handler: inc rax; hlt
        t.handlers.put(6, ENTRY + 0x100);
        return t;
    }

    public static byte[] bytes(String hex) {
        byte[] b = new byte[hex.length() / 2];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        }
        return b;
    }

    public static byte[] le(long v) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (v >>> (8 * i));
        }
        return b;
    }

    public synchronized void map(long address, long length) {
        for (long p = address & -PAGE; p < address + length; p += PAGE) {
            pages.computeIfAbsent(p, k -> new byte[(int) PAGE]);
        }
    }

    public synchronized void poke(long address, byte[] data) {
        for (int i = 0; i < data.length; i++) {
            pages.get((address + i) & -PAGE)[(int) ((address + i) & (PAGE - 1))] = data[i];
        }
    }

    public long peek64(long address) {
        byte[] b = new byte[8];
        if (readMemory(address, b, 0, 8) != 8) {
            throw new IllegalArgumentException("unmapped");
        }
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = v << 8 | (b[i] & 0xff);
        }
        return v;
    }

    public synchronized long register(Register r) {
        return registers.get(r);
    }

    public synchronized void setRegister(Register r, long v) {
        registers.put(r, v);
    }

    public boolean killed() {
        return killed;
    }

    public synchronized Set<Long> breakpoints() {
        return Set.copyOf(breakpoints);
    }

    public synchronized int watchpointCount() {
        return watches.size();
    }

    public synchronized Set<Integer> caught() {
        return caught;
    }

    private void called(String what) {
        calls.add(what);
        callers.add(Thread.currentThread());
    }

    // ---- DebugTarget ----------------------------------------------------------------------------

    @Override
    public synchronized long readRegister(Register register) {
        called("readRegister " + register);
        return registers.get(register);
    }

    @Override
    public synchronized void writeRegister(Register register, long value) {
        called("writeRegister " + register + " 0x" + Long.toHexString(value));
        if (register == Register.CR0 && (value & 0x8000_0000L) != 0 && (value & 1) == 0) {
            throw new DebugTargetException("CR0.PG without CR0.PE");
        }
        registers.put(register, value);
    }

    private byte[] page(long address) {
        return pages.get(address & -PAGE);
    }

    @Override
    public synchronized int readMemory(long address, byte[] buffer, int offset, int length) {
        called("readMemory 0x" + Long.toHexString(address) + " " + length);
        for (int i = 0; i < length; i++) {
            byte[] p = page(address + i);
            if (p == null) {
                return i;
            }
            buffer[offset + i] = p[(int) ((address + i) & (PAGE - 1))];
        }
        return length;
    }

    @Override
    public synchronized int writeMemory(long address, byte[] data, int offset, int length) {
        called("writeMemory 0x" + Long.toHexString(address) + " " + length);
        for (int i = 0; i < length; i++) {
            byte[] p = page(address + i);
            if (p == null) {
                return i;
            }
            p[(int) ((address + i) & (PAGE - 1))] = data[offset + i];
        }
        return length;
    }

    @Override
    public StopEvent resume() {
        called("resume");
        return run(false);
    }

    @Override
    public StopEvent step() {
        called("step");
        return run(true);
    }

    @Override
    public void interrupt() {
        calls.add("interrupt");
        interruptRequested = true;
    }

    @Override
    public synchronized void kill() {
        called("kill");
        killed = true;
    }

    @Override
    public synchronized boolean insertBreakpoint(long address) {
        called("insertBreakpoint 0x" + Long.toHexString(address));
        if (breakpoints.size() >= maxBreakpoints || breakpoints.contains(address)) {
            return false;
        }
        return breakpoints.add(address);
    }

    @Override
    public synchronized boolean removeBreakpoint(long address) {
        called("removeBreakpoint 0x" + Long.toHexString(address));
        return breakpoints.remove(address);
    }

    @Override
    public synchronized boolean insertWatchpoint(long address, int length, WatchKind kind) {
        called("insertWatchpoint 0x" + Long.toHexString(address) + " " + length + " " + kind);
        if (watches.size() >= maxWatchpoints || length > 8) {
            return false;
        }
        watches.add(new long[] {address, length, kind.ordinal()});
        return true;
    }

    @Override
    public synchronized boolean removeWatchpoint(long address, int length, WatchKind kind) {
        called("removeWatchpoint 0x" + Long.toHexString(address) + " " + length + " " + kind);
        return watches.removeIf(w -> w[0] == address && w[1] == length && w[2] == kind.ordinal());
    }

    @Override
    public synchronized void catchExceptions(Set<Integer> vectors) {
        called("catchExceptions " + new java.util.TreeSet<>(vectors));
        for (int v : vectors) {
            if (v < 0 || v > 31) {
                throw new DebugTargetException("no such exception vector: " + v);
            }
        }
        caught = Set.copyOf(vectors);
    }

    @Override
    public synchronized String monitor(String command) {
        called("monitor " + command);
        String[] w = command.trim().split("\\s+");
        switch (w[0]) {
            case "help":
                return "  monitor walk ADDR    the page walk of a virtual address\n";
            case "walk":
                if (w.length != 2) {
                    return "usage: monitor walk ADDR\n";
                }
                long va;
                try {
                    va = Long.decode(w[1]);
                } catch (NumberFormatException e) {
                    return "not an address: " + w[1] + "\n";
                }
                if (page(va) == null) {
                    return String.format("0x%x: not mapped (PML4E[%d] not present)%n", va, (va >>> 39) & 0x1ff);
                }
                return String.format("walk of 0x%x with CR3=0x%x%n  PML4E[%d] -> PDPTE[%d] -> PDE[%d] -> PTE[%d]%n  0x%x -> physical 0x%x (4 KiB page)%n",
                        va, registers.get(Register.CR3), (va >>> 39) & 0x1ff, (va >>> 30) & 0x1ff, (va >>> 21) & 0x1ff,
                        (va >>> 12) & 0x1ff, va, va);
            case "big":
                return "0123456789abcdef".repeat(Integer.parseInt(w[1]) / 16) + "\n";
            case "fail":
                throw new DebugTargetException("the monitor failed on purpose");
            default:
                return "unknown command: " + w[0] + "\n";
        }
    }

    // ---- the interpreter ------------------------------------------------------------------------

    private StopEvent run(boolean step) {
        running = true;
        try {
            return execute(step);
        } finally {
            running = false;
        }
    }

    private synchronized StopEvent execute(boolean step) {
        if (killed) {
            throw new IllegalStateException("resumed after kill");
        }
        if (exited != null) {
            return exited;
        }
        if (pendingVector >= 0) {
            int v = pendingVector;
            pendingVector = -1;
            StopEvent e = deliver(v);
            if (e != null || step) {
                return e != null ? e : new StopEvent.Stepped();
            }
        }
        long executed = 0;
        boolean first = true;
        while (true) {
            if (interruptRequested) {
                interruptRequested = false;
                return new StopEvent.Interrupted();
            }
            long rip = registers.get(Register.RIP);
            if (!first && breakpoints.contains(rip)) {
                return new StopEvent.BreakpointHit(rip);
            }
            first = false;
            StopEvent e = instruction(rip);
            if (e != null) {
                return e;
            }
            if (step) {
                return new StopEvent.Stepped();
            }
            if (++executed >= LIMIT) {
                return exited = new StopEvent.Exited(6, "the instruction limit was reached");
            }
            // Let interrupt() in: it takes no lock, but tests poking registers do.
            if ((executed & 0xfff) == 0) {
                try {
                    wait(0, 1);
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private int fetch(long address) {
        byte[] p = page(address);
        return p == null ? -1 : p[(int) (address & (PAGE - 1))] & 0xff;
    }

    private StopEvent instruction(long rip) {
        int[] b = new int[8];
        for (int i = 0; i < 8; i++) {
            b[i] = fetch(rip + i);
        }
        if (b[0] < 0) {
            return exception(14, 0x10, rip, rip);
        }
        long rax = registers.get(Register.RAX);
        switch (b[0]) {
            case 0x90:
                return next(rip, 1);
            case 0xf4:
                registers.put(Register.RIP, rip + 1);
                return exited = new StopEvent.Exited((int) (rax & 0xff),
                        String.format("the guest halted with interrupts off at RIP 0x%x", rip));
            case 0xcc:
                registers.put(Register.RIP, rip + 1);
                return exception(3, -1, rip + 1);
            case 0xeb:
                registers.put(Register.RIP, rip + 2 + (byte) b[1]);
                return null;
            case 0x0f:
                return exception(6, -1, rip);
            case 0x48:
                if (b[1] == 0xff && b[2] == 0xc0) {
                    registers.put(Register.RAX, rax + 1);
                    return next(rip, 3);
                }
                if ((b[1] == 0x89 || b[1] == 0x8b) && b[2] == 0x04 && b[3] == 0x25) {
                    long address = (b[4] | b[5] << 8 | b[6] << 16 | (long) b[7] << 24);
                    boolean write = b[1] == 0x89;
                    byte[] data = new byte[8];
                    if (write) {
                        if (writeMemoryQuiet(address, le(rax)) != 8) {
                            return exception(14, 0x2, rip, address);
                        }
                    } else {
                        if (readMemoryQuiet(address, data) != 8) {
                            return exception(14, 0x0, rip, address);
                        }
                        long v = 0;
                        for (int i = 7; i >= 0; i--) {
                            v = v << 8 | (data[i] & 0xff);
                        }
                        registers.put(Register.RAX, v);
                    }
                    registers.put(Register.RIP, rip + 8);
                    return watched(address, 8, write);
                }
                return exception(6, -1, rip);
            default:
                return exception(6, -1, rip);
        }
    }

    private StopEvent next(long rip, int length) {
        registers.put(Register.RIP, rip + length);
        return null;
    }

    private int readMemoryQuiet(long address, byte[] out) {
        for (int i = 0; i < out.length; i++) {
            int v = fetch(address + i);
            if (v < 0) {
                return i;
            }
            out[i] = (byte) v;
        }
        return out.length;
    }

    private int writeMemoryQuiet(long address, byte[] data) {
        for (int i = 0; i < data.length; i++) {
            if (page(address + i) == null) {
                return i;
            }
        }
        for (int i = 0; i < data.length; i++) {
            page(address + i)[(int) ((address + i) & (PAGE - 1))] = data[i];
        }
        return data.length;
    }

    private StopEvent watched(long address, int length, boolean write) {
        for (long[] w : watches) {
            WatchKind kind = WatchKind.values()[(int) w[2]];
            boolean matches = kind == WatchKind.ACCESS || (kind == WatchKind.WRITE) == write;
            if (matches && address < w[0] + w[1] && w[0] < address + length) {
                return new StopEvent.WatchpointHit(Math.max(address, w[0]), kind);
            }
        }
        return null;
    }

    /** Raise {@code vector}: a stop if it is caught, else delivery. */
    private StopEvent exception(int vector, long errorCode, long rip) {
        return exception(vector, errorCode, rip, 0);
    }

    private StopEvent exception(int vector, long errorCode, long rip, long cr2) {
        registers.put(Register.RIP, rip);
        if (vector == 14) {
            registers.put(Register.CR2, cr2);
        }
        if (caught.contains(vector)) {
            pendingVector = vector;
            return new StopEvent.ExceptionCaught(vector, errorCode < 0 ? OptionalLong.empty() : OptionalLong.of(errorCode));
        }
        return deliver(vector);
    }

    private StopEvent deliver(int vector) {
        Long handler = handlers.get(vector);
        if (handler == null) {
            return exited = new StopEvent.Exited(4, "triple fault: no handler for vector " + vector);
        }
        registers.put(Register.RIP, handler);
        return null;
    }
}
