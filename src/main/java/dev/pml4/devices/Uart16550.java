package dev.pml4.devices;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/**
 * A 16550A UART (COM1 at 0x3F8, BOOT.md), honest enough for a polling driver: the transmitter is
 * always ready (THRE and TEMT set), so every byte written to THR goes straight out; DR tells
 * whether a received byte waits. Registers follow the 16550D data sheet (National Semiconductor,
 * table 2): offset 0 RBR/THR (DLL with LCR.DLAB), 1 IER (DLM), 2 IIR/FCR, 3 LCR, 4 MCR, 5 LSR,
 * 6 MSR, 7 SCR. Interrupts (IRQ 4) come with the interrupt controller.
 */
public final class Uart16550 implements PortDevice {
    public static final int COM1 = 0x3f8;

    static final int LSR_DR = 0x01;
    static final int LSR_THRE = 0x20;
    static final int LSR_TEMT = 0x40;
    private static final int LCR_DLAB = 0x80;
    private static final int MCR_LOOP = 0x10;

    private final int base;
    private final OutputStream out;
    private final SerialInput input;
    private int ier;
    private int lcr;
    private int mcr;
    private int scr;
    private int dll = 1;
    private int dlm;
    private int fcr;
    private int loopbackByte = -1;
    private long transmitted;

    public Uart16550(int base, OutputStream out, SerialInput input) {
        this.base = base;
        this.out = out;
        this.input = input;
    }

    public long transmitted() {
        return transmitted;
    }

    @Override
    public int in(int port, int size) {
        int reg = port - base;
        boolean dlab = (lcr & LCR_DLAB) != 0;
        return switch (reg) {
            case 0 -> dlab ? dll : receive();
            case 1 -> dlab ? dlm : ier;
            case 2 -> (fcr & 1) != 0 ? 0xc1 : 0x01; // no interrupt pending; FIFOs enabled bits 7:6
            case 3 -> lcr;
            case 4 -> mcr;
            case 5 -> LSR_THRE | LSR_TEMT | (dataReady() ? LSR_DR : 0);
            case 6 -> (mcr & MCR_LOOP) != 0 // loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD
                    ? ((mcr & 1) << 5) | ((mcr & 2) << 3) | ((mcr & 4) << 4) | ((mcr & 8) << 4)
                    : 0xb0; // DCD, DSR, CTS
            case 7 -> scr;
            default -> 0xff;
        };
    }

    private boolean dataReady() {
        if ((mcr & MCR_LOOP) != 0) {
            return loopbackByte >= 0;
        }
        return input.ready();
    }

    private int receive() {
        if ((mcr & MCR_LOOP) != 0) {
            int b = Math.max(loopbackByte, 0);
            loopbackByte = -1;
            return b;
        }
        return input.take();
    }

    @Override
    public void out(int port, int size, int value) {
        int reg = port - base;
        int v = value & 0xff;
        boolean dlab = (lcr & LCR_DLAB) != 0;
        switch (reg) {
            case 0 -> {
                if (dlab) {
                    dll = v;
                } else {
                    transmit(v);
                }
            }
            case 1 -> {
                if (dlab) {
                    dlm = v;
                } else {
                    ier = v & 0x0f;
                }
            }
            case 2 -> fcr = v;
            case 3 -> lcr = v;
            case 4 -> mcr = v & 0x1f;
            case 7 -> scr = v;
            default -> {
                // LSR and MSR are read-only.
            }
        }
    }

    private void transmit(int b) {
        if ((mcr & MCR_LOOP) != 0) {
            // Loopback mode (MCR bit 4): the byte comes back on the receiver, as drivers' self-tests expect.
            loopbackByte = b;
            return;
        }
        try {
            out.write(b);
            if (b == '\n') {
                out.flush();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing serial output", e);
        }
        transmitted++;
    }

    public void flush() {
        try {
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("writing serial output", e);
        }
    }
}
