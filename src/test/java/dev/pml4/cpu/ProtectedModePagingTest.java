package dev.pml4.cpu;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * CPL 3 code under 32-bit and PAE paging (SDM Vol. 3A 4.3, 4.4, 4.6): a user read of a supervisor
 * page raises #PF with error code 0x5, delivered through the 32-bit IDT on the TSS's SS0:ESP0 with
 * the 32-bit frame (error code, EIP, CS, EFLAGS, ESP, SS), and CR2 holds the address.
 */
class ProtectedModePagingTest {

    /** Column pae: 0 for 32-bit paging (4 MiB pages), 1 for PAE paging (2 MiB pages). */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"32-bit paging, 0", "PAE paging, 1"})
    void aUserReadOfASupervisorPageFaultsOnTheTssStack(String name, int pae) throws Exception {
        try (var m = ProtectedModeMachine.of(ProtectedModeTest.LIB + ProtectedModeInterruptsTest.SETUP + "%define PAE " + pae + "\n" + """
                mov eax, pf
                mov [idt + 14 * 8], ax
                mov word [idt + 14 * 8 + 2], 0x08
                mov word [idt + 14 * 8 + 4], 0x8e00
                shr eax, 16
                mov [idt + 14 * 8 + 6], ax
            %if PAE
                mov dword [0x31000], 0x32001        ; PDPTE 0 -> the PD at 0x32000 (P only)
                mov dword [0x32000], 0x0000e7       ; PDE 0: 2 MiB at 0, P W U A D PS
                mov dword [0x32010], 0x4000e3       ; PDE 2: 2 MiB at 4 MiB, P W A D PS: supervisor
                mov eax, cr4
                or eax, 1 << 5
                mov cr4, eax
                mov eax, 0x31000
            %else
                mov dword [0x30000], 0x0000e7       ; PDE 0: 4 MiB at 0, P W U A D PS
                mov dword [0x30004], 0x4000e3       ; PDE 1: 4 MiB at 4 MiB, P W A D PS: supervisor
                mov eax, cr4
                or eax, 1 << 4                      ; PSE
                mov cr4, eax
                mov eax, 0x30000
            %endif
                mov cr3, eax
                mov eax, cr0
                or eax, 1 << 31
                mov cr0, eax
                mov esp, 0x90000
                push dword 0x23                     ; to CPL 3: SS, ESP, EFLAGS, CS, EIP
                push dword 0x70000
                push dword 0x3002
                push dword 0x1b
                push dword user
                iretd
            user:
                putc 'U'
                mov eax, [0x400000]                 ; a supervisor page
                exit 1
            divide_error:                           ; the SETUP's other gates, not used here
            int30:
            int80:
                exit 2
            pf:
                mov eax, cr2
                mov [0x8000], eax
                mov eax, [esp]                      ; the error code
                mov [0x8004], eax
                mov [0x8008], esp
                mov eax, [esp + 16]                 ; the user ESP in the frame
                mov [0x800c], eax
                exit 0
                """)) {
            var r = m.run();
            assertEquals(1, r.exitStatus(), r.reason().describe());
            assertEquals("U", m.serial());
            var mem = m.machine.memory();
            assertEquals(0x400000, mem.read32(0x8000), "CR2");
            assertEquals(0x5, mem.read32(0x8004), "P, read, user");
            assertEquals(0x80000 - 24, mem.read32(0x8008), "error code, EIP, CS, EFLAGS, ESP, SS on ESP0");
            assertEquals(0x70000, mem.read32(0x800c));
            assertEquals(0, m.cpu().cpl());
            assertEquals(pae == 1 ? dev.pml4.mmu.PagingMode.PAE : dev.pml4.mmu.PagingMode.BITS_32, m.cpu().pagingState().mode());
        }
    }
}
