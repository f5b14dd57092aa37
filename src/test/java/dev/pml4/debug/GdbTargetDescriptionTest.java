package dev.pml4.debug;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** target.xml as gdb reads it through qXfer: well formed, and numbered the way the g packet is laid out. */
class GdbTargetDescriptionTest {

    static String targetXml() throws Exception {
        try (Harness h = new Harness()) {
            RspClient c = h.connect();
            StringBuilder xml = new StringBuilder();
            while (true) {
                String r = c.request("qXfer:features:read:target.xml:" + Integer.toHexString(xml.length()) + ",200");
                xml.append(r.substring(1));
                if (r.startsWith("l")) {
                    return xml.toString();
                }
            }
        }
    }

    static Document parse(String xml) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        DocumentBuilder b = f.newDocumentBuilder();
        return b.parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void describesTheX8664RegistersInGPacketOrder() throws Exception {
        Document d = parse(targetXml());
        assertEquals("i386:x86-64", d.getElementsByTagName("architecture").item(0).getTextContent());
        List<String> features = new ArrayList<>();
        NodeList fs = d.getElementsByTagName("feature");
        for (int i = 0; i < fs.getLength(); i++) {
            features.add(((Element) fs.item(i)).getAttribute("name"));
        }
        assertEquals(List.of("org.gnu.gdb.i386.core", "org.gnu.gdb.i386.segments", "org.pml4.system"), features);

        NodeList regs = d.getElementsByTagName("reg");
        List<String> names = new ArrayList<>();
        int bits = 0;
        for (int i = 0; i < regs.getLength(); i++) {
            Element r = (Element) regs.item(i);
            assertEquals(Integer.toString(i), r.getAttribute("regnum"), r.getAttribute("name"));
            names.add(r.getAttribute("name"));
            bits += Integer.parseInt(r.getAttribute("bitsize"));
        }
        assertEquals(List.of("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12",
                "r13", "r14", "r15", "rip", "eflags", "cs", "ss", "ds", "es", "fs", "gs",
                "st0", "st1", "st2", "st3", "st4", "st5", "st6", "st7",
                "fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop",
                "fs_base", "gs_base", "cr0", "cr2", "cr3", "cr4", "cr8", "efer"), names);
        assertEquals(GdbCommandsTest.REGISTER_HEX * 4, bits); // the g packet carries exactly these bits
        for (int i = 42; i < 48; i++) {
            assertEquals("system", ((Element) regs.item(i)).getAttribute("group"));
        }
    }

    @Test
    void flagsTypesNameTheControlBits() throws Exception {
        String xml = targetXml();
        Document d = parse(xml);
        NodeList flags = d.getElementsByTagName("flags");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < flags.getLength(); i++) {
            ids.add(((Element) flags.item(i)).getAttribute("id"));
        }
        assertEquals(List.of("i386_eflags", "pml4_cr0", "pml4_cr4", "pml4_efer"), ids);
        assertTrue(xml.contains("<field name=\"PG\" start=\"31\" end=\"31\"/>"));
        assertTrue(xml.contains("<field name=\"PCIDE\" start=\"17\" end=\"17\"/>"));
        assertTrue(xml.contains("<field name=\"NXE\" start=\"11\" end=\"11\"/>"));
        assertFalse(xml.contains("org.gnu.gdb.i386.linux"), "no orig_rax on bare metal");
    }
}
