#!/usr/bin/env python3
"""Cycles of SHA-256, CRC-32 and one Ed25519 verification on the STM32F446 model at 180 MHz.

Runs build/fw/crypto_cycles.elf (bench/crypto/m4/m4_cycles.c: the firmware's flags and
libota_crypto, DWT CYCCNT around each call) on the virtual board, checks every result against
Python's hashlib/zlib and the expected verification outcomes, and prints the figures.

usage: m4_vboard.py --vboard VBOARD --elf crypto_cycles.elf --bin crypto_cycles.bin --work DIR
"""
import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import zlib

HCLK = 180e6


def fail(msg):
    print(f'crypto cycles: FAIL {msg}')
    return 1


def main():
    ap = argparse.ArgumentParser()
    for a in ('--vboard', '--elf', '--bin', '--work'):
        ap.add_argument(a, required=True)
    a = ap.parse_args()
    if not os.path.exists(a.elf):
        return fail(f'{a.elf} missing (make firmware)')
    os.makedirs(a.work, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=a.work) as tmp:
        p = subprocess.run([a.vboard, '--flash', os.path.join(tmp, 'board.flash'), '--fresh',
                            '--load', a.elf, '--stop-on', 'm4cycles: done', '--timeout-ms', '5000',
                            '--summary'], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=300)
    out = p.stdout.decode('utf-8', 'replace')
    if p.returncode != 0 or 'm4cycles: done' not in out:
        print(out)
        return fail(f'vboard exit {p.returncode}')
    if 'm4cycles: hclk 180000000 ok' not in out:
        return fail('not running at 180 MHz')
    rows = [(m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4), 16))
            for m in re.finditer(r'm4cycles: (\S+) (\d+) (\d+) 0x([0-9A-F]+)', out)]
    got = {(w, n): (c, chk) for w, n, c, chk in rows}

    pattern = bytes((i * 131 + 7) & 0xFF for i in range(16384))
    with open(a.bin, 'rb') as f:
        flash = f.read()[:16384]
    flash += b'\xff' * (16384 - len(flash))  # the rest of a fresh flash is erased
    want = {('sha256-sram', 64): hashlib.sha256(pattern[:64]).digest(),
            ('sha256-sram', 4096): hashlib.sha256(pattern[:4096]).digest(),
            ('sha256-sram', 16384): hashlib.sha256(pattern).digest(),
            ('sha256-flash', 16384): hashlib.sha256(flash).digest()}
    for k, d in want.items():
        if k not in got or got[k][1] != int.from_bytes(d[:4], 'big'):
            return fail(f'{k[0]} of {k[1]} bytes missing or wrong')
    if got.get(('crc32-sram', 16384), (0, None))[1] != zlib.crc32(pattern):
        return fail('CRC-32 missing or wrong')
    if got.get(('ed25519-valid', 2), (0, None))[1] != 0:
        return fail('RFC 8032 TEST 3 did not verify')
    bad = got.get(('ed25519-invalid', 2), (0, 0))[1]
    if bad == 0:
        return fail('a signature over another message verified')

    s64, s4k, s16k = (got[('sha256-sram', n)][0] for n in (64, 4096, 16384))
    sfl = got[('sha256-flash', 16384)][0]
    crc = got[('crc32-sram', 16384)][0]
    ev, ei = got[('ed25519-valid', 2)][0], got[('ed25519-invalid', 2)][0]
    print('crypto on the STM32F446 model (vboard, DWT CYCCNT; build/fw/crypto_cycles.elf: firmware '
          'flags -Os, libota_crypto, HSE PLL 180 MHz, ART on):')
    print(f'  SHA-256, 16 KB in SRAM             {s16k:>9} cycles  {s16k / 16384:6.2f} cycles/byte '
          f'(marginal 4 KB -> 16 KB {(s16k - s4k) / 12288:.2f}; 64 bytes: {s64} cycles)')
    print(f'  SHA-256, 16 KB read from flash     {sfl:>9} cycles  {sfl / 16384:6.2f} cycles/byte')
    print(f'  CRC-32, 16 KB in SRAM              {crc:>9} cycles  {crc / 16384:6.2f} cycles/byte')
    print(f'  Ed25519 verify (RFC 8032 TEST 3)   {ev:>9} cycles  {ev / HCLK * 1000:6.2f} ms at '
          f'180 MHz (another message, refused: {ei} cycles)')
    print(f'  a 200 KB image: SHA-256 {s16k / 16384 * 204800 / HCLK * 1000:.0f} ms + Ed25519 '
          f'{ev / HCLK * 1000:.0f} ms')
    print('  cycle model (docs/vboard.md): 1 cycle per instruction, plus flash wait states only '
          'while the ART cache is off; no pipeline, so these are lower bounds: on silicon a load '
          'takes 2 cycles unless pipelined, a taken branch 2-4, and ART misses add wait states')
    return 0


if __name__ == '__main__':
    sys.exit(main())
