#!/usr/bin/env python3
"""Device time of one ~200 KB update on the virtual board (STM32F446 at 180 MHz, W5500 at 22.5 MHz
SPI), phase by phase, against the physical limit of the flash and SPI and the tutorial's pacing.

Runs of the real bootloader and application (app/variants.cmake), HTTP from otaserver serving
app_big_v2.img:
  download  factory.hex (app, version 1), button at the ready line; runs of the same start stopped
            at the ready line, at "network up", at "download complete" (with --trace-flash: the
            first flash write marks the accepted header) and at "marked pending": the differences
            of their summaries are the phases link + DHCP, connect + transfer, verify + mark
  probes    the same with app_probe9 (the chip's 9 ARP requests) and app_noprobe (no probe)
  install   power on from the "marked pending" flash: stopped at "boot: installing" (validation),
            and a whole run with --trace-flash that splits erase + copy, verification of the copy
            and the new header + start of version 2 at the flash operations' timestamps
  boot      power on again: the bootloader verifies the installed application and jumps
Each summary splits virtual time into CPU, SPI, waiting (WFI) and flash BSY time (the CPU polls BSY
from RAM during erases and programs, so BSY time is inside "cpu"; "cpu other" is what remains).

usage: bench_fw_update.py --vboard VBOARD --tools HOSTDIR --fw FWDIR --src SRCDIR --work DIR
"""
import argparse
import math
import os
import re
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tests',
                                'e2e', 'fw_ota'))
import fw_ota  # noqa: E402  (the e2e helpers: vboard runs, otaserver, images)

# Datasheet figures (../shared/reference/stm32f446.md §2.9, x32 parallelism): typical times.
ERASE_MS = {16: 250.0, 64: 550.0, 128: 1000.0}
PROGRAM_US_PER_WORD = 16.0
SPI_HZ = 22.5e6
# Flash sectors (KB) of the staging area (3-5) and the application area (6-7), and sector 2.
STAGING_SECTORS = [16, 64, 128]
SECTOR_KB = {0: 16, 1: 16, 2: 16, 3: 16, 4: 64, 5: 128, 6: 128, 7: 128}
APP_SECTORS = [128, 128]
APPHDR_KB = 16
# The tutorial's server pacing (../shared/reference/tutorial-system.md): 512-byte chunks, 250 ms.
# Firmware variants with other DHCP probe settings (app/variants.cmake).
VARIANTS = {'app_probe9': 'APP_DHCP_PROBE_ARPS=0 (9 ARPs)',
            'app_noprobe': 'APP_DHCP_CONFLICT_PROBE=0 (no probe)'}
TUTORIAL_CHUNK = 512
TUTORIAL_DELAY_MS = 250.0


def breakdown(run):
    """Cumulative virtual-time split of one run (vboard summary)."""
    out = run.out
    m = re.search(r'virtual time: ([0-9.]+) ms \(cpu ([0-9.]+), flash (?:stall|busy) ([0-9.]+), '
                  r'spi ([0-9.]+), waiting ([0-9.]+)\)', out)
    fw_ota.check(m is not None, 'no virtual time line in the summary')
    b = re.search(r'flash: busy ([0-9.]+) ms', out)
    w = re.search(r'w5500: (\d+) SPI bytes, (\d+) frames, (\d+) bytes received', out)
    s = run.summary()
    total, cpu, stall, spi, wait = (float(x) for x in m.groups())
    busy = float(b.group(1)) if b else 0.0
    return {'total': total, 'cpu': cpu, 'stall': stall, 'spi': spi, 'wait': wait, 'busy': busy,
            'ops': s['ops'], 'programs': s['programs'],
            'spi_bytes': int(w.group(1)) if w else 0, 'rx': int(w.group(3)) if w else 0}


def minus(a, b):
    """Phase = cumulative a - cumulative b (b from a run of the same start stopped earlier)."""
    return {k: a[k] - b[k] for k in ('total', 'cpu', 'stall', 'spi', 'wait', 'busy', 'ops',
                                     'programs', 'spi_bytes', 'rx')}


def flash_trace(run):
    """[(virtual ms, op text)] of a --trace-flash run."""
    return [(float(m.group(1)), m.group(2))
            for m in re.finditer(r'\[vboard\s+([0-9.]+) ms\] flash op \d+: ([^\n]*)', run.out)]


def op_busy_ms(text):
    """BSY time of one traced operation at the datasheet typical figures vboard models."""
    m = re.match(r'erase sector (\d+)', text)
    if m:
        return ERASE_MS[SECTOR_KB[int(m.group(1))]]
    return PROGRAM_US_PER_WORD / 1000 if text.startswith('program') else 0.0


