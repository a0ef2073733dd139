#!/usr/bin/env python3
"""End-to-end OTA tests on the virtual board with the real bootloader and application.

Each scenario flashes a factory image (bootloader + installed application, made by otafactory),
runs sim/vboard with the W5500 LAN mapped to a server on the loopback (otaserver or nginx), presses
the button when the application's ready line appears, and checks what a user relies on: the log,
the resets, the flash contents byte for byte, and the LED.

usage: fw_ota.py SCENARIO --vboard VBOARD --tools HOSTDIR --fw FWDIR --src SRCDIR --work DIR
                 [--ops FILE] [--sweep] [--part K/M] [--jobs N] [--net-jobs N] [--only-if-long]
scenarios: http, raw, raw_resume, nginx_dns, bad_key, downgrade, powercut
"""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

APP_OFF = 0x40000      # application area in the flash file (APP_ADDR - 0x08000000)
STAGING_OFF = 0x0C000  # staging area
# Guard against a hung process only (host wall clock); tests assert on virtual time and logs.
HANG_GUARD_S = 900


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


# ---------------------------------------------------------------- images and tools

def image_info(path):
    """MCUboot header fields, version string, payload and total size of a signed image."""
    with open(path, 'rb') as f:
        d = f.read()
    magic, _load, hdr_size, prot, img_size, _flags = struct.unpack_from('<IIHHII', d, 0)
    check(magic == 0x96f3b83d, f'{path}: not an MCUboot image')
    major, minor, rev, build = struct.unpack_from('<BBHI', d, 20)
    tlv_off = hdr_size + img_size + prot
    tlv_magic, tlv_tot = struct.unpack_from('<HH', d, tlv_off)
    check(tlv_magic == 0x6907, f'{path}: no TLV info')
    desc_len = hdr_size + prot + tlv_tot
    desc_len = (desc_len + 3) // 4 * 4
    return {
        'version': f'{major}.{minor}.{rev}+{build}',
        'payload': d[hdr_size:hdr_size + img_size],
        'size': tlv_off + tlv_tot,
        'data': d[:tlv_off + tlv_tot],
        'desc_len': desc_len,
    }


def server_info(fw, variant):
    """The update server a firmware variant was built for (app/app_server_info.h)."""
    path = os.path.join(fw, variant + '.server.txt')
    with open(path) as f:
        text = f.read()
    m = re.search(r'^app_server host="([^"]*)" port=(\d+)u? proto=(\d) dhcp=(\d) path="([^"]*)"',
                  text, re.M)
    check(m is not None, f'{path}: no app_server line')
    return {'host': m.group(1), 'port': int(m.group(2)), 'proto': int(m.group(3)),
            'dhcp': m.group(4) == '1', 'path': m.group(5)}


def run_tool(args):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = p.stdout.decode('utf-8', 'replace')
    check(p.returncode == 0, f'{" ".join(args)} failed ({p.returncode}): {out}')
    return out


def factory_hex(ctx, variant, work):
    hexf = os.path.join(work, f'factory-{variant}.hex')
    run_tool([os.path.join(ctx.tools, 'otafactory'), '--boot', os.path.join(ctx.fw, 'bootloader.bin'),
              '--image', os.path.join(ctx.fw, variant + '.img'), '--hex', hexf])
    return hexf


class OtaServer:
    """tools/otaserver on the loopback, any free ports."""

    def __init__(self, ctx, image, work):
        self.log = open(os.path.join(work, 'otaserver.log'), 'w+')
        self.p = subprocess.Popen([os.path.join(ctx.tools, 'otaserver'), '--image', image,
                                   '--port', '0', '--http-port', '0'],
                                  stdout=self.log, stderr=subprocess.STDOUT)
        self.raw_port = self.http_port = None
        # A hang guard only: a loaded CI machine may take seconds to start a process.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.log.seek(0)
            m = re.search(r'listening raw_port=(\d+) http_port=(\d+)', self.log.read())
            if m:
                self.raw_port, self.http_port = int(m.group(1)), int(m.group(2))
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise Fail('otaserver did not start')

    def port_for(self, proto):
        return self.http_port if proto == 2 else self.raw_port

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


