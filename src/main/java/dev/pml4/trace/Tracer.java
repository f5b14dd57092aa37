package dev.pml4.trace;

import dev.pml4.cpu.Cpu;
import dev.pml4.cpu.ExecutionObserver;
import dev.pml4.ffi.capstone.Capstone;
import dev.pml4.ffi.capstone.Instruction;
import dev.pml4.ffi.unicorn.Unicorn;
import dev.pml4.machine.SymbolTable;
import dev.pml4.mmu.AccessType;
import dev.pml4.mmu.Mmu;
import dev.pml4.mmu.PageFault;
import dev.pml4.mmu.Tlb;
import dev.pml4.mmu.TlbEntry;
import dev.pml4.mmu.Translation;
import dev.pml4.mmu.WalkResult;
import dev.pml4.mmu.WalkStep;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The instruction tracer: one line per executed instruction (its number, RIP with symbol, bytes,
 * disassembly, and the registers it changed), each followed by the events it caused (page walks
 * level by level, TLB fills, evictions and invalidations, exceptions with their frames, control
 * register writes, port I/O). It only observes: it reads registers and memory the guest has
 * already made visible, and changes nothing (a test checks a traced run against an untraced one).
 *
 * <p>An instruction's line is written when the next instruction begins, because only then are its
 * register changes known; events that happen meanwhile are held and follow it.
 *
 * <p>Per instruction the tracer records raw values only (number, RIP, the bytes packed in two
 * longs, the mask of changed registers) and events as closures over their immutable arguments;
 * a line becomes text when it is written. Streaming, that is at once; with {@code --trace-ring}
 * the values wait in a {@link TraceRing} and only its last lines are formatted, if the run ends
 * badly, by the same code: the ring's lines are the last lines of the streamed trace.
 */
