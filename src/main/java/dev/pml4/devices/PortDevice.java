package dev.pml4.devices;

/** A device on the I/O port bus. {@code size} is the access width in bytes (1, 2 or 4). */
public interface PortDevice {
    int in(int port, int size);

    void out(int port, int size, int value);
}
