# pml4: two commands do all the set-up on a fresh machine.
#   make run    builds pml4 and the guest kernels, and boots the demo kernel
#   make test   builds everything and runs every test
SHELL := /bin/bash
.DEFAULT_GOAL := run

MVN_FLAGS ?= -B --no-transfer-progress
# Maven 3.8's own Guava calls sun.misc.Unsafe, which JDK 23+ warns about on every build.
export MAVEN_OPTS ?= --sun-misc-unsafe-memory-access=allow
GUEST_OUT := guest/build

.PHONY: run test build guests deps jdk bench clean aot aot-cache native

deps:
	@toolchain/install-deps.sh

jdk: deps
	@toolchain/find-jdk.sh >/dev/null

build: jdk
	JAVA_HOME=$$(toolchain/find-jdk.sh) mvn $(MVN_FLAGS) -q package -DskipTests
	toolchain/find-jdk.sh > target/java-home
	$(MAKE) --no-print-directory native

# Fast mode's native helper (src/main/c/pml4fast.c, issue 12); without it pml4 runs in precise mode.
native: target/libpml4fast.so

target/libpml4fast.so: src/main/c/pml4fast.c src/main/c/pml4tlb.c
	@mkdir -p target
	gcc -O2 -Wall -shared -fPIC -o $@ $^ -l:libunicorn.so.2

# The JVM's ahead-of-time cache (JDK 25: JEP 483/514/515), trained by booting hello: bin/pml4
# starts faster with it (README, "Start-up"). OldClassFiles first makes picocli's Java 5 classes
# ones the cache can keep (JDK 24+). The JVM writes the cache in a child process whose failure does
# not change the training run's status, hence the check; on an older JDK pml4 runs without a cache.
aot: build guests
	@$(MAKE) --no-print-directory aot-cache

# The cache alone, from the jar as it is (make test builds the jar through verify).
aot-cache:
	@rm -f target/pml4.aot
	@$$(cat target/java-home)/bin/java toolchain/OldClassFiles.java target/pml4.jar \
		|| echo "make aot: picocli stays Java 5 bytecode, which the AOT cache leaves out (JDK 24+ rewrites it)" >&2
	PML4_AOT_TRAIN=target/pml4.aot bin/pml4 run $(GUEST_OUT)/hello.elf > /dev/null || [ $$? -eq 1 ]
	@test -s target/pml4.aot || { rm -f target/pml4.aot; \
		echo "make aot: the JVM wrote no AOT cache (it takes JDK 25): bin/pml4 starts without one" >&2; }

guests: deps
	toolchain/build-guests.sh $(GUEST_OUT)

run: aot
	bin/pml4 run --stats $(GUEST_OUT)/demo.elf

# The AOT cache last: verify packages the jar, and bin/pml4 skips a cache older than its jar.
test: jdk guests native
	JAVA_HOME=$$(toolchain/find-jdk.sh) mvn $(MVN_FLAGS) verify
	toolchain/find-jdk.sh > target/java-home
	$(MAKE) --no-print-directory aot-cache

bench: aot
	bin/pml4 bench

clean:
	rm -rf target $(GUEST_OUT)