class Nginx:
    """nginx through tests/e2e/servers/nginx.sh, serving ROOT on a free loopback port."""

    def __init__(self, ctx, root):
        self.script = os.path.join(ctx.src, 'tests', 'e2e', 'servers', 'nginx.sh')
        # The free port is not reserved until nginx binds it: another test's socket may take it
        # meanwhile, so a failed start is tried again on another port.
        for attempt in range(5):
            s = socket.socket()
            s.bind(('127.0.0.1', 0))
            self.port = s.getsockname()[1]
            s.close()
            try:
                run_tool(['sh', self.script, 'start', str(self.port), root])
                return
            except Fail:
                if attempt == 4:
                    raise

    def stop(self):
        subprocess.run(['sh', self.script, 'stop', str(self.port)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)


# ---------------------------------------------------------------- vboard runs

class Run:
    def __init__(self, rc, out):
        self.rc = rc
        self.out = out

    def events(self):
        """(virtual ms, text) of every vboard board message."""
        return [(float(m.group(1)), m.group(2))
                for m in re.finditer(r'\[vboard\s+([0-9.]+) ms\] ([^\n]*)', self.out)]

    def time_of(self, text):
        for t, e in self.events():
            if text in e:
                return t
        return None

    def leds(self, t0=0.0, t1=1e18):
        return [(t, e.endswith('on')) for t, e in self.events()
                if e.startswith('LED PA0 ') and t0 <= t <= t1]

    def summary(self):
        m = re.search(r'flash: (?:busy [0-9.]+ ms, )?(\d+) operations, (\d+) programs', self.out)
        r = re.search(r'resets: (\d+) \(software (\d+), iwdg (\d+), power cut (\d+)\)', self.out)
        check(m is not None and r is not None, 'no vboard summary')
        return {'ops': int(m.group(1)), 'programs': int(m.group(2)), 'resets': int(r.group(1)),
                'sw_resets': int(r.group(2)), 'iwdg_resets': int(r.group(3)),
                'cuts': int(r.group(4))}

    def started_versions(self):
        return re.findall(r'boot: starting application (\d+\.\d+\.\d+\+\d+)', self.out)


def vboard(ctx, flash, loads=(), fresh=False, maps=(), dns=(), press_on=None, stop_on=None,
           timeout_ms=60000, cut_op=None, cut_mode='clean', max_resets=8, seed=1,
           trace_flash=False, no_fast_forward=False, pace_host_only=False):
    args = [ctx.vboard, '--flash', flash, '--summary', '--timeout-ms', str(timeout_ms),
            '--max-resets', str(max_resets), '--seed', str(seed)]
    if pace_host_only:
        args.append('--pace-host-only')
    if fresh:
        args.append('--fresh')
    if trace_flash:
        args.append('--trace-flash')
    if no_fast_forward:
        args.append('--no-fast-forward')
    for x in loads:
        args += ['--load', x]
    for x in maps:
        args += ['--map', x]
    for x in dns:
        args += ['--dns', x]
    if press_on:
        args += ['--press-button-on', press_on]
    if stop_on:
        args += ['--stop-on', stop_on]
    if cut_op is not None:
        args += ['--cut-power-at-flash-op', str(cut_op), '--cut-mode', cut_mode]
    p = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=HANG_GUARD_S)
    return Run(p.returncode, p.stdout.decode('utf-8', 'replace'))


def flash_bytes(flash, off, n):
    with open(flash, 'rb') as f:
        f.seek(off)
        return f.read(n)


def show(run, title):
    """The interesting part of a run's output, for the test log."""
    print(f'---- {title} (exit {run.rc})')
    for line in run.out.splitlines():
        if 'LED PA0' in line or 'HCLK' in line:
            continue
        print(line)


# ---------------------------------------------------------------- checks

