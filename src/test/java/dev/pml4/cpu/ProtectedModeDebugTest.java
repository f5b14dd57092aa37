package dev.pml4.cpu;

import static org.junit.jupiter.api.Assertions.*;

import dev.pml4.debug.MachineDebugTarget;
import dev.pml4.debug.Register;
import dev.pml4.debug.StopEvent;

import org.junit.jupiter.api.Test;

/**
 * What the debugger (and gdb through it, with the x86-64 target description QEMU's gdbstub keeps
 * too) reads in 32-bit code: RIP is EIP, EFLAGS, the guest's segment selectors; stepping and a
 * breakpoint across the kernel's switch to long mode; the page-table views while paging is off.
 */
class ProtectedModeDebugTest {
    @Test
    void registersStepsAndBreakpointsIn32BitCode() throws Exception {
        try (var m = ProtectedModeMachine.of(ProtectedModeTest.LIB + """
                db 0x40                         ; INC EAX (one byte in 32-bit code)
                mov ebx, 0x1234
                """ + ModeTransitionsTest.TO_LONG_MODE.replace("long_mode:", "times 0x200 - ($ - $$) db 0\nlong_mode:") + """
                mov rax, 0x1122334455667788
                hlt
                """)) {
            var target = new MachineDebugTarget(m.machine);
            assertEquals(0x100000, target.readRegister(Register.RIP));
            assertEquals(0x08, target.readRegister(Register.CS));
            assertEquals(0x10, target.readRegister(Register.SS));
            assertEquals(0x10, target.readRegister(Register.DS));
            assertEquals(2, target.readRegister(Register.EFLAGS));
            assertEquals(ProtectedModeMachine.MAGIC, target.readRegister(Register.RAX));
            assertEquals(0x11, target.readRegister(Register.CR0));
            assertEquals(0, target.readRegister(Register.EFER));
            String pt = target.monitor("pt");
            assertTrue(pt.startsWith("paging is off (CR0.PG=0)"), pt);
            String walk = target.monitor("walk 0x123456");
            assertTrue(walk.contains("-> physical 0x123456 (no walk, no TLB entry)"), walk);

            assertInstanceOf(StopEvent.Stepped.class, target.step());
            assertEquals(0x100001, target.readRegister(Register.RIP), "INC EAX is one byte");
            assertEquals(ProtectedModeMachine.MAGIC + 1, target.readRegister(Register.RAX));
            target.step();
            assertEquals(0x100006, target.readRegister(Register.RIP));
            assertEquals(0x1234, target.readRegister(Register.RBX));

            target.insertBreakpoint(0x100200);
            assertEquals(new StopEvent.BreakpointHit(0x100200), target.resume());
            assertEquals(0x18, target.readRegister(Register.CS));
            assertEquals(0x500, target.readRegister(Register.EFER));
            assertTrue(target.monitor("walk 0x100200").contains("PDE"), "4-level walks once paging is on");
            target.step();
            assertEquals(0x1122334455667788L, target.readRegister(Register.RAX), "64-bit code after the far jump");
        }
    }
}
