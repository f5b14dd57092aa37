package dev.pml4.cpu;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/**
 * The translation guard in 32-bit code: it decodes at the code's size, so an instruction valid only
 * outside 64-bit mode runs, and one the engine cannot take raises #UD at its own EIP through the
 * 32-bit IDT, also from the middle of a block.
 */
class ProtectedModeGuardTest {
    @Test
    void lockableIn32BitCodeRunsAndLockCmpsbIsUndefinedAtItsOwnEip() throws Exception {
        try (var m = ProtectedModeMachine.of(ProtectedModeTest.LIB + """
                lgdt [gdtr]
                lidt [idtr]
                jmp start
            align 8
            gdt:
                dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
            gdtr:
                dw $ - gdt - 1
                dd gdt
            align 8
            idt:
                times 6 dq 0
                dw (invalid_opcode - $$ + 0x100000) & 0xffff, 0x08
                db 0, 0x8e
                dw (invalid_opcode - $$ + 0x100000) >> 16
            idtr:
                dw $ - idt - 1
                dd idt
            start:
                mov esp, 0x90000
                mov dword [0x8004], bad - $$ + 0x100000
                db 0xf0, 0x82, 0x05                 ; LOCK ADD byte [0x8020], 5: opcode 82 is #UD only in 64-bit mode
                dd 0x8020
                db 5
                mov esi, 0x8020
                mov edi, 0x8020
                nop
            bad:
                db 0xf0, 0xa6                       ; LOCK CMPSB: #UD (SDM), and it aborts Unicorn's translator
                putc 'R'
                exit 0
            invalid_opcode:
                mov eax, [esp]
                mov [0x8000], eax                   ; the EIP in the frame
                add dword [esp], 2
                putc 'U'
                iretd
                """)) {
            var r = m.run();
            assertEquals(1, r.exitStatus(), r.reason().describe());
            assertEquals("UR", m.serial());
            var mem = m.machine.memory();
            assertEquals(5, mem.read32(0x8020) & 0xff, "LOCK ADD with opcode 82 ran in 32-bit code");
            assertEquals(mem.read32(0x8004), mem.read32(0x8000), "#UD names the LOCK CMPSB's own EIP");
        }
    }
}