def run_vboard(ctx, flash, stop_on, trace=False, loads=(), fresh=False, maps=(), press_on=None):
    """One vboard run (fw_ota.vboard) that must reach stop_on."""
    r = fw_ota.vboard(ctx, flash, loads=loads, fresh=fresh, maps=maps, press_on=press_on,
                      stop_on=stop_on, timeout_ms=120000, trace_flash=trace)
    fw_ota.check(r.rc == 0 and f'stop text "{stop_on}" seen' in r.out,
                 f'run to "{stop_on}" failed (exit {r.rc})')
    return r


def download(ctx, work, variant, img_path, stop_on, trace=False):
    """Fresh factory board of variant, button at its ready line, HTTP from otaserver, stopped at
    stop_on (None: at the ready line, before anything of the update). Returns (run, flash file,
    press time)."""
    srv = fw_ota.server_info(ctx.fw, variant)
    v1 = fw_ota.image_info(os.path.join(ctx.fw, variant + '.img'))
    sub = tempfile.mkdtemp(dir=work, prefix=variant + '-')
    server = fw_ota.OtaServer(ctx, img_path, sub)
    try:
        flash = os.path.join(sub, 'board.flash')
        ready = f'app: running v{v1["version"]}'
        r = run_vboard(ctx, flash, stop_on or ready, trace=trace,
                       loads=[fw_ota.factory_hex(ctx, variant, sub)], fresh=True,
                       maps=[f'{srv["host"]}:{srv["port"]}={server.port_for(srv["proto"])}'],
                       press_on=ready)
    finally:
        server.stop()
    t = r.time_of('button PC13 pressed')
    fw_ota.check(t is not None or stop_on is None, 'button not pressed')
    return r, flash, t


def sectors_for(size, sectors_kb):
    used, acc = [], 0
    for kb in sectors_kb:
        if acc >= size:
            break
        used.append(kb)
        acc += kb * 1024
    return used


def fmt(ms):
    if ms is None:
        return '-'
    if abs(ms) < 0.5:
        return '0 ms'
    return f'{ms / 1000:.2f} s' if abs(ms) >= 1000 else f'{ms:.0f} ms'


def measure(ctx, work, img_path, v1, v2):
    """All runs of the benchmark; returns the phase rows (virtual-time splits)."""
    ph = {}
    wait_pending = 'app: image verified and marked pending'
    # Download, cut into phases by runs of the same start stopped at each phase's end.
    r0, _, _ = download(ctx, work, 'app', img_path, None)
    ra, _, _ = download(ctx, work, 'app', img_path, 'app: network up')
    rb, _, _ = download(ctx, work, 'app', img_path, 'app: download complete, verifying',
                        trace=True)
    r1, flash, t_press = download(ctx, work, 'app', img_path, wait_pending)
    s0, sa, sb, s1 = breakdown(r0), breakdown(ra), breakdown(rb), breakdown(r1)
    ph['bringup'] = minus(sa, s0)
    ph['transfer'] = minus(sb, sa)
    ph['verify'] = minus(s1, sb)
    ph['download'] = minus(s1, s0)
    tr = flash_trace(rb)
    fw_ota.check(len(tr) > 0, 'no flash operation in the download')
    # network up -> header accepted (its DL_START record is the download's first flash write)
    ph['connect_ms'] = tr[0][0] - sa['total']
    ph['t_press'] = t_press
    # Other DHCP probe settings, same image and server: the chip's 9 ARP requests
    # (APP_DHCP_PROBE_ARPS=0) and no probe (APP_DHCP_CONFLICT_PROBE=0).
    for v in VARIANTS:
        rn0, _, _ = download(ctx, work, v, img_path, None)
        rna, _, _ = download(ctx, work, v, img_path, 'app: network up')
        rn1, _, _ = download(ctx, work, v, img_path, wait_pending)
        ph[v + '_bringup'] = minus(breakdown(rna), breakdown(rn0))
        ph[v + '_download'] = minus(breakdown(rn1), breakdown(rn0))
    # Install from the "marked pending" flash: validation ends at "installing"; the trace splits
    # the rest into copy (erases + programs of sectors 6-7), verification of the copy (no flash
    # operation until sector 2 is erased) and the new header + start of version 2.
    part = os.path.join(work, 'install-part.flash')
    shutil.copy(flash, part)
    ri1 = run_vboard(ctx, part, 'boot: installing')
    shutil.copy(flash, part)
    ph['install_jump'] = breakdown(run_vboard(ctx, part, 'boot: starting application at'))
    r2 = run_vboard(ctx, flash, f'app: running v{v2["version"]}', trace=True)
    fw_ota.check_installed(r2, flash, v1, v2)
    si1, s2 = breakdown(ri1), breakdown(r2)
    tr = flash_trace(r2)
    fw_ota.check(any(x.startswith('erase sector 6') for _, x in tr), 'sector 6 not erased')
    e2 = [k for k, (_, x) in enumerate(tr) if x.startswith('erase sector 2')]
    fw_ota.check(len(e2) == 1, 'install: sector 2 not erased exactly once')
    k2 = e2[0]
    copy_end = tr[k2 - 1][0] + op_busy_ms(tr[k2 - 1][1])
    ph['validate'] = si1
    ph['copy'] = {'total': copy_end - si1['total'],
                  'busy': sum(op_busy_ms(x) for _, x in tr[:k2]), 'ops': k2}
    ph['check'] = {'total': tr[k2][0] - copy_end, 'busy': 0.0, 'ops': 0}
    ph['header'] = {'total': s2['total'] - tr[k2][0],
                    'busy': sum(op_busy_ms(x) for _, x in tr[k2:]), 'ops': len(tr) - k2}
    ph['install'] = s2
    r3 = run_vboard(ctx, flash, f'app: running v{v2["version"]}')
    fw_ota.check(r3.summary()['ops'] == 0, 'plain boot wrote flash')
    ph['boot'] = breakdown(r3)
    ph['boot_jump'] = breakdown(run_vboard(ctx, flash, 'boot: starting application at'))
    ph['dl_rx'] = s1['rx']
    ph['dl_spi_bytes'] = s1['spi_bytes']
    return ph


