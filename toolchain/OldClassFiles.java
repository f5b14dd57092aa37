import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.classfile.ClassElement;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassFileVersion;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.ClassModel;
import java.lang.classfile.CodeElement;
import java.lang.classfile.CodeModel;
import java.lang.classfile.MethodElement;
import java.lang.classfile.MethodModel;
import java.lang.classfile.attribute.StackMapTableAttribute;
import java.lang.constant.ClassDesc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * {@code java toolchain/OldClassFiles.java JAR}: rewrites the class files of JAR older than Java 6
 * (version 50) as version 52 class files with stack maps, in place, so that the JDK's AOT cache
 * can keep them (run by {@code make aot}; JDK 24+, whose ClassFile API does the work).
 *
 * <p>Why: picocli's jar is compiled for Java 5. The JVM verifies such classes with the old
 * type-inferencing verifier, whose results the AOT cache cannot record, so it leaves every one of
 * them out ("Skipping picocli/...: Old class has been linked") and each run of pml4 loaded, parsed
 * and verified ~150 picocli classes from the jar and ran them without training data. The code is
 * unchanged: only the version and the stack maps (computed by the ClassFile API from the code) are
 * new, and every rewritten class is checked with the ClassFile API's verifier before the jar is
 * replaced.
 */
public final class OldClassFiles {
    private static final int JAVA_6 = 50;
    private static final int JAVA_8 = 52;

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: java toolchain/OldClassFiles.java JAR");
            System.exit(2);
        }
        Path jar = Path.of(args[0]);
        Map<String, byte[]> entries = new LinkedHashMap<>();
        Map<String, Long> times = new LinkedHashMap<>();
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(jar))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                entries.put(e.getName(), in.readAllBytes());
                times.put(e.getName(), e.getTime());
            }
        }
        // Stack maps need the common superclass at every merge point: the jar's own classes, then the JDK's.
        ClassHierarchyResolver fromJar = ClassHierarchyResolver.ofResourceParsing((ClassDesc c) -> {
            String d = c.descriptorString();
            byte[] b = entries.get(d.substring(1, d.length() - 1) + ".class");
            return b == null ? null : new ByteArrayInputStream(b);
        });
        ClassFile classFile = ClassFile.of(ClassFile.ClassHierarchyResolverOption.of(
                fromJar.orElse(ClassHierarchyResolver.defaultResolver()).cached()));
        int rewritten = 0;
        for (Map.Entry<String, byte[]> e : entries.entrySet()) {
            if (!e.getKey().endsWith(".class") || e.getKey().startsWith("META-INF/versions/")) {
                continue;
            }
            ClassModel old = classFile.parse(e.getValue());
            if (old.majorVersion() >= JAVA_6) {
                continue;
            }
            byte[] upgraded = upgrade(classFile, old);
            List<VerifyError> errors = classFile.verify(upgraded);
            if (!errors.isEmpty()) {
                throw new IllegalStateException(e.getKey() + " does not verify once rewritten: " + errors.getFirst());
            }
            e.setValue(upgraded);
            rewritten++;
        }
        if (rewritten == 0) {
            return;
        }
        Path tmp = Files.createTempFile(jar.toAbsolutePath().getParent(), "pml4", ".jar");
        try {
            Files.setPosixFilePermissions(tmp, Files.getPosixFilePermissions(jar));
            try (OutputStream file = Files.newOutputStream(tmp); ZipOutputStream out = new ZipOutputStream(file)) {
                for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                    ZipEntry entry = new ZipEntry(e.getKey());
                    entry.setTime(times.get(e.getKey()));
                    out.putNextEntry(entry);
                    out.write(e.getValue());
                    out.closeEntry();
                }
            }
            Files.move(tmp, jar, StandardCopyOption.REPLACE_EXISTING); // the jar is whole or as it was
        } finally {
            Files.deleteIfExists(tmp);
        }
        System.out.println("OldClassFiles: " + rewritten + " classes of " + jar + " rewritten as Java 8 class files");
    }

    /** The same class as a version 52 class file: built afresh, so that the stack maps are generated. */
    private static byte[] upgrade(ClassFile classFile, ClassModel old) {
        return classFile.build(old.thisClass().asSymbol(), cb -> {
            cb.withVersion(JAVA_8, 0);
            for (ClassElement ce : old) {
                if (ce instanceof ClassFileVersion) {
                    continue;
                }
                if (!(ce instanceof MethodModel m)) {
                    cb.with(ce);
                    continue;
                }
                cb.withMethod(m.methodName(), m.methodType(), m.flags().flagsMask(), mb -> {
                    for (MethodElement me : m) {
                        if (me instanceof CodeModel code) {
                            mb.withCode(xb -> {
                                for (CodeElement ie : code) {
                                    if (!(ie instanceof StackMapTableAttribute)) {
                                        xb.with(ie);
                                    }
                                }
                            });
                        } else {
                            mb.with(me);
                        }
                    }
                });
            }
        });
    }
}