public final class Tracer implements ExecutionObserver, Mmu.Listener {
    private static final HexFormat HEX = HexFormat.of();
    private static final String[] REGISTER_NAMES = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
            "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rflags"};
    /** The same registers as 32-bit code names them (R8-R15 do not exist there). */
    private static final String[] REGISTER_NAMES_32 = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
            "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d", "eflags"};

    private static final int FLAGS = Unicorn.RegisterFile.FLAGS;

    private final Cpu cpu;
    private final Capstone capstone;
    private final SymbolTable symbols;
    private final TraceOptions options;
    private final Writer out;
    /** With {@code --trace-ring}: the lines kept, unformatted; null when streaming. */
    private final TraceRing ring;
    private final boolean instructions;

    /** The registers when the pending instruction began, and when it ended (swapped, never copied). */
    private long[] before = new long[Unicorn.RegisterFile.LENGTH];
    private long[] after = new long[Unicorn.RegisterFile.LENGTH];
    private final long[] bytes = new long[2];
    /** The instruction whose line is pending: its number, or 0. */
    private long current;
    private long currentRip;
    private int currentSize;
    /** The pending instruction is 32-bit code: disassembled as such, with 32-bit register names. */
    private boolean currentCode32;
    /** The pending instruction gets a line: its bytes are {@link #currentLow} and {@link #currentHigh}. */
    private boolean currentHasBytes;
    private long currentLow;
    private long currentHigh;
    /** --trace-on-fault before the first fault: the pending instruction's bytes, in case it is the fault. */
    private boolean waiting;
    private long waitingLow;
    private long waitingHigh;
    private boolean currentTraced;
    /** The pending instruction's events, each formatting its own line when asked. */
    private final List<Supplier<String>> events = new ArrayList<>();
    private boolean faultSeen;
    /** What the pending instruction raised instead of completing, or null. */
    private String raised;
    private long lines;

    public Tracer(Cpu cpu, Capstone capstone, SymbolTable symbols, TraceOptions options, Writer out) {
        this.cpu = cpu;
        this.capstone = capstone;
        this.symbols = symbols;
        this.options = options;
        this.out = out;
        this.ring = options.ring() > 0 ? new TraceRing(options.ring()) : null;
        this.instructions = options.kinds().contains(TraceOptions.Kind.INSN);
    }

    public long lines() {
        return lines;
    }

    private boolean wants(TraceOptions.Kind kind) {
        return options.kinds().contains(kind);
    }

    private boolean active(long count, long rip) {
        return count >= options.fromInstruction() && options.inRange(rip) && (!options.onFirstFault() || faultSeen);
    }

    // ---- instructions ---------------------------------------------------------------------------

    @Override
    public void instruction(long count, long rip, int size) {
        if (count == current && rip == currentRip && raised == null) {
            // The engine abandoned the instruction and runs it again (a mapping changed under it):
            // one line, with the events of both attempts.
            if (currentHasBytes) {
                cpu.registerFile().read(before);
            }
            return;
        }
        boolean registersRead = finishCurrent();
        raised = null;
        current = count;
        currentRip = rip;
        currentSize = size;
        currentCode32 = cpu.code32();
        currentTraced = active(count, rip);
        if (currentTraced && instructions) {
            // The bytes now, not when the line is written: the guest may rewrite or remap its code.
            cpu.instructionBytes(rip, size, bytes);
            currentLow = bytes[0];
            currentHigh = bytes[1];
            currentHasBytes = true;
            if (registersRead) {
                long[] t = before; // the same moment: no second read
                before = after;
                after = t;
            } else {
                cpu.registerFile().read(before);
            }
        } else {
            currentHasBytes = false;
            // Waiting for the first fault: keep the bytes, in case this is it (by the time the
            // delivery is reported, its page may no longer be mapped).
            waiting = options.onFirstFault() && !faultSeen && instructions && !active(count, rip);
            if (waiting) {
                cpu.instructionBytes(rip, size, bytes);
                waitingLow = bytes[0];
                waitingHigh = bytes[1];
            }
        }
    }

    /**
     * Writes the pending instruction and its events. Call once more when the run ends.
     *
     * @return whether the registers were read now (into {@code after})
     */
    public boolean finishCurrent() {
        if (current == 0) {
            return false;
        }
        boolean read = false;
        if (currentHasBytes) {
            cpu.registerFile().read(after);
            read = true;
            int changed = 0;
            for (int i = 0; i < FLAGS; i++) {
                if (before[i] != after[i]) {
                    changed |= 1 << i;
                }
            }
            for (int i = FLAGS; i < before.length; i++) {
                if (before[i] != after[i]) {
                    changed |= 1 << FLAGS; // the flag state changed; whether RFLAGS did is for the line to say
                    break;
                }
            }
            lines++;
            if (ring != null) {
                ring.instruction(current, currentRip, currentSize, currentCode32, currentLow, currentHigh, raised, changed, before, after);
            } else {
                write(instructionLine(current, currentRip, currentSize, currentCode32, currentLow, currentHigh, raised, changed, before, after));
            }
        }
        for (int i = 0; i < events.size(); i++) {
            lines++;
            if (ring != null) {
                ring.event(events.get(i));
            } else {
                write(events.get(i).get());
            }
        }
        events.clear();
        current = 0;
        return read;
    }

    /**
     * An instruction's line.
     *
     * @param low     bytes 0-7 of the instruction, little-endian
     * @param high    bytes 8-14
     * @param changed bit i below {@code FLAGS}: general register i changed, to {@code after[i]}; bit
     *                {@code FLAGS}: the flag state in the snapshots changed (RFLAGS perhaps)
     */
    private String instructionLine(long number, long address, int size, boolean code32, long low, long high,
                                   String raised, int changed, long[] before, long[] after) {
        byte[] bytes = new byte[size];
        for (int i = 0; i < size; i++) {
            bytes[i] = (byte) ((i < 8 ? low : high) >>> (8 * (i & 7)));
        }
        Decoded decoded = decoded(address, size, code32, low, high, bytes);
        String disassembly = decoded.disassembly();
        String symbol = decoded.symbol();
        StringBuilder changes = new StringBuilder();
        String[] names = code32 ? REGISTER_NAMES_32 : REGISTER_NAMES;
        long mask = code32 ? 0xffffffffL : -1L;
        long[] values = new long[names.length];
        System.arraycopy(after, 0, values, 0, FLAGS);
        if ((changed >>> FLAGS & 1) != 0) {
            values[FLAGS] = cpu.registerFile().rflags(after);
            if (values[FLAGS] == cpu.registerFile().rflags(before)) {
                changed &= ~(1 << FLAGS);
            }
        }
        if (options.format() == TraceOptions.Format.TEXT) {
            for (int i = 0; i < names.length; i++) {
                if ((changed >>> i & 1) != 0) {
                    changes.append(' ').append(names[i]).append("=0x").append(Long.toHexString(values[i] & mask));
                }
            }
            // The same columns as "%10d  %016x %-24s %-30s %-40s", without String.format's cost per line;
            // in 32-bit code the address is EIP, eight digits in the same column.
            StringBuilder line = new StringBuilder(160);
            String count = Long.toString(number);
            line.repeat(' ', Math.max(0, 10 - count.length())).append(count).append("  ");
            String rip = Long.toHexString(address);
            int digits = code32 ? 8 : 16;
            line.repeat('0', Math.max(0, digits - rip.length())).append(rip).repeat(' ', 16 - Math.max(digits, rip.length())).append(' ');
            pad(line, symbol, 24);
            pad(line, spaced(bytes), 30);
            line.append(disassembly).repeat(' ', Math.max(0, 40 - disassembly.length()));
            if (raised != null) {
                line.append("  [").append(raised).append(']');
            }
            return line.append(changes).toString().stripTrailing();
        }
        for (int i = 0; i < names.length; i++) {
            if ((changed >>> i & 1) != 0) {
                changes.append(changes.isEmpty() ? "" : ",").append('"').append(names[i]).append("\":\"0x")
                        .append(Long.toHexString(values[i] & mask)).append('"');
            }
        }
        return "{\"type\":\"insn\",\"n\":" + number + ",\"rip\":\"" + hex(address) + "\",\"sym\":" + json(symbol)
                + ",\"bytes\":\"" + HEX.formatHex(bytes) + "\",\"asm\":" + json(disassembly)
                + (raised != null ? ",\"raised\":" + json(raised) : "") + ",\"changed\":{" + changes + "}}";
    }

    /** An instruction as it is written: the same address and bytes always read the same. */
    private record Decoded(String disassembly, String symbol) {
    }

    private record Encoding(long address, int size, boolean code32, long low, long high) {
    }

    /** Decoded instructions by encoding: loops run the same few again and again. Cleared when full. */
    private final java.util.Map<Encoding, Decoded> decodedCache = new java.util.HashMap<>();

    private Decoded decoded(long address, int size, boolean code32, long low, long high, byte[] bytes) {
        Encoding key = new Encoding(address, size, code32, low, high);
        Decoded d = decodedCache.get(key);
        if (d == null) {
            if (decodedCache.size() >= 1 << 16) {
                decodedCache.clear();
            }
            d = new Decoded(capstone.decode(bytes, address, code32).map(Instruction::text).orElse("(bad)"),
                    symbols.describe(address).orElse(""));
            decodedCache.put(key, d);
        }
        return d;
    }

    // ---- events ---------------------------------------------------------------------------------

    /**
     * Holds an event's line for after the pending instruction's. {@code text} and {@code jsonFields}
     * format it when it is written (with {@code --trace-ring}, perhaps never): they may capture
     * only values that stay as they are.
     */
    private void event(TraceOptions.Kind kind, Supplier<String> text, Supplier<String> jsonFields) {
        if (!wants(kind)) {
            return;
        }
        if (current == 0 ? !active(Long.MAX_VALUE, currentRip) : !currentTraced) {
            return;
        }
        if (options.format() == TraceOptions.Format.TEXT) {
            events.add(() -> "            " + text.get());
        } else {
            long n = current;
            events.add(() -> "{\"type\":\"" + kind.name().toLowerCase(Locale.ROOT) + "\",\"n\":" + n + "," + jsonFields.get() + "}");
        }
    }

    @Override
    public void walked(Tlb.Kind kind, AccessType type, WalkResult result) {
        event(TraceOptions.Kind.WALK, () -> walk(kind, type, result, false), () -> walk(kind, type, result, true));
    }

    /** A walk's text, or its JSON fields. */
    private static String walk(Tlb.Kind kind, AccessType type, WalkResult result, boolean asJson) {
        List<WalkStep> steps = result instanceof Translation t ? t.steps() : ((PageFault) result).steps();
        long linear = result instanceof Translation t ? t.linearAddress() : ((PageFault) result).linearAddress();
        StringBuilder text = new StringBuilder(String.format("walk %s %s 0x%x:", tlbName(kind), type.name().toLowerCase(Locale.ROOT), linear));
        StringBuilder json = new StringBuilder();
        for (WalkStep s : steps) {
            text.append(String.format(" %s@0x%x=0x%x", s.level().entryName(), s.entryAddress(), s.entryValue()));
            json.append(json.isEmpty() ? "" : ",").append(String.format("{\"level\":\"%s\",\"entry\":\"0x%x\",\"value\":\"0x%x\"}",
                    s.level().entryName(), s.entryAddress(), s.entryValue()));
        }
        String common = "\"tlb\":\"" + tlbName(kind) + "\",\"access\":\"" + type.name().toLowerCase(Locale.ROOT) + "\",\"address\":\""
                + hex(linear) + "\",\"steps\":[" + json + "]";
        if (result instanceof Translation t) {
            text.append(String.format(" -> 0x%x (%s page)", t.physicalAddress(), t.size().label()));
            return asJson ? common + ",\"result\":\"ok\",\"physical\":\"" + hex(t.physicalAddress())
                    + "\",\"size\":\"" + t.size().label() + "\"" : text.toString();
        }
        PageFault f = (PageFault) result;
        text.append(String.format(" -> #PF(0x%x): %s", f.errorCode(), f.reason()));
        return asJson ? common + ",\"result\":\"fault\",\"error\":\"" + hex(f.errorCode())
                + "\",\"reason\":" + json(f.reason()) : text.toString();
    }

    @Override
    public void filled(Tlb.Kind kind, TlbEntry entry, List<TlbEntry> evicted) {
        List<TlbEntry> gone = List.copyOf(evicted);
        event(TraceOptions.Kind.TLB, () -> {
            StringBuilder text = new StringBuilder("tlb fill " + tlbName(kind) + " " + describe(entry));
            for (TlbEntry e : gone) {
                text.append("; evicted ").append(describe(e));
            }
            return text.toString();
        }, () -> "\"op\":\"fill\",\"tlb\":\"" + tlbName(kind) + "\",\"entry\":" + json(entry)
                + ",\"evicted\":[" + String.join(",", gone.stream().map(Tracer::json).toList()) + "]");
    }

    @Override
    public void invalidated(String cause, List<TlbEntry> invalidated) {
        List<TlbEntry> entries = List.copyOf(invalidated);
        event(TraceOptions.Kind.TLB, () -> "tlb " + cause + ": invalidated " + entries.size() + " "
                        + (entries.size() == 1 ? "entry " + describe(entries.getFirst()) : "entries"),
                () -> "\"op\":\"invalidate\",\"cause\":" + json(cause) + ",\"entries\":["
                        + String.join(",", entries.stream().map(Tracer::json).toList()) + "]");
    }

    @Override
    public void delivered(String chain, int vector, int errorCode, long cr2, long handler, int newCpl, long frameAddress, long[] frame) {
        faultSeen = true;
        if (raised == null) {
            raised = chain.replaceAll(" .*", "").replaceAll("\\(.*", "");
        }
        if (current != 0 && !currentTraced && active(current, currentRip)) {
            currentTraced = true; // --trace-on-fault: the faulting instruction's events start the trace
            if (instructions && waiting) {
                currentHasBytes = true;
                currentLow = waitingLow;
                currentHigh = waitingHigh;
                cpu.registerFile().read(before); // its own register changes are not known any more
            }
        }
        // IA-32e mode pushes five 8-byte slots; protected mode three 4-byte ones, five on a stack switch.
        boolean protectedMode = "protected mode".equals(cpu.processorMode());
        long[] pushed = frame.clone();
        event(TraceOptions.Kind.EXCEPTION,
                () -> delivery(chain, vector, errorCode, cr2, handler, newCpl, frameAddress, pushed, protectedMode, false),
                () -> delivery(chain, vector, errorCode, cr2, handler, newCpl, frameAddress, pushed, protectedMode, true));
    }

    /** A delivery's text, or its JSON fields. */
    private String delivery(String chain, int vector, int errorCode, long cr2, long handler, int newCpl, long frameAddress,
                            long[] frame, boolean protectedMode, boolean asJson) {
        StringBuilder f = new StringBuilder();
        StringBuilder fj = new StringBuilder();
        List<String> slots = new ArrayList<>(protectedMode
                ? List.of("eip", "cs", "eflags", "esp", "ss") : List.of("rip", "cs", "rflags", "rsp", "ss"));
        if (errorCode >= 0) {
            slots.addFirst("error");
        }
        String[] names = slots.subList(0, frame.length).toArray(String[]::new);
        for (int i = 0; i < frame.length; i++) {
            f.append(' ').append(names[i]).append("=0x").append(Long.toHexString(frame[i]));
            fj.append(i == 0 ? "" : ",").append('"').append(names[i]).append("\":\"").append(hex(frame[i])).append('"');
        }
        return !asJson ? String.format("deliver %s -> handler 0x%x%s at CPL %d, frame at 0x%x:%s",
                        chain, handler, symbols.describe(handler).map(s -> " <" + s + ">").orElse(""), newCpl, frameAddress, f)
                : String.format("\"vector\":%d,\"error\":%s,\"cr2\":\"%s\",\"chain\":%s,\"handler\":\"%s\",\"cpl\":%d,\"frame_address\":\"%s\",\"frame\":{%s}",
                        vector, errorCode < 0 ? "null" : "\"" + hex(errorCode) + "\"", hex(cr2), json(chain), hex(handler), newCpl, hex(frameAddress), fj);
    }

    @Override
    public void controlRegister(String register, long oldValue, long newValue) {
        event(TraceOptions.Kind.CR, () -> String.format("%s 0x%x -> 0x%x", register, oldValue, newValue),
                () -> String.format("\"register\":\"%s\",\"old\":\"%s\",\"new\":\"%s\"", register, hex(oldValue), hex(newValue)));
    }

    @Override
    public void modeSwitched(String from, String to, int cs) {
        event(TraceOptions.Kind.MODE, () -> String.format("mode %s -> %s (CS 0x%x)", from, to, cs),
                () -> String.format("\"from\":\"%s\",\"to\":\"%s\",\"cs\":\"0x%x\"", from, to, cs));
    }

    @Override
    public void port(boolean isOut, int port, int size, long value) {
        event(TraceOptions.Kind.IO, () -> String.format("%s port 0x%x (%d byte%s) 0x%x", isOut ? "out" : "in", port, size, size == 1 ? "" : "s", value),
                () -> String.format("\"dir\":\"%s\",\"port\":\"0x%x\",\"size\":%d,\"value\":\"%s\"", isOut ? "out" : "in", port, size, hex(value)));
    }

    /** A finding of the TLB checker (--check-tlb): one {@code stale} line. */
    public void tlbCheck(dev.pml4.mmu.TlbCheckFinding finding) {
        switch (finding) {
            case dev.pml4.mmu.TlbCheckFinding.StaleUse u -> event(TraceOptions.Kind.STALE,
                    () -> String.format("stale use: %s 0x%x through %s %s; fresh walk: %s; made stale by %s",
                            u.access().name().toLowerCase(Locale.ROOT), u.linear(), tlbName(u.tlb()), describe(u.entry()), freshText(u.fresh()),
                            entryWriteText(u.write())),
                    () -> "\"finding\":\"stale-use\",\"access\":\"" + u.access().name().toLowerCase(Locale.ROOT) + "\",\"address\":\"" + hex(u.linear())
                            + "\",\"rip\":\"" + hex(u.rip()) + "\",\"sym\":" + json(symbols.describe(u.rip()).orElse("")) + ",\"tlb\":\"" + tlbName(u.tlb()) + "\",\"entry\":" + json(u.entry())
                            + ",\"fresh\":" + freshJson(u.fresh()) + ",\"write\":" + entryWriteJson(u.write())
                            + ",\"hints\":[" + String.join(",", u.hints().stream().map(Tracer::json).toList()) + "]");
            case dev.pml4.mmu.TlbCheckFinding.DirtyBitLost d -> event(TraceOptions.Kind.STALE,
                    () -> String.format("dirty flag lost: write 0x%x through %s; D cleared by %s", d.linear(), describe(d.entry()), entryWriteText(d.write())),
                    () -> "\"finding\":\"dirty-bit-lost\",\"access\":\"write\",\"address\":\"" + hex(d.linear()) + "\",\"rip\":\"" + hex(d.rip())
                            + "\",\"sym\":" + json(symbols.describe(d.rip()).orElse("")) + ",\"entry\":" + json(d.entry()) + ",\"write\":" + entryWriteJson(d.write()));
            case dev.pml4.mmu.TlbCheckFinding.SpuriousFault f -> event(TraceOptions.Kind.STALE,
                    () -> String.format("spurious #PF (SDM 4.10.4.3): %s 0x%x refused by %s; rights granted by %s",
                            f.access().name().toLowerCase(Locale.ROOT), f.linear(), describe(f.entry()), entryWriteText(f.write())),
                    () -> "\"finding\":\"spurious-fault\",\"access\":\"" + f.access().name().toLowerCase(Locale.ROOT) + "\",\"address\":\""
                            + hex(f.linear()) + "\",\"rip\":\"" + hex(f.rip()) + "\",\"sym\":" + json(symbols.describe(f.rip()).orElse("")) + ",\"entry\":" + json(f.entry()) + ",\"write\":" + entryWriteJson(f.write()));
        }
    }

    private String entryWriteText(dev.pml4.mmu.TlbCheckFinding.EntryWrite w) {
        return String.format("instruction %d at 0x%x%s: %s@0x%x 0x%x -> 0x%x (%s)", w.instruction(), w.rip(),
                symbols.describe(w.rip()).map(s -> " <" + s + ">").orElse(""), w.level().entryName(), w.entryAddress(),
                w.oldValue(), w.newValue(), w.change());
    }

    private String entryWriteJson(dev.pml4.mmu.TlbCheckFinding.EntryWrite w) {
        return "{\"n\":" + w.instruction() + ",\"rip\":\"" + hex(w.rip()) + "\",\"sym\":" + json(symbols.describe(w.rip()).orElse(""))
                + ",\"level\":\"" + w.level().entryName() + "\",\"entry\":\"" + hex(w.entryAddress()) + "\",\"old\":\"" + hex(w.oldValue())
                + "\",\"new\":\"" + hex(w.newValue()) + "\",\"change\":" + json(w.change()) + "}";
    }

    private static String freshText(WalkResult r) {
        return r instanceof Translation t ? String.format("0x%x -> 0x%x (%s page)", t.linearAddress(), t.physicalAddress(), t.size().label())
                : String.format("#PF(0x%x) %s", ((PageFault) r).errorCode(), ((PageFault) r).reason());
    }

    private static String freshJson(WalkResult r) {
        if (r instanceof Translation t) {
            return "{\"result\":\"ok\",\"physical\":\"" + hex(t.physicalAddress()) + "\",\"size\":\"" + t.size().label() + "\"}";
        }
        PageFault f = (PageFault) r;
        return "{\"result\":\"fault\",\"error\":\"" + hex(f.errorCode()) + "\",\"reason\":" + json(f.reason()) + "}";
    }

    // ---- output ---------------------------------------------------------------------------------

    private void write(String line) {
        try {
            out.write(line);
            out.write('\n');
        } catch (IOException e) {
            throw new UncheckedIOException("writing the trace", e);
        }
    }

    /**
     * Ends the trace: writes the pending instruction, and the ring buffer's lines when
     * {@code dumpRing} (the run ended badly).
     */
    public void close(boolean dumpRing) {
        finishCurrent();
        if (ring != null && dumpRing) {
            ring.forEachLine(this::instructionLine, this::write);
        }
        try {
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("writing the trace", e);
        }
    }

    private static void pad(StringBuilder line, String text, int width) {
        line.append(text).repeat(' ', Math.max(0, width - text.length())).append(' ');
    }

    private static String tlbName(Tlb.Kind kind) {
        return kind == Tlb.Kind.INSTRUCTION ? "I" : "D";
    }

    private static String describe(TlbEntry e) {
        return String.format("%s 0x%x->0x%x %s%s%s%s pcid %d", e.size().label(), e.pageBase(), e.frameBase(),
                e.rights().writable() ? "W" : "R", e.rights().user() ? "U" : "S", e.rights().executable() ? "X" : "-",
                (e.global() ? " G" : "") + (e.dirty() ? " D" : ""), e.pcid());
    }

    private static String json(TlbEntry e) {
        return String.format("{\"page\":\"%s\",\"frame\":\"%s\",\"size\":\"%s\",\"writable\":%b,\"user\":%b,\"executable\":%b,\"global\":%b,\"dirty\":%b,\"pcid\":%d}",
                hex(e.pageBase()), hex(e.frameBase()), e.size().label(), e.rights().writable(), e.rights().user(),
                e.rights().executable(), e.global(), e.dirty(), e.pcid());
    }

    private static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    private static String spaced(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        for (byte b : bytes) {
            sb.append(sb.isEmpty() ? "" : " ").append(HEX.toHexDigits(b));
        }
        return sb.toString();
    }

    static String json(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }
}
