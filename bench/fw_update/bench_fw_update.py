#!/usr/bin/env python3
"""Device time of one ~200 KB update on the virtual board (STM32F446 at 180 MHz, W5500 at 22.5 MHz
SPI), phase by phase, next to the tutorial's pacing and the physical limit of the flash and SPI.

Three vboard runs on one flash file, the real bootloader and application (app/variants.cmake):
  download  factory.hex (app, version 1), button, HTTP from otaserver serving app_big_v2.img,
            stopped when the image is verified and marked pending
  install   power on: the bootloader validates, copies and verifies, then the new application
            starts (stopped at its ready line)
  boot      power on again: the bootloader verifies the installed application and jumps
Each run's vboard summary gives its virtual time split into CPU, SPI, waiting (WFI) and the flash
BSY time (the CPU polls BSY from RAM during erases and programs, so BSY time is inside "cpu").

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
APP_SECTORS = [128, 128]
APPHDR_KB = 16
# The tutorial's server pacing (../shared/reference/tutorial-system.md): 512-byte chunks, 250 ms.
TUTORIAL_CHUNK = 512
TUTORIAL_DELAY_MS = 250.0


def breakdown(run):
    out = run.out
    m = re.search(r'virtual time: ([0-9.]+) ms \(cpu ([0-9.]+), flash (?:stall|busy) ([0-9.]+), '
                  r'spi ([0-9.]+), waiting ([0-9.]+)\)', out)
    fw_ota.check(m is not None, 'no virtual time line in the summary')
    b = re.search(r'flash: busy ([0-9.]+) ms', out)
    w = re.search(r'w5500: (\d+) SPI bytes, (\d+) frames, (\d+) bytes received', out)
    s = run.summary()
    total, cpu, stall, spi, wait = (float(x) for x in m.groups())
    busy = float(b.group(1)) if b else None
    return {'total': total, 'cpu': cpu, 'stall': stall, 'spi': spi, 'wait': wait, 'busy': busy,
            'ops': s['ops'], 'programs': s['programs'],
            'spi_bytes': int(w.group(1)) if w else 0, 'rx': int(w.group(3)) if w else 0}


def sectors_for(size, sectors_kb):
    used, acc = [], 0
    for kb in sectors_kb:
        if acc >= size:
            break
        used.append(kb)
        acc += kb * 1024
    return used


def fmt(ms):
    return '-' if ms is None else (f'{ms / 1000:.2f} s' if ms >= 1000 else f'{ms:.0f} ms')


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
    try:
        img_path = os.path.join(ctx.fw, 'app_big_v2.img')
        v2 = fw_ota.image_info(img_path)
        v1 = fw_ota.image_info(os.path.join(ctx.fw, 'app.img'))
        srv = fw_ota.server_info(ctx.fw, 'app')
        server = fw_ota.OtaServer(ctx, img_path, work)
        try:
            r1, flash, _, _ = fw_ota.update_run(ctx, work, 'app', server.port_for(srv['proto']), v2,
                                                stop_on='app: image verified and marked pending')
        finally:
            server.stop()
        fw_ota.check(r1.rc == 0, f'download run exit {r1.rc}')
        t_press = r1.time_of('button PC13 pressed')
        r2 = fw_ota.vboard(ctx, flash, stop_on=f'app: running v{v2["version"]}')
        fw_ota.check_installed(r2, flash, v1, v2)
        r3 = fw_ota.vboard(ctx, flash, stop_on=f'app: running v{v2["version"]}')
        fw_ota.check(r3.rc == 0 and r3.summary()['ops'] == 0, 'plain boot failed or wrote flash')
    except fw_ota.Fail as e:
        print(f'bench fw_update: FAIL {e}')
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)

    d, i, b = breakdown(r1), breakdown(r2), breakdown(r3)
    # The download run includes the boot of version 1 before the press: count from the press.
    d_ms = d['total'] - t_press
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
    tut_dl = math.ceil(size / TUTORIAL_CHUNK) * TUTORIAL_DELAY_MS

    def other(x, span):
        busy = x['busy'] or 0.0
        return span - busy - x['spi'] - x['wait'] - x['stall']

    print(f'fw_update: {os.path.basename(img_path)} {v1["version"]} -> {v2["version"]}, '
          f'image {size} bytes ({size / 1024:.1f} KB), payload {payload} bytes; HTTP, DHCP')
    print('device time at 180 MHz (vboard virtual time); flash busy = BSY time at the datasheet '
          'typical figures, polled by the CPU')
    hdr = (f'{"phase":<10}{"device":>10}{"flash busy":>12}{"spi":>9}{"waiting":>10}'
           f'{"cpu other":>11}{"flash ops":>11}{"tutorial pacing":>17}{"physical limit":>16}')
    print(hdr)
    print('-' * len(hdr))
    rows = [
        ('download', d_ms, d, fmt(tut_dl), fmt(lim_dl)),
        ('install', i['total'], i, '-', fmt(lim_in)),
        ('boot', b['total'], b, '-', fmt(0.0)),
    ]
    for name, span, x, tut, lim in rows:
        print(f'{name:<10}{fmt(span):>10}{fmt(x["busy"]):>12}{fmt(x["spi"]):>9}{fmt(x["wait"]):>10}'
              f'{fmt(other(x, span)):>11}{x["ops"]:>11}{tut:>17}{lim:>16}')
    total = d_ms + i['total']
    print(f'{"update":<10}{fmt(total):>10}{"":>12}{"":>9}{"":>10}{"":>11}'
          f'{d["ops"] + i["ops"]:>11}{fmt(tut_dl + i["total"]):>17}{fmt(lim_dl + lim_in):>16}')
    print()
    print(f'download: {d["rx"]} bytes received by the W5500, {d["spi_bytes"]} SPI bytes '
          f'({d["spi_bytes"] * 8 / SPI_HZ * 1000:.1f} ms of wire time at 22.5 MHz); the download '
          f'row counts from the button press and includes DHCP (its ARP probe waits 1.8 s)')
    print(f'staging sectors erased: {"+".join(str(k) for k in st_sec)} KB; application sectors: '
          f'{"+".join(str(k) for k in app_sec)} KB, plus sector 2 (16 KB) for the new header')
    print(f'tutorial pacing: {math.ceil(size / TUTORIAL_CHUNK)} chunks of {TUTORIAL_CHUNK} bytes '
          f'x {TUTORIAL_DELAY_MS:.0f} ms (otaserver --chunk-size 512 --chunk-delay 250), computed; '
          'the install row is ours in every column')
    print('physical limit: datasheet typical erase (16 KB 250 ms, 64 KB 550 ms, 128 KB 1 s) and '
          '16 us per word at x32, plus the image on the SPI wire; no CPU, no network latency')
    return 0


if __name__ == '__main__':
    sys.exit(main())
