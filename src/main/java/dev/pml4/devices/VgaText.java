package dev.pml4.devices;

/**
 * A VGA adapter in 80×25 colour text mode, as a BIOS leaves it for a kernel (mode 3).
 *
 * <h2>The model</h2>
 * The text buffer 0xB8000–0xBFFFF is ordinary RAM (pml4's RAM is mapped from physical 0, and the
 * buffer lies inside it): the guest writes cells with plain stores at full speed, through its page
 * tables like any other memory, and the adapter reads the buffer only when the screen is shown
 * ({@link #screen}). The guest can read back what it wrote, as on hardware. Nothing here ever
 * changes what the guest sees, so showing the screen (at the end, or while it runs) cannot change a
 * run. What pml4 does not model: planar graphics modes, the font RAM in plane 2, and the
 * odd/even addressing that makes the buffer's RAM-ness visible to a guest that reprograms the
 * sequencer or graphics controller (it would see memory, not planes).
 *
 * <h2>Ports</h2>
 * The registers tutorial kernels touch are kept and read back, so that a kernel sees what it set
 * (IBM VGA Technical Reference; the index/data pairs):
 * <ul>
 *   <li>0x3D4/0x3D5 CRT controller (25 registers): 0x0A/0x0B cursor start and end (bit 5 of 0x0A
 *       hides the cursor), 0x0C/0x0D start address, 0x0E/0x0F cursor location; a 16-bit OUT to
 *       0x3D4 writes index and data at once;</li>
 *   <li>0x3C4/0x3C5 sequencer, 0x3CE/0x3CF graphics controller, 0x3C0/0x3C1 attribute controller
 *       (index and data through one flip-flop, reset by reading 0x3DA), 0x3C2/0x3CC misc output,
 *       0x3C6–0x3C9 DAC mask, indexes and data, 0x3CA/0x3DA feature control;</li>
 *   <li>0x3DA input status 1: the display-enable and vertical-retrace bits (0 and 3) toggle on
 *       every read, so that a kernel waiting for a retrace to begin and end finds both at once
 *       and at the same instruction every run (virtual time has no beam).</li>
 * </ul>
 * The monochrome addresses 0x3B4/0x3B5/0x3BA are not decoded: the misc output register selects
 * colour (bit 0 set), as mode 3 has it.
 */
public final class VgaText implements PortDevice {
    /** First and last port of the adapter's colour-mode registers. */
    public static final int FIRST_PORT = 0x3C0;
    public static final int LAST_PORT = 0x3DF;
    /** The text buffer: 32 KiB from 0xB8000, of which a page of 80×25 cells is shown. */
    public static final long BUFFER = 0xB8000;
    public static final int BUFFER_BYTES = 0x8000;
    public static final int COLUMNS = 80;
    public static final int ROWS = 25;
    /** A blank cell as a BIOS leaves the screen: a space, light grey on black. */
    public static final int BLANK_CELL = 0x0720;

    private static final int CRTC_INDEX = 0x3D4;
    private static final int CRTC_DATA = 0x3D5;
    private static final int INPUT_STATUS_1 = 0x3DA;
    private static final int ATTRIBUTE = 0x3C0;
    private static final int ATTRIBUTE_READ = 0x3C1;
    private static final int MISC_WRITE = 0x3C2;
    private static final int SEQUENCER_INDEX = 0x3C4;
    private static final int SEQUENCER_DATA = 0x3C5;
    private static final int DAC_MASK = 0x3C6;
    private static final int DAC_READ_INDEX = 0x3C7;
    private static final int DAC_WRITE_INDEX = 0x3C8;
    private static final int DAC_DATA = 0x3C9;
    private static final int FEATURE_READ = 0x3CA;
    private static final int MISC_READ = 0x3CC;
    private static final int GRAPHICS_INDEX = 0x3CE;
    private static final int GRAPHICS_DATA = 0x3CF;

    private static final int CURSOR_START = 0x0A;
    private static final int CURSOR_END = 0x0B;
    private static final int START_HIGH = 0x0C;
    private static final int START_LOW = 0x0D;
    private static final int CURSOR_HIGH = 0x0E;
    private static final int CURSOR_LOW = 0x0F;
    /** CRTC register 0x0A bit 5: cursor disable. */
    private static final int CURSOR_DISABLE = 0x20;

    /** Reads guest physical memory (the text buffer). */
    public interface Memory {
        byte[] read(long address, int length);
    }

    private final Memory memory;
    private final int[] crtc = new int[0x19];
    private final int[] sequencer = new int[5];
    private final int[] graphics = new int[9];
    private final int[] attribute = new int[0x15];
    private final int[] dac = new int[256 * 3];
    private int crtcIndex;
    private int sequencerIndex;
    private int graphicsIndex;
    private int attributeIndex;
    private boolean attributeData;
    private int misc = 0x67; // mode 3: colour addresses (bit 0), RAM enabled, 28 MHz clock
    private int feature;
    private int dacMask = 0xFF;
    private int dacRead;
    private int dacWrite;
    private int status;

