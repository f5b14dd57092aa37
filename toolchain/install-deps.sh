#!/usr/bin/env bash
# Installs what pml4 needs from Debian when it is missing: NASM and binutils to build guest
# kernels, the Unicorn and Capstone libraries the emulator binds to, Maven, and gdb for the
# debugger tests, and Graphviz for the page-table picture (--svg). Checks every time; assumes nothing left over from an earlier session.
set -euo pipefail
missing=()
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1" || [ -e "/usr/lib/x86_64-linux-gnu/$1" ]; }
command -v nasm >/dev/null 2>&1 || missing+=(nasm)
command -v ld >/dev/null 2>&1 || missing+=(binutils)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v gdb >/dev/null 2>&1 || missing+=(gdb)
command -v gcc >/dev/null 2>&1 || missing+=(gcc) # fast mode's helper (src/main/c)
command -v dot >/dev/null 2>&1 || missing+=(graphviz) # pml4 run --svg, the page-table picture
have_lib libunicorn.so.2 || missing+=(libunicorn2)
have_lib libcapstone.so.4 || missing+=(libcapstone4)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "pml4: installing ${missing[*]} from Debian's packages" >&2
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
