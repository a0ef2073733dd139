#!/usr/bin/env python3
"""Run vboard once and check its exit status and output (stdout + stderr).

usage: run_case.py VBOARD [--exit N] [--stdin TEXT] [--expect RE]... [--reject RE]... [--same RE1 RE2]...
                   [--hex-file FILE OFFSET WORDHEX]... [--pre-run ARGS]... -- vboard args
--same RE1 RE2: the first group of RE1 and of RE2 must both match and be equal.
--hex-file: after the run, the 32-bit little-endian word at OFFSET of FILE must equal WORDHEX
            ('!' prefix: must differ).
--same-without-ff: run vboard a second time with --no-fast-forward (same arguments, so give
            --fresh) and require the same exit status and the same output, apart from the summary
            lines that report the fast-forward itself, emulated instructions and real-time pacing.
"""
import functools
import http.server
import re
import struct
import subprocess
import sys
import threading


def main(argv):
    vboard = argv[0]
    i = 1
    want_exit = 0
    expect, reject, same, hexchk = [], [], [], []
    stdin_data = b''
    sign = []
    http_dir = None
    compare_no_ff = False
    while i < len(argv) and argv[i] != '--':
        a = argv[i]
        if a == '--exit':
            want_exit = int(argv[i + 1]); i += 2
        elif a == '--expect':
            expect.append(argv[i + 1]); i += 2
        elif a == '--reject':
            reject.append(argv[i + 1]); i += 2
        elif a == '--same':
            same.append((argv[i + 1], argv[i + 2])); i += 3
        elif a == '--sign':
            # --sign OTAPACK KEY BIN VERSION OUT: make a signed image before the run
            sign.append(argv[i + 1:i + 6]); i += 6
        elif a == '--http-dir':
            # serve DIR over HTTP on 127.0.0.1; {HTTP_PORT} in the vboard args becomes its port
            http_dir = argv[i + 1]; i += 2
        elif a == '--same-without-ff':
            compare_no_ff = True; i += 1
        elif a == '--stdin':
            stdin_data = argv[i + 1].encode(); i += 2
        elif a == '--hex-file':
            hexchk.append((argv[i + 1], int(argv[i + 2], 0), argv[i + 3])); i += 4
        else:
            print('run_case: unknown option', a); return 2
    args = argv[i + 1:]
    for otapack, key, binf, version, out in sign:
        r = subprocess.run([otapack, 'sign', '-k', key, '--version', version, binf, out])
        if r.returncode != 0:
            print('run_case: FAIL otapack sign'); return 1
    server = None
    if http_dir is not None:
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=http_dir)
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        args = [a.replace('{HTTP_PORT}', str(server.server_address[1])) for a in args]
    p = subprocess.run([vboard] + args, input=stdin_data, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=240)
    if server is not None:
        server.shutdown()
    out = p.stdout.decode('utf-8', 'replace')
    sys.stdout.write(out)
    ok = True
    if p.returncode != want_exit:
        print(f'run_case: FAIL exit status {p.returncode}, want {want_exit}'); ok = False
    for r in expect:
        if not re.search(r, out, re.M):
            print(f'run_case: FAIL expected /{r}/ not found'); ok = False
    for r in reject:
        m = re.search(r, out, re.M)
        if m:
            print(f'run_case: FAIL rejected /{r}/ found: {m.group(0)!r}'); ok = False
    for r1, r2 in same:
        m1, m2 = re.search(r1, out, re.M), re.search(r2, out, re.M)
        if not m1 or not m2:
            print(f'run_case: FAIL /{r1}/ or /{r2}/ missing'); ok = False
        elif m1.group(1).lower() != m2.group(1).lower():
            print(f'run_case: FAIL {m1.group(1)} != {m2.group(1)}'); ok = False
    for path, off, want in hexchk:
        with open(path, 'rb') as f:
            f.seek(off)
            got = struct.unpack('<I', f.read(4))[0]
        neg = want.startswith('!')
        w = int(want.lstrip('!'), 16)
        if (got == w) == neg:
            print(f'run_case: FAIL word at {path}+{off:#x} is {got:#010x}, want {"not " if neg else ""}{w:#010x}')
            ok = False
    if compare_no_ff:
        p2 = subprocess.run([vboard] + args + ['--no-fast-forward'], input=stdin_data,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=240)
        out2 = p2.stdout.decode('utf-8', 'replace')
        skip = re.compile(r'^  (flash poll skipped|instructions|paced to real time): ')
        a = [x for x in out.splitlines() if not skip.match(x)]
        b = [x for x in out2.splitlines() if not skip.match(x)]
        if p2.returncode != p.returncode:
            print(f'run_case: FAIL exit {p2.returncode} with --no-fast-forward, {p.returncode} without')
            ok = False
        if 'fast-forward off' not in out2:
            print('run_case: FAIL the --no-fast-forward run does not report it'); ok = False
        if a != b:
            print('run_case: FAIL output differs with --no-fast-forward:')
            for x, y in zip(a + [''] * len(b), b + [''] * len(a)):
                if x != y:
                    print(f'  fast-forward: {x!r}\n  emulated:     {y!r}')
                    break
            ok = False
        else:
            print(f'run_case: same output with --no-fast-forward ({len(a)} lines compared)')
    print('run_case:', 'PASS' if ok else 'FAIL')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
