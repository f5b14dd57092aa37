package dev.pml4.api;

import dev.pml4.cpu.Cpu;
import dev.pml4.cpu.ExecutionObserver;
import dev.pml4.mmu.AccessType;
import dev.pml4.mmu.Mmu;
import dev.pml4.mmu.Tlb;
import dev.pml4.mmu.TlbEntry;
import dev.pml4.mmu.WalkResult;

import java.util.List;

/**
 * Turns what the processor and the MMU report into {@link GuestListener} events, and passes every
 * report on to the tracer as well when the run is traced (the processor and the MMU each keep one
 * observer).
 */
final class Events implements ExecutionObserver, Mmu.Listener {
    private final Cpu cpu;
    private final List<GuestListener> listeners;
    private final ExecutionObserver tracer;
    private final Mmu.Listener tracerMmu;

    Events(Cpu cpu, List<GuestListener> listeners, ExecutionObserver tracer, Mmu.Listener tracerMmu) {
        this.cpu = cpu;
        this.listeners = List.copyOf(listeners);
        this.tracer = tracer;
        this.tracerMmu = tracerMmu;
    }

    @Override
    public void instruction(long count, long rip, int size) {
        tracer.instruction(count, rip, size);
    }

    @Override
    public void delivered(String chain, int vector, int errorCode, long cr2, long handler, int newCpl, long frameAddress, long[] frame) {
        tracer.delivered(chain, vector, errorCode, cr2, handler, newCpl, frameAddress, frame);
        Fault fault = new Fault(vector, errorCode, cr2, handler, newCpl, chain);
        for (GuestListener l : listeners) {
            l.fault(fault);
        }
    }

    @Override
    public void controlRegister(String register, long oldValue, long newValue) {
        tracer.controlRegister(register, oldValue, newValue);
    }

    @Override
    public void port(boolean out, int port, int size, long value) {
        tracer.port(out, port, size, value);
    }

    @Override
    public void walked(Tlb.Kind kind, AccessType type, WalkResult result) {
        tracerMmu.walked(kind, type, result);
        Walk walk = Walk.of(result, type, cpu.cpl() == 3);
        for (GuestListener l : listeners) {
            l.walk(walk);
        }
    }

    @Override
    public void filled(Tlb.Kind kind, TlbEntry entry, List<TlbEntry> evicted) {
        tracerMmu.filled(kind, entry, evicted);
        TlbEvent event = new TlbEvent(TlbEvent.Kind.FILL, kind, List.of(entry), evicted, "walk");
        for (GuestListener l : listeners) {
            l.tlb(event);
        }
    }

    @Override
    public void invalidated(String cause, List<TlbEntry> entries) {
        tracerMmu.invalidated(cause, entries);
        TlbEvent event = new TlbEvent(TlbEvent.Kind.INVALIDATE, null, entries, List.of(), cause);
        for (GuestListener l : listeners) {
            l.tlb(event);
        }
    }
}
