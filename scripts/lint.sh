#!/usr/bin/env bash
# Static analysis of the project's C sources: cppcheck and clang-tidy (.clang-tidy), both driven by
# the compile_commands.json of a host build so they see the real include paths and defines.
# Any finding fails the run.
#
#   scripts/lint.sh [BUILD_DIR]        (make lint: scripts/lint.sh build/host)
#   LINT_JOBS=N                        parallel clang-tidy processes (default: nproc)
#   LINT_ONLY='regex'                  lint only sources whose path (relative to the tree) matches
#
# Only sources of this tree are linted (not generated files, not other build directories).
# Firmware-only sources (port/stm32f446, boot/, app/) are not in a host build's database.
set -euo pipefail

src_dir=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-"$src_dir/build/host"}
build_dir=$(cd "$build_dir" 2>/dev/null && pwd) || {
    echo "lint: build directory '${1:-build/host}' not found (run make tools first)" >&2
    exit 2
}
db="$build_dir/compile_commands.json"
if [[ ! -f "$db" ]]; then
    echo "lint: $db not found (configure with CMAKE_EXPORT_COMPILE_COMMANDS=ON)" >&2
    exit 2
fi
for tool in cppcheck clang-tidy python3; do
    command -v "$tool" >/dev/null || { echo "lint: $tool not installed" >&2; exit 2; }
done
jobs=${LINT_JOBS:-$(nproc)}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A filtered database: one entry per source file of this tree, nothing from build directories.
python3 - "$db" "$src_dir" "${LINT_ONLY:-}" "$work/compile_commands.json" "$work/files" <<'EOF'
import json, os, re, sys
db, src, only, out_db, out_files = sys.argv[1:6]
entries, seen = [], set()
for e in json.load(open(db)):
    f = os.path.realpath(os.path.join(e["directory"], e["file"]))
    rel = os.path.relpath(f, src)
    if rel.startswith("..") or not f.endswith(".c") or f in seen:
        continue
    if rel.split(os.sep)[0].startswith("build") or (only and not re.search(only, rel)):
        continue
    seen.add(f)
    e["file"] = f
    entries.append(e)
json.dump(entries, open(out_db, "w"), indent=1)
open(out_files, "w").write("".join(e["file"] + "\n" for e in entries))
EOF
count=$(wc -l <"$work/files")
if [[ "$count" -eq 0 ]]; then
    echo "lint: no sources selected" >&2
    exit 2
fi
echo "lint: $count C files from $db"

status=0

# cppcheck: real defects and portability problems, not style opinions. Findings go to stderr in
# file:line form; --error-exitcode makes any of them fail the run.
echo "lint: cppcheck"
if ! cppcheck --project="$work/compile_commands.json" --std=c11 --quiet -j "$jobs" \
        --enable=warning,performance,portability --inconclusive \
        --suppress=missingIncludeSystem --suppress=unmatchedSuppression --inline-suppr \
        --error-exitcode=1 \
        --template='{file}:{line}:{column}: cppcheck {severity}: {message} [{id}]' \
        2>"$work/cppcheck.log"; then
    status=1
fi
if [[ -s "$work/cppcheck.log" ]]; then
    cat "$work/cppcheck.log"
    status=1
fi

# clang-tidy: one process per file (clang-tidy 14's analyzer carries state from one file to the
# next within a process and then reports va_list false positives).
echo "lint: clang-tidy"
if ! xargs -a "$work/files" -P "$jobs" -n 1 \
        clang-tidy -p "$work" --quiet --warnings-as-errors='*' >"$work/tidy.log" 2>&1; then
    status=1
fi
grep -E ': (warning|error): ' "$work/tidy.log" | sort -u || true

if [[ "$status" -ne 0 ]]; then
    echo "lint: FAILED" >&2
    exit 1
fi
echo "lint: clean"