    public VgaText(Memory memory) {
        this.memory = memory;
        // Mode 3 as the BIOS sets it: an underline cursor in scan lines 14–15 of the 16, at 0,0.
        crtc[CURSOR_START] = 0x0E;
        crtc[CURSOR_END] = 0x0F;
    }

    /** The bytes a BIOS leaves in the whole buffer: blank cells. */
    public static byte[] blankBuffer() {
        byte[] b = new byte[BUFFER_BYTES];
        for (int i = 0; i < b.length; i += 2) {
            b[i] = (byte) BLANK_CELL;
            b[i + 1] = (byte) (BLANK_CELL >> 8);
        }
        return b;
    }

    /** The screen as it shows now: the 80×25 cells from the CRTC start address, and the cursor. */
    public VgaScreen screen() {
        int start = ((crtc[START_HIGH] << 8) | crtc[START_LOW]) * 2 % BUFFER_BYTES;
        byte[] bytes = memory.read(BUFFER + start, COLUMNS * ROWS * 2);
        int[] cells = new int[COLUMNS * ROWS];
        for (int i = 0; i < cells.length; i++) {
            cells[i] = (bytes[2 * i] & 0xFF) | (bytes[2 * i + 1] & 0xFF) << 8;
        }
        int cursor = ((crtc[CURSOR_HIGH] << 8) | crtc[CURSOR_LOW]) - start / 2;
        boolean visible = (crtc[CURSOR_START] & CURSOR_DISABLE) == 0 && cursor >= 0 && cursor < cells.length;
        return new VgaScreen(cells, visible ? cursor : -1, crtc[CURSOR_START] & 0x1F, crtc[CURSOR_END] & 0x1F);
    }

    @Override
    public int in(int port, int size) {
        if (size == 2) {
            return in(port, 1) | in(port + 1, 1) << 8;
        }
        return switch (port) {
            case CRTC_INDEX -> crtcIndex;
            case CRTC_DATA -> crtcIndex < crtc.length ? crtc[crtcIndex] : 0xFF;
            case SEQUENCER_INDEX -> sequencerIndex;
            case SEQUENCER_DATA -> sequencerIndex < sequencer.length ? sequencer[sequencerIndex] : 0xFF;
            case GRAPHICS_INDEX -> graphicsIndex;
            case GRAPHICS_DATA -> graphicsIndex < graphics.length ? graphics[graphicsIndex] : 0xFF;
            case ATTRIBUTE -> attributeIndex;
            case ATTRIBUTE_READ -> (attributeIndex & 0x1F) < attribute.length ? attribute[attributeIndex & 0x1F] : 0xFF;
            case MISC_READ -> misc;
            case FEATURE_READ -> feature;
            case DAC_MASK -> dacMask;
            case DAC_WRITE_INDEX -> dacWrite / 3;
            case DAC_DATA -> dac[dacRead++ % dac.length];
            case INPUT_STATUS_1 -> {
                attributeData = false; // reading input status 1 resets the attribute flip-flop
                status ^= 0x09;
                yield status;
            }
            default -> 0xFF; // the rest of 0x3C0–0x3DF: nothing to read
        };
    }

    @Override
    public void out(int port, int size, int value) {
        if (size == 2) { // OUT DX, AX: the index to the port, the data to the next one
            out(port, 1, value & 0xFF);
            out(port + 1, 1, (value >>> 8) & 0xFF);
            return;
        }
        int v = value & 0xFF;
        switch (port) {
            case CRTC_INDEX -> crtcIndex = v;
            case CRTC_DATA -> {
                if (crtcIndex < crtc.length) {
                    crtc[crtcIndex] = v;
                }
            }
            case SEQUENCER_INDEX -> sequencerIndex = v;
            case SEQUENCER_DATA -> {
                if (sequencerIndex < sequencer.length) {
                    sequencer[sequencerIndex] = v;
                }
            }
            case GRAPHICS_INDEX -> graphicsIndex = v;
            case GRAPHICS_DATA -> {
                if (graphicsIndex < graphics.length) {
                    graphics[graphicsIndex] = v;
                }
            }
            case ATTRIBUTE -> {
                if (!attributeData) {
                    attributeIndex = v;
                } else if ((attributeIndex & 0x1F) < attribute.length) {
                    attribute[attributeIndex & 0x1F] = v;
                }
                attributeData = !attributeData;
            }
            case MISC_WRITE -> misc = v;
            case INPUT_STATUS_1 -> feature = v; // writing 0x3DA is feature control
            case DAC_MASK -> dacMask = v;
            case DAC_READ_INDEX -> dacRead = v * 3;
            case DAC_WRITE_INDEX -> dacWrite = v * 3;
            case DAC_DATA -> dac[dacWrite++ % dac.length] = v & 0x3F;
            default -> {
                // other ports of the range decode to nothing on a VGA in colour mode; quietly ignored
            }
        }
    }
}