def check_progress(run):
    """A progress line per tenth, increasing, the last one at 100 %."""
    pct = [int(x) for x in re.findall(r'app: download (\d+)% \(\d+/\d+ bytes\)', run.out)]
    check(len(pct) >= 10, f'expected a progress line per 10 %, got {pct}')
    check(all(b > a for a, b in zip(pct, pct[1:])), f'progress not increasing: {pct}')
    check(pct[-1] == 100, f'last progress line is not 100 %: {pct}')
    tenths = {p // 10 for p in pct}
    check(len(tenths) == len(pct), f'more than one line per tenth: {pct}')


def check_led_blinks_during_download(run):
    """The main loop never waits for the network: between the press and the reset to install,
    the LED only pauses while a flash erase stalls the core (at most 1 s for a 128 KB sector)."""
    t0 = run.time_of('button PC13 pressed')
    t1 = run.time_of('reset: software')
    check(t0 is not None and t1 is not None, 'no button press or no software reset')
    times = [t0] + [t for t, _ in run.leds(t0, t1)] + [t1]
    check(len(times) >= 4, f'LED changed only {len(times) - 2} times during the download')
    gap = max(b - a for a, b in zip(times, times[1:]))
    check(gap <= 1250.0, f'LED stopped for {gap:.0f} ms during the download')


def check_installed(run, flash, v1, v2, cut=False):
    check(run.rc == 0, f'vboard exit {run.rc}: version {v2["version"]} not reached')
    check(f'app: stm32-ota application v{v2["version"]}' in run.out, 'new version banner missing')
    # A cut during the final sector-2 erase leaves the header to be rebuilt from the new
    # application's descriptor (docs/boot-state.md): installed, reported as recovered.
    check('boot: update installed' in run.out or
          (cut and 'boot: header rebuilt from the application area' in run.out),
          'bootloader did not install')
    check('app: last update: installed' in run.out, 'new version does not report the install')
    check('staying in the bootloader' not in run.out, 'bootloader found no application')
    started = run.started_versions()
    check(set(started) <= {v1['version'], v2['version']}, f'unexpected versions started: {started}')
    check(started[-1] == v2['version'], f'last start was {started[-1]}')
    got = flash_bytes(flash, APP_OFF, len(v2['payload']))
    check(got == v2['payload'], 'application area differs from the new image\'s payload')
    check(flash_bytes(flash, STAGING_OFF, v2['size']) == v2['data'],
          'staging differs from the served image')


def led_intervals(changes):
    return [round(b[0] - a[0]) for a, b in zip(changes, changes[1:])]


def check_led_pattern(run, major, t0):
    """Major 1 toggles every 200 ms; later majors double-blink once a second (100 ms on/off)."""
    ch = run.leds(t0)
    check(len(ch) >= 6, f'LED changed only {len(ch)} times after {t0:.0f} ms')
    iv = led_intervals(ch)
    if major <= 1:
        check(all(abs(x - 200) <= 2 for x in iv), f'v1 LED intervals not 200 ms: {iv}')
    else:
        check(all(abs(x - 100) <= 2 or abs(x - 700) <= 2 for x in iv),
              f'v2 LED intervals not the double blink: {iv}')
        check(any(abs(x - 700) <= 2 for x in iv) and any(abs(x - 100) <= 2 for x in iv),
              f'v2 LED: no double blink seen: {iv}')
        ons = [round(b[0] - a[0]) for a, b in zip(ch, ch[1:]) if a[1]]
        check(all(abs(x - 100) <= 2 for x in ons), f'v2 LED on-times not 100 ms: {ons}')


def power_cycle(ctx, flash, version, ms=2500):
    """Power the board on again without a button press: the given version must start, nothing is
    written to flash, and the LED shows that version's pattern."""
    r = vboard(ctx, flash, timeout_ms=ms)
    show(r, 'power cycle')
    check(r.rc == 0, f'power-cycle run ended with exit {r.rc}')
    check(r.started_versions() == [version], f'power cycle started {r.started_versions()}')
    check(f'app: running v{version}' in r.out, 'application did not reach its main loop')
    check(r.summary()['ops'] == 0, 'a plain boot wrote to flash')
    check_led_pattern(r, int(version.split('.')[0]), 500.0)
    return r


# ---------------------------------------------------------------- scenarios

def update_run(ctx, work, variant, port, served, extra_dns=(), **kw):
    """Fresh board with the factory image of variant, server mapped, button pressed."""
    srv = server_info(ctx.fw, variant)
    v1 = image_info(os.path.join(ctx.fw, variant + '.img'))
    flash = os.path.join(work, 'board.flash')
    lan_ip = srv['host']
    dns = list(extra_dns)
    if not re.match(r'^\d+\.\d+\.\d+\.\d+$', lan_ip):
        lan_ip = '192.168.1.10'
        dns.append(f'{srv["host"]}={lan_ip}')
    r = vboard(ctx, flash, loads=[factory_hex(ctx, variant, work)], fresh=True,
               maps=[f'{lan_ip}:{srv["port"]}={port}'], dns=dns,
               press_on=f'app: running v{v1["version"]}', **kw)
    return r, flash, v1, srv


def scenario_happy(ctx, work, variant, use_nginx):
    v2 = image_info(os.path.join(ctx.fw, 'app_v2.img'))
    srv = server_info(ctx.fw, variant)
    if use_nginx:
        root = os.path.join(work, 'www')
        os.makedirs(root)
        shutil.copy(os.path.join(ctx.fw, 'app_v2.img'), os.path.join(root, srv['path'].lstrip('/')))
        server = Nginx(ctx, root)
        port = server.port
    else:
        server = OtaServer(ctx, os.path.join(ctx.fw, 'app_v2.img'), work)
        port = server.port_for(srv['proto'])
    try:
        r, flash, v1, srv = update_run(ctx, work, variant, port, v2,
                                       stop_on=f'app: running v{v2["version"]}')
    finally:
        server.stop()
    show(r, f'update {variant} -> {v2["version"]}')
    check_installed(r, flash, v1, v2)
    check_progress(r)
    check_led_blinks_during_download(r)
    s = r.summary()
    check(s['sw_resets'] == 1 and s['cuts'] == 0 and s['iwdg_resets'] == 0,
          f'expected exactly one software reset: {s}')
    if srv['dhcp']:
        check('app: network up, address 192.168.1.' in r.out, 'no DHCP address logged')
    else:
        check('app: network up, address 192.168.1.50' in r.out, 'static address not used')
    if not re.match(r'^\d+\.\d+\.\d+\.\d+$', srv['host']):
        check(f'app: {srv["host"]} is 192.168.1.10' in r.out, 'host name not resolved by DNS')
    power_cycle(ctx, flash, v2['version'])


def scenario_raw_resume(ctx, work):
    """Raw TCP with the offset extension, power cut in the middle of the download: after the cut
    the application asks for the rest only (GET firmware <offset>) and the update completes."""
    v2 = image_info(os.path.join(ctx.fw, 'app_v2.img'))
    srv = server_info(ctx.fw, 'app_rawr')
    check(srv['proto'] == 1, 'app_rawr is not built for the resumable raw protocol')
    # Every word of the image is one program operation: 40 % of them is inside the download.
    cut = v2['size'] // 4 * 2 // 5
    server = OtaServer(ctx, os.path.join(ctx.fw, 'app_v2.img'), work)
    try:
        r, flash, v1, _ = update_run(ctx, work, 'app_rawr', server.port_for(srv['proto']), v2,
                                     stop_on=f'app: running v{v2["version"]}', cut_op=cut,
                                     cut_mode='torn')
    finally:
        server.stop()
    show(r, f'raw resume, power cut at flash op {cut}')
    check(f'power cut at flash op {cut} (program' in r.out, 'the cut did not hit a program')
    check_installed(r, flash, v1, v2, cut=True)
    after = r.out[r.out.index('power cut at flash op'):]
    m = re.search(r'app: resuming at byte (\d+)', after)
    check(m is not None and int(m.group(1)) > 0, 'the download did not resume from a checkpoint')
    done = re.search(r'app: update done after \d+ ms \((\d+) bytes received', after)
    check(done is not None, 'no final status after the cut')
    got = int(done.group(1))
    check(got < v2['size'], f'{got} bytes received after the cut: the image came again from 0')
    check(got >= v2['size'] - int(m.group(1)), f'{got} bytes cannot complete the image')
    s = r.summary()
    check(s['cuts'] == 1 and s['sw_resets'] == 1 and s['iwdg_resets'] == 0, f'resets: {s}')


def scenario_http_baseline(ctx, work):
    """HTTP from otaserver in two runs: download + mark, then the install on the next power-on.
    Records the flash operation counts of both phases for the power-cut samples."""
    v2 = image_info(os.path.join(ctx.fw, 'app_v2.img'))
    srv = server_info(ctx.fw, 'app')
    server = OtaServer(ctx, os.path.join(ctx.fw, 'app_v2.img'), work)
    try:
        r1, flash, v1, _ = update_run(ctx, work, 'app', server.port_for(srv['proto']), v2,
                                      stop_on='app: image verified and marked pending')
    finally:
        server.stop()
    show(r1, 'download')
    check(r1.rc == 0, f'download run exit {r1.rc}')
    check_progress(r1)
    check(flash_bytes(flash, APP_OFF, len(v1['payload'])) == v1['payload'],
          'application area changed before the install')
    d_ops = r1.summary()['ops']
    check(d_ops > 0, 'no flash operations during the download')
    r2 = vboard(ctx, flash, stop_on=f'app: running v{v2["version"]}')
    show(r2, 'install on power-on')
    check_installed(r2, flash, v1, v2)
    i_ops = r2.summary()['ops']
    if ctx.ops:
        with open(ctx.ops, 'w') as f:
            json.dump({'download': d_ops, 'install': i_ops, 'desc_len': v2['desc_len']}, f)
    print(f'flash operations: download + mark {d_ops}, install {i_ops}')
    power_cycle(ctx, flash, v2['version'])


def scenario_bad(ctx, work, kind):
    """An image the device must refuse: signed by another key, or older than the installed one."""
    otapack = os.path.join(ctx.tools, 'otapack')
    v1 = image_info(os.path.join(ctx.fw, 'app.img'))
    bad = os.path.join(work, 'bad.img')
    if kind == 'bad_key':
        key = os.path.join(work, 'other.pem')
        run_tool([otapack, 'keygen', '-o', key])
        v2 = image_info(os.path.join(ctx.fw, 'app_v2.img'))
        run_tool([otapack, 'sign', '-k', key, '--version', v2['version'],
                  os.path.join(ctx.fw, 'app_v2.bin'), bad])
        want = 'image does not verify'
    else:
        key = os.path.join(ctx.src, 'keys', 'dev-ed25519-TEST-ONLY.pem')
        major = int(v1['version'].split('.')[0])
        check(major >= 1, 'installed major version 0: no older version to serve')
        run_tool([otapack, 'sign', '-k', key, '--version', f'{major - 1}.9.0+1',
                  os.path.join(ctx.fw, 'app.bin'), bad])
        want = 'not newer than installed'
    srv = server_info(ctx.fw, 'app')
    server = OtaServer(ctx, bad, work)
    try:
        r, flash, v1, _ = update_run(ctx, work, 'app', server.port_for(srv['proto']), None,
                                     stop_on='), still running')
    finally:
        server.stop()
    show(r, f'{kind} image served')
    check(r.rc == 0, f'exit {r.rc}: no failure reported')
    check(f'app: update failed: {want}' in r.out, f'failure is not "{want}"')
    s = r.summary()
    check(s['resets'] == 0, f'the board reset after a refused image: {s}')
    check(flash_bytes(flash, APP_OFF, len(v1['payload'])) == v1['payload'],
          'application area changed')
    if kind == 'downgrade':
        # The header is checked before anything is erased.
        check(s['ops'] == 0, f'flash written for a downgrade: {s["ops"]} operations')
    else:
        check(s['ops'] > 0, 'the other-key image was not downloaded')
    r2 = power_cycle(ctx, flash, v1['version'])
    if kind == 'bad_key':
        check('complete download found but not installable' in r2.out,
              'staged bad image not recognised on the next boot')


# ---------------------------------------------------------------- power cuts
#
# Baseline (once): the download + mark run and the install run, each with --trace-flash, give
# the text of every flash operation of a whole update; the flash file at "marked pending" is kept.
# Cases: a cut at one operation in one mode, then power back on until version 2 runs.
#   download phase: fresh factory board, button, download from otaserver, cut at op n;
#   install phase: from the kept "marked pending" flash (no network needed: the install is the
#   bootloader's), cut at install op n; a few install cases also go the whole way from the
#   factory image (software reset to the bootloader, as on the board).
# Sample (make test): every erase in all three modes, the first and last word of every
# sector-2 record, header and descriptor write (torn and clean; every word of the install's
# descriptor + header torn), plus operations at a fixed stride over the rest of each phase with
# the modes in turn. --sweep: every operation of both phases (modes in turn; erases and sector-2
# writes in all three modes).

PC_MODES = ('clean', 'torn', 'partial-erase')
SECTOR2 = (0x08008000, 0x0800C000)


def trace_ops(run):
    """[(virtual ms, text)] of the flash operations of a --trace-flash run (index 0 = op 1)."""
    ops = [(int(m.group(2)), float(m.group(1)), m.group(3))
           for m in re.finditer(r'\[vboard\s+([0-9.]+) ms\] flash op (\d+): ([^\n]*)', run.out)]
    check(ops and [n for n, _, _ in ops] == list(range(1, len(ops) + 1)), 'flash op trace broken')
    return [(t, text) for _, t, text in ops]


def sector2_addr(text):
    m = re.match(r'program 0x([0-9a-f]{8}) <- ', text)
    a = int(m.group(1), 16) if m else None
    return a if a is not None and SECTOR2[0] <= a < SECTOR2[1] else None


def sector2_writes(trace):
    """(first, last) ops (1-based) of each sector-2 write: consecutive word programs at
    consecutive addresses less than 0.1 ms apart (one flash_port_program call)."""
    groups = []
    prev = None
    for i, (t, text) in enumerate(trace, 1):
        a = sector2_addr(text)
        if a is None:
            prev = None
            continue
        if prev is not None and a == prev[0] + 4 and t - prev[1] < 0.1:
            groups[-1] = (groups[-1][0], i)
        else:
            groups.append((i, i))
        prev = (a, t)
    return groups


def pc_phase_samples(ops, phase, sweep, stride_cases, every_sector2_word):
    """{op: [modes]} for one phase."""
    want = {}

    def add(n, *modes):
        lst = want.setdefault(n, [])
        for m in modes:
            if m not in lst:
                lst.append(m)

    for n, (_, t) in enumerate(ops, 1):
        if t.startswith('erase') or t.startswith('mass erase'):
            add(n, *PC_MODES)
    for first, last in sector2_writes(ops):
        add(first, 'torn', 'clean')
        add(last, 'torn', 'clean')
        if sweep or every_sector2_word:
            for n in range(first, last + 1):
                add(n, 'torn')
    if sweep:
        for n in range(1, len(ops) + 1):
            if n not in want:
                add(n, PC_MODES[n % 3])
    else:
        step = max(1, len(ops) // stride_cases)
        for k, n in enumerate(range(step // 2 + 1, len(ops) + 1, step)):
            if n not in want:
                add(n, PC_MODES[k % 3])
    return want


def pc_sample(d_ops, i_ops, sweep):
    """[(phase, op within the phase, mode, via)]: via 'factory' runs the whole update from the
    factory image, 'pending' starts from the kept flash at "marked pending"."""
    cases = []
    for n, modes in sorted(pc_phase_samples(d_ops, 'download', sweep, 40, False).items()):
        cases += [('download', n, m, 'factory') for m in modes]
    for n, modes in sorted(pc_phase_samples(i_ops, 'install', sweep, 150, True).items()):
        cases += [('install', n, m, 'pending') for m in modes]
    # The install after the application's software reset, not from a power-on: first and last
    # operation of the install and the sector-2 erase.
    s2 = [n for n, (_, t) in enumerate(i_ops, 1) if t == 'erase sector 2']
    for n, m in ((1, 'clean'), (s2[0] if s2 else 1, 'partial-erase'), (len(i_ops), 'torn')):
        cases.append(('install', n, m, 'factory'))
    return cases


def pc_case(ctx, work, case, k, base):
    phase, n, mode, via = case
    d_ops, i_ops = base['d_ops'], base['i_ops']
    v1, v2 = base['v1'], base['v2']
    flash = os.path.join(work, f'pc-{phase}-{n}-{mode}-{via}.flash')
    if via == 'factory':
        cut = n if phase == 'download' else len(d_ops) + n
        r = vboard(ctx, flash, loads=[base['hexf']], fresh=True, maps=[base['map']],
                   press_on=f'app: running v{v1["version"]}',
                   stop_on=f'app: running v{v2["version"]}', cut_op=cut, cut_mode=mode,
                   timeout_ms=120000, seed=k, pace_host_only=True)
    else:
        shutil.copyfile(base['pending'], flash)
        cut = n
        r = vboard(ctx, flash, stop_on=f'app: running v{v2["version"]}', cut_op=cut,
                   cut_mode=mode, timeout_ms=60000, seed=k)
    want = (d_ops if phase == 'download' else i_ops)[n - 1][1]
    try:
        m = re.search(r'power cut at flash op (\d+) \(([^)]*)\)', r.out)
        check(m is not None and int(m.group(1)) == cut, f'no power cut at flash op {cut}')
        # The same operation as in the baseline: the update runs the same way up to the cut.
        check(m.group(2) == want, f'op {cut} is "{m.group(2)}", baseline "{want}"')
        cut_at = m.start()
        before, after = r.out[:cut_at], r.out[cut_at:]
        again = None
        if phase == 'download':
            check('reset: software' not in before, 'cut came after the reset to install')
            picked = ('app: unfinished download found' in after or
                      'app: complete download found, verified' in after)
            if n <= base['start_end'] and not picked:
                # Cut in the first record of the download: no update is on record, the board
                # runs version 1 and a new press of the button starts the update again.
                check(r.rc == 1 and f'app: running v{v1["version"]}' in after,
                      'version 1 does not run after the cut')
                check(flash_bytes(flash, APP_OFF, len(v1['payload'])) == v1['payload'],
                      'application area changed')
                again = vboard(ctx, flash, maps=[base['map']],
                               press_on=f'app: running v{v1["version"]}',
                               stop_on=f'app: running v{v2["version"]}', timeout_ms=120000,
                               seed=k, pace_host_only=True)
                check('app: resuming at byte' not in again.out, 'resumed a download never recorded')
            else:
                check(picked, 'the application did not pick up the interrupted download')
            if base['ckpt_end'] < n < base['pending_first']:
                # After the first checkpoint record and before the PENDING record: the download
                # must continue from a proven checkpoint, not from byte 0.
                m2 = re.search(r'app: resuming at byte (\d+)', after)
                check(m2 is not None and int(m2.group(1)) > 0,
                      'the interrupted download started again from byte 0')
        else:
            # "installing staged image", or "installing" with the bootloader's short messages
            check('boot: installing' in before, 'cut came before the install')
            if via == 'factory':
                check('reset: software' in before, 'cut came before the reset to install')
        first = re.search(r'boot: starting application (\d+\.\d+\.\d+\+\d+)', after)
        check(first is not None, 'no application started after the cut')
        check(first.group(1) in (v1['version'], v2['version']),
              f'after the cut {first.group(1)} started')
        s = r.summary()
        check(s['cuts'] == 1 and s['iwdg_resets'] == 0, f'resets: {s}')
        if again is not None:
            r = again
            s = r.summary()
            check(s['cuts'] == 0 and s['iwdg_resets'] == 0 and s['sw_resets'] == 1,
                  f'resets after the new press: {s}')
        else:
            check(s['sw_resets'] == (1 if phase == 'download' or via == 'factory' else 0),
                  f'software resets: {s}')
        check_installed(r, flash, v1, v2, cut=True)
        os.remove(flash)
        return None
    except Fail as e:
        show(r, f'power cut at {phase} op {n} ({mode}, from {via})')
        return f'{phase} op {n} {mode} from {via}: {e}'


def pc_same_without_ff(ctx, work, base):
    """The install from the "marked pending" flash once more with --no-fast-forward: the output
    (every logged time, the flash trace) and the flash must be the same as with it. Returns a
    line to print, or raises Fail."""
    v2 = base['v2']
    slow = os.path.join(work, 'no-ff.flash')
    shutil.copyfile(base['pending'], slow)
    r3 = vboard(ctx, slow, stop_on=f'app: running v{v2["version"]}', trace_flash=True,
                no_fast_forward=True)
    r2 = base['install_run']
    skip = re.compile(r'^  (flash poll skipped|instructions|paced to real time): ')
    a = [x for x in r2.out.splitlines() if not skip.match(x)]
    b = [x for x in r3.out.splitlines() if not skip.match(x)]
    check(a == b, 'install output differs with --no-fast-forward')
    check(flash_bytes(base['installed'], 0, 0x80000) == flash_bytes(slow, 0, 0x80000),
          'flash differs with --no-fast-forward')
    ff = re.search(r'flash poll skipped: ([0-9.]+) ms of cpu in (\d+) jumps \((\d+) instr', r2.out)
    ins = [int(x) for x in re.findall(r'instructions: (\d+),', r2.out + r3.out)]
    check(ff is not None and int(ff.group(2)) > 0 and len(ins) == 2, 'no fast-forward seen')
    return (f'install: same output with and without fast-forward ({len(a)} lines); '
            f'{ins[1]} instructions emulated without, {ins[0]} with ({ff.group(1)} ms jumped)')


def pc_baseline(ctx, work, server):
    """Download + mark and install with the flash operations traced; the "marked pending" flash
    kept."""
    v1 = image_info(os.path.join(ctx.fw, 'app.img'))
    v2 = image_info(os.path.join(ctx.fw, 'app_v2.img'))
    srv = server_info(ctx.fw, 'app')
    check(re.match(r'^\d+\.\d+\.\d+\.\d+$', srv['host']) is not None, 'app must use an IP address')
    hexf = factory_hex(ctx, 'app', work)
    lan_map = f'{srv["host"]}:{srv["port"]}={server.port_for(srv["proto"])}'
    flash = os.path.join(work, 'baseline.flash')
    r1 = vboard(ctx, flash, loads=[hexf], fresh=True, maps=[lan_map],
                press_on=f'app: running v{v1["version"]}',
                stop_on='app: image verified and marked pending', trace_flash=True)
    check(r1.rc == 0, f'baseline download exit {r1.rc}')
    d_ops = trace_ops(r1)
    check(len(d_ops) == r1.summary()['ops'], 'trace and summary disagree')
    pending = os.path.join(work, 'pending.flash')
    shutil.copyfile(flash, pending)
    r2 = vboard(ctx, flash, stop_on=f'app: running v{v2["version"]}', trace_flash=True)
    check_installed(r2, flash, v1, v2)
    i_ops = trace_ops(r2)
    # Sector-2 writes of the download: the start record, checkpoints, the PENDING record.
    groups = sector2_writes(d_ops)
    check(len(groups) >= 3, f'download: {len(groups)} sector-2 writes')
    i_groups = sector2_writes(i_ops)
    print(f'flash operations: download + mark {len(d_ops)}, install {len(i_ops)}; sector-2 '
          f'writes: download {len(groups)} ({sum(b - a + 1 for a, b in groups)} words), install '
          f'{len(i_groups)} ({sum(b - a + 1 for a, b in i_groups)} words)')
    return {'d_ops': d_ops, 'i_ops': i_ops, 'v1': v1, 'v2': v2, 'hexf': hexf, 'map': lan_map,
            'install_run': r2, 'installed': flash,
            'pending': pending, 'start_end': groups[0][1], 'ckpt_end': groups[1][1],
            'pending_first': groups[-1][0]}


def scenario_powercut(ctx, work):
    t0 = time.monotonic()
    server = OtaServer(ctx, os.path.join(ctx.fw, 'app_v2.img'), work)
    try:
        base = pc_baseline(ctx, work, server)
        cases = pc_sample(base['d_ops'], base['i_ops'], ctx.sweep)
        if ctx.part:
            # One share of the cases (K/M: every M-th case from the K-th), to split a sweep.
            k, m = (int(x) for x in ctx.part.split('/'))
            check(1 <= k <= m, f'--part {ctx.part}: want K/M with 1 <= K <= M')
            cases = cases[k - 1::m]
        counts = {}
        for phase, _, mode, via in cases:
            key = f'{phase}/{mode}' + ('' if via == 'pending' or phase == 'download' else '/factory')
            counts[key] = counts.get(key, 0) + 1
        print('cases: ' + ', '.join(f'{k} {v}' for k, v in sorted(counts.items())))
        special = []
        for phase, ops in (('download', base['d_ops']), ('install', base['i_ops'])):
            for n, (_, t) in enumerate(ops, 1):
                if not sector2_addr(t) and not t.startswith('program'):
                    special.append(f'{phase} op {n} {t} x{sum(c[:2] == (phase, n) for c in cases)}')
            for a, b in sector2_writes(ops):
                cut = sum(c[0] == phase and a <= c[1] <= b for c in cases)
                special.append(f'{phase} sector-2 write ops {a}-{b} x{cut}')
        print('special operations cut: ' + '; '.join(special))
        failures = []
        # Cases through the network are paced to real time (mostly asleep): more of them at once.
        with concurrent.futures.ThreadPoolExecutor(max_workers=ctx.jobs) as cpu_ex, \
                concurrent.futures.ThreadPoolExecutor(max_workers=ctx.net_jobs) as net_ex:
            same = cpu_ex.submit(pc_same_without_ff, ctx, work, base)
            futs = [(net_ex if c[3] == 'factory' else cpu_ex).submit(pc_case, ctx, work, c, k + 1,
                                                                      base)
                    for k, c in enumerate(cases)]
            try:
                print(same.result(), flush=True)
            except Fail as e:
                failures.append(f'fast-forward comparison: {e}')
            for i, ((phase, n, mode, via), fut) in enumerate(zip(cases, futs), 1):
                err = fut.result()
                if ctx.sweep and i % 500 == 0:
                    print(f'{i}/{len(cases)} cases, {len(failures)} failures, '
                          f'{time.monotonic() - t0:.0f} s', flush=True)
                if err is not None or not ctx.sweep:
                    print(f'cut at {phase:8s} op {n:5d} {mode:13s} from {via:7s}: '
                          f'{"ok" if err is None else "FAIL"}')
                if err is not None:
                    failures.append(err)
    finally:
        server.stop()
    for e in failures:
        print('FAIL', e)
    print(f'power-cut wall time: {time.monotonic() - t0:.0f} s (jobs {ctx.jobs}, networked '
          f'{ctx.net_jobs})')
    print(f'power-cut cases: {len(cases)}, failures: {len(failures)}')
    check(not failures, f'{len(failures)} power-cut cases failed')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('scenario')
    ap.add_argument('--vboard', required=True)
    ap.add_argument('--tools', required=True)
    ap.add_argument('--fw', required=True)
    ap.add_argument('--src', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--ops')
    ap.add_argument('--sweep', action='store_true')
    ap.add_argument('--jobs', type=int, default=1)
    ap.add_argument('--part', help='powercut: run share K/M of the cases (K-th, every M-th)')
    ap.add_argument('--only-if-long', action='store_true',
                    help='benchmark use: run only with OTA_BENCH_LONG=1 (make bench-long)')
    ap.add_argument('--net-jobs', type=int, default=None,
                    help='power-cut cases through the network run at once (default: jobs)')
    ctx = ap.parse_args()
    if ctx.net_jobs is None:
        ctx.net_jobs = ctx.jobs
    if ctx.only_if_long and os.environ.get('OTA_BENCH_LONG') != '1':
        print(f'fw_ota {ctx.scenario}: power cut at every flash operation on the virtual board '
              'runs in make bench-long (make test samples ~320 cases)')
        return 0
    os.makedirs(ctx.work, exist_ok=True)
    work = tempfile.mkdtemp(dir=ctx.work, prefix=ctx.scenario + '-')
    try:
        for f in ('bootloader.bin', 'app.img', 'app_v2.img'):
            check(os.path.exists(os.path.join(ctx.fw, f)), f'{ctx.fw}/{f} missing: build the firmware')
        if ctx.scenario == 'http':
            scenario_http_baseline(ctx, work)
        elif ctx.scenario == 'raw':
            scenario_happy(ctx, work, 'app_raw', False)
        elif ctx.scenario == 'raw_resume':
            scenario_raw_resume(ctx, work)
        elif ctx.scenario == 'nginx_dns':
            scenario_happy(ctx, work, 'app_dns', True)
        elif ctx.scenario in ('bad_key', 'downgrade'):
            scenario_bad(ctx, work, ctx.scenario)
        elif ctx.scenario == 'powercut':
            scenario_powercut(ctx, work)
        else:
            raise Fail(f'unknown scenario {ctx.scenario}')
    except Fail as e:
        print(f'fw_ota {ctx.scenario}: FAIL {e}')
        return 1
    except subprocess.TimeoutExpired as e:
        print(f'fw_ota {ctx.scenario}: FAIL hung: {e}')
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f'fw_ota {ctx.scenario}: PASS')
    return 0


if __name__ == '__main__':
    sys.exit(main())
