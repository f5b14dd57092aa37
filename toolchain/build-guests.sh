#!/usr/bin/env bash
# build-guests.sh — assemble and link every guest kernel, guest/*.asm and guest/labs/LAB/*.asm, for pml4.
#
# Usage:  toolchain/build-guests.sh [-f|--force] [-q|--quiet] [OUTDIR]
#   OUTDIR   where the images go (default: guest/build in this repository); relative to the
#            directory you call it from. Created if missing.
#   --force  rebuild everything, even what looks up to date.
#   --quiet  print nothing but errors.
# Runs from any directory; sources are found relative to this script (../guest).
#
# A lab's kernels, guest/labs/LAB/NAME.asm, go to OUTDIR/labs/LAB/ (and may include files of their
# own folder as well as guest/lib); they are not booted by GuestKernelsTest, which takes guest/*.asm
# only, so a lab may keep kernels that fail on purpose (a student skeleton, an engine crash).
#
# For each guest/NAME.asm it makes, in OUTDIR:
#   NAME.elf   an ELF64 ET_EXEC kernel (the default):
#                nasm -f elf64 -I guest/lib/ -o OUTDIR/NAME.o guest/NAME.asm
#                ld -n -nostdlib -static -T toolchain/kernel.ld -o OUTDIR/NAME.elf OUTDIR/NAME.o
#              plus NAME.o, NAME.map (ld's link map) and NAME.lst (nasm's listing)
#   NAME.elf   an ELF32 i386 kernel (marker `; pml4-image: elf32`), for Multiboot kernels that
#              enter in 32-bit protected mode:
#                nasm -f elf32 -I guest/lib/ -o OUTDIR/NAME.o guest/NAME.asm
#                ld -m elf_i386 -n -nostdlib -static -T toolchain/kernel32.ld -o OUTDIR/NAME.elf OUTDIR/NAME.o
#   NAME.bin   a flat binary (with the marker below): nasm -f bin -I guest/lib/ ...
#              plus NAME.lst, and NAME.map (NASM's symbol map, which pml4 reads for symbols)
#
# Markers, read from the first 5 lines of NAME.asm (by convention the very first lines):
#   ; pml4-image: flat                   build a flat binary, NAME.bin, loaded and entered at
#                                        0x100000 (the source says `org 0x100000`). Put it on
#                                        line 1.
#   ; pml4-image: elf                    build an ELF kernel, NAME.elf (also the default when
#                                        there is no image marker).
#   ; pml4-image: elf32                  build an ELF32 kernel, NAME.elf, linked with
#                                        toolchain/kernel32.ld unless pml4-link says otherwise.
#   ; pml4-link: SCRIPT.ld               link with toolchain/SCRIPT.ld instead of kernel.ld,
#                                        e.g. `; pml4-link: kernel-higher-half.ld`. ELF only.
#
# Make-like: an image is rebuilt only when it is missing or older than its source, one of the
# files the source includes (as `nasm -M` recorded them on the last build), its linker script,
# or this script. (NASM 2.16's -MD, writing them while it assembles, lists the source alone.)
#
# Exit status: 0 when every kernel built (or was up to date), 1 otherwise, 2 for bad usage or
# a missing tool.
set -euo pipefail

prog=${0##*/}
die() { echo "$prog: $*" >&2; exit 2; }

force=0 quiet=0 outdir=
while (($#)); do
    case $1 in
        -f|--force) force=1 ;;
        -q|--quiet) quiet=1 ;;
        -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        -*) die "unknown option '$1' (try --help)" ;;
        *) [[ -z $outdir ]] || die "only one OUTDIR, got '$outdir' and '$1'"; outdir=$1 ;;
    esac
    shift
done

for tool in nasm ld; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "'$tool' not found: the guest kernels need nasm and GNU ld (binutils); run make, which installs them (or: apt-get install nasm binutils)"
done

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$script_dir/.." && pwd)
script_path="$script_dir/${BASH_SOURCE[0]##*/}"

# The output directory is taken relative to the caller's directory, then made absolute.
outdir=${outdir:-$root/guest/build}
mkdir -p "$outdir" || die "cannot create output directory '$outdir'"
outdir=$(cd "$outdir" && pwd)

