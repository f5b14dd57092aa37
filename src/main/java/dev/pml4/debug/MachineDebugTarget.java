package dev.pml4.debug;

import dev.pml4.cpu.ControlRegisters;
import dev.pml4.cpu.Cpu;
import dev.pml4.cpu.StopReason;
import dev.pml4.ffi.unicorn.MemoryAccess;
import dev.pml4.ffi.unicorn.Unicorn;
import dev.pml4.ffi.unicorn.X86Reg;
import dev.pml4.machine.Machine;
import dev.pml4.mmu.AccessMode;
import dev.pml4.mmu.AccessType;
import dev.pml4.mmu.Translation;
import dev.pml4.mmu.WalkResult;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The gdb stub's view of a pml4 machine. Memory goes through the guest's page tables by probes
 * (no TLB fill, no A/D, no #PF); breakpoints and steps stop the processor at instruction
 * boundaries; a watchpoint reports after the instruction that touched it; a caught exception
 * stops before its delivery.
 */
public final class MachineDebugTarget implements DebugTarget {
    private record Watch(long address, int length, WatchKind kind) {
    }

    private final Machine machine;
    private final Cpu cpu;
    private final Unicorn engine;
    private final List<Watch> watches = new ArrayList<>();
    private boolean watchHookInstalled;
    private StopEvent exited;
    private boolean staleListener;
    private boolean catchingStale;

    public MachineDebugTarget(Machine machine) {
        this.machine = machine;
        this.cpu = machine.cpu();
        this.engine = machine.engine();
        cpu.enableDebugging(new Cpu.DebugEvents() {
            public Object breakpoint(long rip) {
                return new StopEvent.BreakpointHit(rip);
            }

            public Object stepped() {
                return new StopEvent.Stepped();
            }

            public Object interrupted() {
                return new StopEvent.Interrupted();
            }

            public Object caught(int vector, int errorCode) {
                return new StopEvent.ExceptionCaught(vector, errorCode >= 0 ? OptionalLong.of(errorCode) : OptionalLong.empty());
            }
        });
    }

    private static X86Reg engineRegister(Register r) {
        return switch (r) {
            case RAX -> X86Reg.RAX; case RBX -> X86Reg.RBX; case RCX -> X86Reg.RCX; case RDX -> X86Reg.RDX;
            case RSI -> X86Reg.RSI; case RDI -> X86Reg.RDI; case RBP -> X86Reg.RBP; case RSP -> X86Reg.RSP;
            case R8 -> X86Reg.R8; case R9 -> X86Reg.R9; case R10 -> X86Reg.R10; case R11 -> X86Reg.R11;
            case R12 -> X86Reg.R12; case R13 -> X86Reg.R13; case R14 -> X86Reg.R14; case R15 -> X86Reg.R15;
            case RIP -> X86Reg.RIP; case EFLAGS -> X86Reg.RFLAGS;
            case DS -> X86Reg.DS; case ES -> X86Reg.ES; case FS -> X86Reg.FS; case GS -> X86Reg.GS;
            case FS_BASE -> X86Reg.FS_BASE; case GS_BASE -> X86Reg.GS_BASE;
            default -> null;
        };
    }

    @Override
    public long readRegister(Register register) {
        ControlRegisters cr = cpu.controlRegisters();
        return switch (register) {
            case CS -> cpu.cs();
            case SS -> cpu.ss();
            case CR0 -> cr.cr0();
            case CR2 -> cr.cr2();
            case CR3 -> cr.cr3();
            case CR4 -> cr.cr4();
            case CR8 -> cr.cr8();
            case EFER -> cr.efer();
            default -> engine.readRegister(engineRegister(register));
        };
    }

    @Override
    public void writeRegister(Register register, long value) {
        X86Reg r = engineRegister(register);
        if (r == null || register == Register.DS || register == Register.ES || register == Register.FS || register == Register.GS) {
            throw new DebugTargetException(register.name().toLowerCase(Locale.ROOT)
                    + " cannot be written from the debugger (the guest's own MOV would check it)");
        }
        engine.writeRegister(r, value);
    }

    /** The physical address of {@code linear}, or -1: a probe, which changes nothing. */
    private long physical(long linear) {
        WalkResult w = machine.mmu().walker().probe(linear, AccessType.READ, AccessMode.IMPLICIT_SUPERVISOR, cpu.pagingState());
        return w instanceof Translation t ? t.physicalAddress() : -1;
    }

    @Override
    public int readMemory(long address, byte[] buffer, int offset, int length) {
        int done = 0;
        while (done < length) {
            long linear = address + done;
            int n = (int) Math.min(length - done, 0x1000 - (linear & 0xfff));
            long p = physical(linear);
            if (p < 0 || !machine.memory().isRam(p, n)) {
                break;
            }
            System.arraycopy(machine.memory().readBytes(p, n), 0, buffer, offset + done, n);
            done += n;
        }
        return done;
    }

    @Override
    public int writeMemory(long address, byte[] data, int offset, int length) {
        int done = 0;
        while (done < length) {
            long linear = address + done;
            int n = (int) Math.min(length - done, 0x1000 - (linear & 0xfff));
            long p = physical(linear); // the debugger writes past R/W, as gdb expects
            if (p < 0 || !machine.memory().isRam(p, n)) {
                break;
            }
            machine.memory().writeBytes(p, java.util.Arrays.copyOfRange(data, offset + done, offset + done + n));
            machine.cpu().ramWritten(p, n); // its frame's code, wherever the frame is mapped
            done += n;
        }
        if (done > 0) {
            // Code translated from the old bytes must go (DESIGN.md fact 12).
            engine.removeCodeCache(address & ~0xfffL, (address + done + 0xfff) & ~0xfffL);
        }
        return done;
    }

    private StopEvent toEvent(StopReason reason) {
        if (reason instanceof StopReason.DebugBreak b) {
            return (StopEvent) b.event();
        }
        exited = new StopEvent.Exited(reason.exitStatus(), reason.describe());
        return exited;
    }

    @Override
    public StopEvent resume() {
        return exited != null ? exited : toEvent(machine.run().reason());
    }

    @Override
    public StopEvent step() {
        return exited != null ? exited : toEvent(machine.step());
    }

    @Override
    public void interrupt() {
        cpu.requestDebugInterrupt();
    }

    @Override
    public void kill() {
        exited = new StopEvent.Exited(9, "killed by the debugger");
    }

    @Override
    public boolean insertBreakpoint(long address) {
        cpu.breakpoints().add(address);
        cpu.breakpointsChanged(address);
        return true;
    }

    @Override
    public boolean removeBreakpoint(long address) {
        boolean removed = cpu.breakpoints().remove(address);
        cpu.breakpointsChanged(address);
        return removed;
    }

    @Override
    public boolean insertWatchpoint(long address, int length, WatchKind kind) {
        if (!watchHookInstalled) {
            engine.hookMemoryAccesses(Unicorn.HOOK_MEM_READ | Unicorn.HOOK_MEM_WRITE, 1, 0, this::onAccess);
            cpu.memoryHooksAdded();
            watchHookInstalled = true;
        }
        watches.add(new Watch(address, length, kind));
        return true;
    }

    @Override
    public boolean removeWatchpoint(long address, int length, WatchKind kind) {
        return watches.remove(new Watch(address, length, kind));
    }

    private void onAccess(MemoryAccess type, long address, int size, long value) {
        for (Watch w : watches) {
            boolean overlaps = address < w.address() + w.length() && address + size > w.address();
            boolean kindMatches = w.kind() == WatchKind.ACCESS || (w.kind() == WatchKind.WRITE) == type.isWrite();
            if (overlaps && kindMatches) {
                cpu.watchpointHit(new StopEvent.WatchpointHit(w.address(), w.kind()));
                return;
            }
        }
    }

    @Override
    public void catchExceptions(Set<Integer> vectors) {
        cpu.catchVectors(vectors);
    }

    @Override
    public void catchStaleUses(boolean on) {
        var checker = machine.mmu().checker();
        if (checker == null) {
            throw new DebugTargetException("catch stale needs the TLB check: run pml4 with --check-tlb");
        }
        if (!staleListener) {
            staleListener = true;
            checker.addListener(f -> {
                if (catchingStale && f instanceof dev.pml4.mmu.TlbCheckFinding.StaleUse u) {
                    cpu.stopBeforeAccess(new StopReason.DebugBreak(new StopEvent.StaleUseCaught(u.describe(machine.symbols()))));
                }
            });
        }
        catchingStale = on;
    }

    @Override
    public String monitor(String command) {
        List<String> words = List.of(command.strip().split("\\s+"));
        try {
            return machine.inspector().answer(words.getFirst(), words.subList(1, words.size()));
        } catch (IllegalArgumentException e) {
            return "monitor: " + e.getMessage() + "\npml4 monitor commands: " + dev.pml4.inspect.Inspector.QUERIES + ", catch VEC..., uncatch\n";
        }
    }
}
