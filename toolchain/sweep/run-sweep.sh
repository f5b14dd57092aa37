#!/usr/bin/env bash
# run-sweep.sh — sweep the opcode space for forms that abort, crash or hang Unicorn's translator,
# and write them to toolchain/sweep/bad-forms.tsv (the data EngineAbortFormsTest checks pml4's
# guard against). Run it again whenever the engine (libunicorn) changes.
#
# Usage:  toolchain/sweep/run-sweep.sh [OUT.tsv]
# Needs:  gcc and libunicorn-dev (apt-get install gcc libunicorn-dev); not needed by `make test`.
# Takes:  about 1.5 minutes (143,424 forms, one forked child each).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/bad-forms.tsv}
command -v gcc >/dev/null || { echo "run-sweep.sh: gcc is missing (apt-get install gcc)" >&2; exit 2; }
[[ -f /usr/include/unicorn/unicorn.h ]] || { echo "run-sweep.sh: libunicorn-dev is missing (apt-get install libunicorn-dev)" >&2; exit 2; }
bin=$(mktemp -d)/opcode-sweep
trap 'rm -rf "$(dirname "$bin")"' EXIT
gcc -O2 -Wall -o "$bin" "$here/opcode-sweep.c" -lunicorn
version=$(dpkg-query -W -f='${Version}' libunicorn2 2>/dev/null || echo unknown)
{
    echo "# Instruction forms on which libunicorn2 $version (UC_MODE_64, a code hook on every instruction)"
    echo "# aborts, crashes or hangs the process: toolchain/sweep/run-sweep.sh, $(date -u +%Y-%m-%d)."
    echo "# Swept: 1-byte, 0F, 0F 38, 0F 3A opcodes x prefixes {none, F0, F2, F3, 66, 48, F3 F0, 66 F0, F0 48}"
    echo "# x ModRM {mod=3, mod=0} x reg 0-7, followed by 01 01 01 01 (any immediate)."
    printf '# bytes\toutcome\tmap\tprefixes\tmodrm\n'
    "$bin"
} > "$out"
echo "run-sweep.sh: $(grep -vc '^#' "$out") bad forms in $out"
