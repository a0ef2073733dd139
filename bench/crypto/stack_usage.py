#!/usr/bin/env python3
"""Worst-case stack depth of functions from GCC call-graph files (-fcallgraph-info=su).

Usage: stack_usage.py <file.ci>... -- <function>...

Each function's depth is its own frame plus the deepest of its callees, across all given files
(a callee declared in one file and defined in another is matched by name). Calls to functions
with no frame information (libc's memset/memcpy, ota_assert_failed) count as 0 and are listed.
Recursion is reported as an error: none is expected in this library.
"""
import re
import sys

NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
BYTES = re.compile(r'\\n(\d+) bytes \((static|dynamic[^)]*)\)')


def short(title):
    return title.rsplit(":", 1)[-1]


def main():
    args = sys.argv[1:]
    if "--" not in args:
        raise SystemExit(__doc__)
    split = args.index("--")
    files, wanted = args[:split], args[split + 1:]
    frame, kind, calls = {}, {}, {}
    for path in files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for title, label in NODE.findall(text):
            m = BYTES.search(label)
            if m:
                frame[short(title)] = int(m.group(1))
                kind[short(title)] = m.group(2)
        for src, dst in EDGE.findall(text):
            calls.setdefault(short(src), set()).add(short(dst))

    unknown = set()
    memo = {}

    def depth(fn, stack):
        if fn in stack:
            raise SystemExit("recursion: " + " -> ".join(stack + [fn]))
        if fn in memo:
            return memo[fn]
        if fn not in frame:
            unknown.add(fn)
            return 0, [fn]
        best, path = 0, []
        for callee in sorted(calls.get(fn, ())):
            d, p = depth(callee, stack + [fn])
            if d > best:
                best, path = d, p
        memo[fn] = (frame[fn] + best, [fn] + path)
        return memo[fn]

    for fn in wanted:
        if fn not in frame:
            raise SystemExit("no frame information for %s" % fn)
        d, path = depth(fn, [])
        dyn = [p for p in path if kind.get(p, "static") != "static"]
        print("%-20s %5d bytes  via %s%s" % (fn, d, " > ".join(
            "%s(%d)" % (p, frame.get(p, 0)) for p in path), "  DYNAMIC: %s" % dyn if dyn else ""))
    if unknown:
        print("counted as 0 (no frame info: libc or outside the library): "
              + ", ".join(sorted(unknown)))


if __name__ == "__main__":
    main()
