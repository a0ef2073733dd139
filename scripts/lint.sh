#!/usr/bin/env bash
# Static analysis of the project's C sources: cppcheck and clang-tidy (.clang-tidy), both driven by
# the compile_commands.json of the builds so they see the real include paths and defines.
# Any finding fails the run.
#
#   scripts/lint.sh [HOST_BUILD_DIR [FW_BUILD_DIR]]     (make lint: scripts/lint.sh build/host build/fw)
#
# HOST_BUILD_DIR (default build/host) gives every source the host build compiles. Sources only the
# firmware compiles (port/stm32f446, board/, boot/main.c, app/) come from FW_BUILD_DIR, by default
# the sibling "fw" of HOST_BUILD_DIR if it has been configured; they are analysed as 32-bit ARM code
# (clang --target=arm-none-eabi with newlib's headers, cppcheck --platform=unix32).
#
#   LINT_JOBS=N        parallel processes (default: nproc)
#   LINT_ONLY='regex'  lint only sources whose path relative to the tree matches
#
# Generated sources (anything under a build* directory) are not linted.
set -euo pipefail

src_dir=$(cd "$(dirname "$0")/.." && pwd)
host_arg=${1:-"$src_dir/build/host"}
host_dir=$(cd "$host_arg" 2>/dev/null && pwd) || {
    echo "lint: build directory '$host_arg' not found (run make tools first)" >&2
    exit 2
}
fw_dir=""
if [[ $# -ge 2 ]]; then
    fw_dir=$(cd "$2" 2>/dev/null && pwd) || { echo "lint: '$2' not found" >&2; exit 2; }
elif [[ -f "$host_dir/../fw/compile_commands.json" ]]; then
    fw_dir=$(cd "$host_dir/../fw" && pwd)
fi
for d in "$host_dir" ${fw_dir:+"$fw_dir"}; do
    if [[ ! -f "$d/compile_commands.json" ]]; then
        echo "lint: $d/compile_commands.json not found (configure with CMAKE_EXPORT_COMPILE_COMMANDS=ON)" >&2
        exit 2
    fi
done
for tool in cppcheck clang-tidy python3; do
    command -v "$tool" >/dev/null || { echo "lint: $tool not installed" >&2; exit 2; }
done
jobs=${LINT_JOBS:-$(nproc)}

work=$(mktemp -d)
trap '[[ -n "${LINT_KEEP:-}" ]] || rm -rf "$work"' EXIT
mkdir -p "$work/host" "$work/fw"

# Filtered databases: one entry per source file of this tree; the firmware one holds only the files
# the host build does not compile.
python3 - "$src_dir" "${LINT_ONLY:-}" "$work" "$host_dir/compile_commands.json" \
    ${fw_dir:+"$fw_dir/compile_commands.json"} <<'EOF'
import json, os, re, shlex, sys
src, only, work = sys.argv[1:4]
# gcc options clang does not know: dropped from the firmware commands for clang-tidy.
GCC_ONLY = re.compile(r"\s(-f(no-)?tree-|-fstack-usage|-fcallgraph-info|--?specs=|-Wno-stringop-|"
                      r"-Wstringop-|-fanalyzer)\S*")
dbs = sys.argv[4:]
seen = set()
for name, db in zip(("host", "fw"), dbs):
    entries = []
    for e in json.load(open(db)):
        f = os.path.realpath(os.path.join(e["directory"], e["file"]))
        rel = os.path.relpath(f, src)
        if rel.startswith("..") or not f.endswith(".c") or f in seen:
            continue
        if rel.split(os.sep)[0].startswith("build") or (only and not re.search(only, rel)):
            continue
        seen.add(f)
        e["file"] = f
        if name == "fw":
            if "arguments" in e:
                e["command"] = " ".join(shlex.quote(a) for a in e.pop("arguments"))
            e["command"] = GCC_ONLY.sub("", e["command"])
        entries.append(e)
    json.dump(entries, open(os.path.join(work, name, "compile_commands.json"), "w"), indent=1)
    open(os.path.join(work, name, "files"), "w").write("".join(e["file"] + "\n" for e in entries))
EOF
touch "$work/fw/files"
n_host=$(wc -l <"$work/host/files")
n_fw=$(wc -l <"$work/fw/files")
if [[ $((n_host + n_fw)) -eq 0 ]]; then
    echo "lint: no sources selected" >&2
    exit 2
fi
echo "lint: $n_host host sources ($host_dir), $n_fw firmware-only sources (${fw_dir:-no firmware build})"

status=0
: >"$work/findings"

# cppcheck: real defects and portability problems, not style opinions. --error-exitcode makes any
# finding fail the run; findings are printed as file:line.
run_cppcheck() { # $1 = host|fw, $2 = platform
    [[ -s "$work/$1/files" ]] || return 0
    if ! cppcheck --project="$work/$1/compile_commands.json" --platform="$2" --std=c11 --quiet \
            -j "$jobs" --enable=warning,performance,portability --inconclusive \
            --suppress=missingIncludeSystem --suppress=unmatchedSuppression --inline-suppr \
            --error-exitcode=1 \
            --template='{file}:{line}:{column}: cppcheck {severity}: {message} [{id}]' \
            2>>"$work/findings"; then
        status=1
    fi
}

# clang-tidy: one process per file (clang-tidy 14's analyzer carries state from one file to the
# next within a process and then reports va_list false positives).
run_tidy() { # $1 = host|fw, $2.. = extra clang arguments
    local set=$1
    shift
    [[ -s "$work/$set/files" ]] || return 0
    local extra=()
    for a in "$@"; do extra+=("--extra-arg=$a"); done
    if ! xargs -a "$work/$set/files" -P "$jobs" -n 1 \
            clang-tidy -p "$work/$set" --quiet --warnings-as-errors='*' ${extra[@]+"${extra[@]}"} \
            >"$work/tidy-$set.log" 2>&1; then
        status=1
    fi
    grep -E '(^|: )(warning|error): |^Error while processing' "$work/tidy-$set.log" \
        >>"$work/findings" || true
}

echo "lint: cppcheck"
run_cppcheck host native
run_cppcheck fw unix32
echo "lint: clang-tidy"
run_tidy host
newlib_inc=""
if command -v arm-none-eabi-gcc >/dev/null; then
    newlib_inc=$(dirname "$(arm-none-eabi-gcc -print-file-name=libc.a)")/../include
fi
run_tidy fw --target=arm-none-eabi ${newlib_inc:+"-isystem$newlib_inc"}

if [[ -s "$work/findings" ]]; then
    sort -u "$work/findings"
    status=1
fi
if [[ "$status" -ne 0 ]]; then
    echo "lint: FAILED ($(sort -u "$work/findings" | wc -l) findings)" >&2
    exit 1
fi
echo "lint: clean"
