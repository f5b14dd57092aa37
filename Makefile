# pml4: two commands do all the set-up on a fresh machine.
#   make run    builds pml4 and the guest kernels, and boots the demo kernel
#   make test   builds everything and runs every test
SHELL := /bin/bash
.DEFAULT_GOAL := run

MVN_FLAGS ?= -B --no-transfer-progress
# Maven 3.8's own Guava calls sun.misc.Unsafe, which JDK 23+ warns about on every build.
export MAVEN_OPTS ?= --sun-misc-unsafe-memory-access=allow
GUEST_OUT := guest/build

.PHONY: run test build guests deps jdk bench clean aot

deps:
	@toolchain/install-deps.sh

jdk: deps
	@toolchain/find-jdk.sh >/dev/null

build: jdk
	JAVA_HOME=$$(toolchain/find-jdk.sh) mvn $(MVN_FLAGS) -q package -DskipTests
	toolchain/find-jdk.sh > target/java-home

# The JVM's ahead-of-time cache (JDK 24+), trained by booting hello: bin/pml4 starts faster with it.
aot: build guests
	@rm -f target/pml4.aot
	PML4_AOT_TRAIN=target/pml4.aot bin/pml4 run $(GUEST_OUT)/hello.elf > /dev/null || [ $$? -eq 1 ]

guests: deps
	toolchain/build-guests.sh $(GUEST_OUT)

run: aot
	bin/pml4 run --stats $(GUEST_OUT)/demo.elf

test: jdk guests
	JAVA_HOME=$$(toolchain/find-jdk.sh) mvn $(MVN_FLAGS) verify

bench: aot
	bin/pml4 bench

clean:
	rm -rf target $(GUEST_OUT)