def main():
    ap = argparse.ArgumentParser()
    for a in ('--vboard', '--tools', '--fw', '--src', '--work'):
        ap.add_argument(a, required=True)
    ctx = ap.parse_args()
    ctx.ops = None
    ctx.sweep = False
    ctx.jobs = 1
    os.makedirs(ctx.work, exist_ok=True)
    work = tempfile.mkdtemp(dir=ctx.work, prefix='bench-')
    img_path = os.path.join(ctx.fw, 'app_big_v2.img')
    try:
        v2 = fw_ota.image_info(img_path)
        v1 = fw_ota.image_info(os.path.join(ctx.fw, 'app.img'))
        ph = measure(ctx, work, img_path, v1, v2)
    except fw_ota.Fail as e:
        print(f'bench fw_update: FAIL {e}')
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)

    size = v2['size']
    payload = len(v2['payload'])
    # Physical limit: every sector erase and word program at the datasheet's typical time, plus
    # the image's bytes on the SPI wire (3-byte frame header per 4 KB burst) at 22.5 MHz.
    st_sec = sectors_for(size, STAGING_SECTORS)
    app_sec = sectors_for(payload + 2048, APP_SECTORS)
    wire_bytes = size + 3 * math.ceil(size / 4096)
    lim_dl = (sum(ERASE_MS[k] for k in st_sec) + size / 4 * PROGRAM_US_PER_WORD / 1000 +
              wire_bytes * 8 / SPI_HZ * 1000)
    hdr_words = v2['desc_len'] // 4 + 16
    lim_in = (sum(ERASE_MS[k] for k in app_sec) + ERASE_MS[APPHDR_KB] +
              (payload + v2['desc_len']) / 4 * PROGRAM_US_PER_WORD / 1000 +
              hdr_words * PROGRAM_US_PER_WORD / 1000)
    lim = lim_dl + lim_in
    tut_dl = math.ceil(size / TUTORIAL_CHUNK) * TUTORIAL_DELAY_MS

    print(f'fw_update: {os.path.basename(img_path)} {v1["version"]} -> {v2["version"]}, '
          f'image {size} bytes ({size / 1024:.1f} KB), payload {payload} bytes; HTTP, DHCP')
    print('device time at 180 MHz (vboard virtual time); flash busy = BSY time at the datasheet '
          'typical figures (the CPU polls it from SRAM); each phase from runs of the same start '
          'stopped at its end')
    hdr = (f'{"phase":<32}{"device":>9}{"flash busy":>12}{"spi":>8}{"waiting":>9}'
           f'{"cpu other":>11}{"flash ops":>10}{"physical limit":>16}')
    print(hdr)
    print('-' * len(hdr))

    def row(name, x, limit=None, full=True):
        busy = x.get('busy', 0.0)
        spi = x.get('spi', 0.0) if full else 0.0
        wait = x.get('wait', 0.0) if full else 0.0
        other = x['total'] - busy - spi - wait - (x.get('stall', 0.0) if full else 0.0)
        print(f'{name:<32}{fmt(x["total"]):>9}{fmt(busy):>12}{fmt(spi) if full else "-":>8}'
              f'{fmt(wait) if full else "-":>9}{fmt(other):>11}{x["ops"]:>10}'
              f'{fmt(limit) if limit is not None else "":>16}')

    dl, ins = ph['download'], ph['install']
    bring = ph['bringup']
    row('download (from the button)', dl, lim_dl)
    row('  link + DHCP (ARP probe, 3 ARPs)', bring, 0.0)
    print(f'{"  connect + request + header":<32}{fmt(ph["connect_ms"]):>9}  (inside the next row)')
    row('  transfer to staging', ph['transfer'], lim_dl)
    row('  verify (SHA-256, Ed25519) + mark', ph['verify'], 0.0)
    row('install (power-on to v2 running)', ins, lim_in)
    row('  validate staged image', ph['validate'], 0.0)
    row('  erase + copy to sectors 6-7', ph['copy'], lim_in - ERASE_MS[APPHDR_KB] -
        hdr_words * PROGRAM_US_PER_WORD / 1000, full=False)
    row('  verify the copy (SHA-256)', ph['check'], 0.0, full=False)
    row('  new header, start v2', ph['header'], ERASE_MS[APPHDR_KB] +
        hdr_words * PROGRAM_US_PER_WORD / 1000, full=False)
    row('boot (power-on to v2 running)', ph['boot'], 0.0)
    print()
    print('bootloader alone, power-on to the jump ("boot: starting application at"):')
    row('  with an install', ph['install_jump'], lim_in)
    row('  without (verify, jump)', ph['boot_jump'], 0.0)
    print()
    total = dl['total'] + ins['total']
    data = total - bring['total']
    print(f'update = download + install, against the physical limit {fmt(lim)} '
          f'(download {fmt(lim_dl)} + install {fmt(lim_in)}):')
    print(f'  {"whole update, product default (probe of 3 ARPs)":<56}{fmt(total):>8}  '
          f'{total / lim:.2f}x   (link + DHCP {fmt(bring["total"])})')
    print(f'  {"network bring-up excluded (data path only)":<56}{fmt(data):>8}  '
          f'{data / lim:.2f}x   (link + DHCP reported separately above)')
    for v in VARIANTS:
        t = ph[v + '_download']['total'] + ins['total']
        print(f'  {"whole update, " + VARIANTS[v]:<56}{fmt(t):>8}  {t / lim:.2f}x   '
              f'(link + DHCP {fmt(ph[v + "_bringup"]["total"])})')
    print(f'  tutorial pacing for the download alone: {fmt(tut_dl)} ({math.ceil(size / TUTORIAL_CHUNK)}'
          f' chunks of {TUTORIAL_CHUNK} bytes x {TUTORIAL_DELAY_MS:.0f} ms, computed)')
    print()
    print(f'download: {ph["dl_rx"]} bytes received by the W5500, {ph["dl_spi_bytes"]} SPI bytes '
          f'({ph["dl_spi_bytes"] * 8 / SPI_HZ * 1000:.1f} ms of wire time at 22.5 MHz)')
    print(f'staging sectors erased: {"+".join(str(k) for k in st_sec)} KB; application sectors: '
          f'{"+".join(str(k) for k in app_sec)} KB, plus sector 2 (16 KB) for the new header')
    print('physical limit: datasheet typical erase (16 KB 250 ms, 64 KB 550 ms, 128 KB 1 s) and '
          '16 us per word at x32, plus the image on the SPI wire; no CPU, no network latency, '
          'no DHCP')
    print('the ARP probe (RFC 2131 4.4.1, SHOULD) ends at an answer or after its unanswered ARP '
          'requests, RTR 200 ms apart: 3 by default (APP_DHCP_PROBE_ARPS), the chip\'s RCR + 1 = 9 '
          'with 0; docs/ota.md gives the trade-off')
    print('phases of one program are differences between separate runs: the network is paced to '
          'real time, so a few ms move between neighbouring rows from run to run')
    print('rows marked "-" in spi/waiting are split by flash-operation timestamps (--trace-flash) '
          'and have no SPI or WFI time; "cpu other" there includes flash stalls')
    return 0


if __name__ == '__main__':
    sys.exit(main())