cd "$root"
shopt -s nullglob
sources=(guest/*.asm guest/labs/*/*.asm)
((${#sources[@]})) || die "no guest kernels: $root/guest/*.asm matches nothing"

say() { ((quiet)) || echo "$@"; }

# marker NAME FILE: the value of `; pml4-NAME: value` in the first 5 lines of FILE, or empty.
marker() {
    head -n 5 "$2" | sed -n "s/^;[[:space:]]*pml4-$1:[[:space:]]*\([^[:space:]]*\).*/\1/p" | head -n 1
}

# deps_of DEPFILE: the prerequisites listed in a make-style dependency file written by nasm -M.
deps_of() {
    [[ -f $1 ]] || return 0
    sed -e 's/\\$//' -e 's/^[^:]*://' "$1" | tr -s ' \t' '\n\n' | sed '/^$/d'
}

# record_deps SRC SRCDIR TARGET DEPFILE: what SRC includes, for the next build's staleness check
# (an include that cannot be found is left to the assembly after it to report).
record_deps() {
    nasm -M -MF "$4" -MT "$3" -I guest/lib/ -I "$2/" "$1" 2>/dev/null || rm -f "$4"
}

# stale TARGET DEP...: true if TARGET is missing or any DEP is missing or newer.
stale() {
    local target=$1 dep
    shift
    ((force)) && return 0
    [[ -e $target ]] || return 0
    for dep in "$@"; do
        [[ -e $dep && ! $dep -nt $target ]] || return 0
    done
    return 1
}

failed=0 built=0 current=0
top_outdir=$outdir
for src in "${sources[@]}"; do
    name=$(basename "$src" .asm)
    # guest/NAME.asm -> OUTDIR; guest/labs/LAB/NAME.asm -> OUTDIR/labs/LAB
    srcdir=$(dirname "$src")
    outdir=$top_outdir${srcdir#guest}
    mkdir -p "$outdir"
    image=$(marker image "$src")
    link=$(marker link "$src")
    image=${image:-elf}
    depfile="$outdir/$name.d"
    mapfile -t deps < <(deps_of "$depfile")
    deps=("$src" "${deps[@]}" "$script_path")

    case $image in
    flat)
        [[ -z $link ]] || { echo "$prog: $src: '; pml4-link:' applies to ELF kernels only, not to a flat image" >&2; failed=1; continue; }
        out="$outdir/$name.bin"
        if ! stale "$out" "${deps[@]}"; then current=$((current + 1)); continue; fi
        say "  NASM  $src -> $out"
        rm -f "$outdir/$name.elf" "$outdir/$name.o" "$outdir/$name.map"
        record_deps "$src" "$srcdir" "$out" "$depfile"
        # The map file gives pml4 the flat image's symbols (tracer, debugger): NAME.map beside NAME.bin.
        if ! nasm -f bin -w+all -w-unknown-warning -I guest/lib/ -I "$srcdir/" -l "$outdir/$name.lst" \
                --before "[map symbols $outdir/$name.map]" -o "$out" "$src"; then
            echo "$prog: $src: nasm failed" >&2; rm -f "$out"; failed=1; continue
        fi
        ;;
    elf|elf32)
        if [[ $image == elf32 ]]; then
            objformat=elf32 emulation=elf_i386 ldscript="toolchain/${link:-kernel32.ld}"
        else
            objformat=elf64 emulation=elf_x86_64 ldscript="toolchain/${link:-kernel.ld}"
        fi
        [[ -f $ldscript ]] || { echo "$prog: $src: linker script '$ldscript' (from '; pml4-link: $link') does not exist" >&2; failed=1; continue; }
        out="$outdir/$name.elf"
        if ! stale "$out" "${deps[@]}" "$ldscript"; then current=$((current + 1)); continue; fi
        say "  NASM  $src -> $outdir/$name.o"
        rm -f "$outdir/$name.bin"
        record_deps "$src" "$srcdir" "$out" "$depfile"
        if ! nasm -f "$objformat" -w+all -w-unknown-warning -I guest/lib/ -I "$srcdir/" -l "$outdir/$name.lst" \
                -o "$outdir/$name.o" "$src"; then
            echo "$prog: $src: nasm failed" >&2; rm -f "$outdir/$name.o" "$out"; failed=1; continue
        fi
        say "  LD    $out  (${ldscript#toolchain/})"
        if ! ld -m "$emulation" -n -nostdlib -static --no-dynamic-linker --build-id=none -z noexecstack --no-warn-rwx-segments \
                -T "$ldscript" -Map "$outdir/$name.map" -o "$out" "$outdir/$name.o"; then
            echo "$prog: $src: ld failed" >&2; rm -f "$out"; failed=1; continue
        fi
        ;;
    *)
        echo "$prog: $src: unknown image kind '; pml4-image: $image' (want elf, elf32 or flat)" >&2
        failed=1; continue
        ;;
    esac
    built=$((built + 1))
done

if ((failed)); then
    echo "$prog: some guest kernels failed to build (see above)" >&2
    exit 1
fi
say "guest kernels: $built built, $current up to date, in $top_outdir"
