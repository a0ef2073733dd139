#!/usr/bin/env python3
"""The real bootloader and application on the virtual board against an update server that is not
there yet: the first connection is refused (nothing listens), the second gets no answer (a
listener whose accept queue is full drops the SYNs), then otaserver comes up and the third
connection downloads the update, which installs.

Checked: each failed attempt is logged with its own status (connection refused, with the W5500's
status; connect timed out, without a stale one); the waits between the attempts are the
application's production constants (APP_BACKOFF_FIRST_MS 1000 ms, then doubled; connect timeout
APP_CONNECT_TIMEOUT_MS 5000 ms), measured in virtual time from the board's LED messages; the LED
blinks its 200 ms pattern all through the retries and keeps blinking during the download; the
update is installed byte for byte and the new version starts again on the next power-on.

The server changes when the application's log says an attempt failed: the next attempt comes a
backoff later (1 s, then 2 s of virtual time), and vboard paces virtual time to real time while
the network is active, so the change has at least half a second of real time.

usage: fw_net.py --vboard VBOARD --tools HOSTDIR --fw FWDIR --src SRCDIR --work DIR
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fw_ota'))
import fw_ota  # noqa: E402  (the e2e helpers: images, factory hex, checks)
from fw_ota import Fail, check  # noqa: E402

# The application's constants (app/app_config.h) this test expects.
BACKOFF_FIRST_MS = 1000
CONNECT_TIMEOUT_MS = 5000
LED_PERIOD_MS = 200
# A UART line's virtual time is bracketed by the board messages around it (LED changes every
# 200 ms, longer only while a flash erase stalls the core); the measured waits must fit the
# expected ones within that and this margin.
SLACK_MS = 30


def config_value(src, name):
    with open(os.path.join(src, 'app', 'app_config.h')) as f:
        m = re.search(r'#define %s (\d+)u?\b' % name, f.read())
    check(m is not None, f'{name} not found in app/app_config.h')
    return int(m.group(1))


class Board:
    """A vboard run read line by line as it happens: UART lines (reassembled where a board message
    cut them: the UART's own lines end in CR LF) with the virtual-time window they were printed in,
    and a callback per complete UART line."""

    def __init__(self, ctx, args, on_line):
        self.p = subprocess.Popen([ctx.vboard] + args, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.on_line = on_line
        self.raw = []
        self.lines = []  # (text, virtual ms of the board message before it, or None)
        self.t_last = 0.0
        self.guard = threading.Timer(fw_ota.HANG_GUARD_S, self.p.kill)

    def run(self):
        self.guard.start()
        part = ''
        try:
            for b in self.p.stdout:
                line = b.decode('utf-8', 'replace')
                self.raw.append(line)
                m = re.match(r'\[vboard\s+([0-9.]+) ms\]', line)
                if m:
                    self.t_last = float(m.group(1))
                    continue
                part += line.rstrip('\n')
                if not line.endswith('\r\n'):
                    continue  # cut by a board message: the rest follows it
                text = part.rstrip('\r')
                part = ''
                self.lines.append((text, self.t_last))
                self.on_line(text)
        except BaseException:
            self.p.kill()
            raise
        finally:
            rc = self.p.wait()
            self.guard.cancel()
        return fw_ota.Run(rc, ''.join(self.raw))


def window(run, t_before):
    """(earliest, latest) virtual time of a UART line printed after the board message at
    t_before: up to the next board message."""
    later = [t for t, _ in run.events() if t > t_before]
    return t_before, (later[0] if later else t_before)


def check_wait(run, a, b, want, what):
    """The virtual time between UART lines a and b (each (text, t_before)) is want ms."""
    a0, a1 = window(run, a[1])
    b0, b1 = window(run, b[1])
    lo, hi = b0 - a1, b1 - a0
    print(f'{what}: {lo:.0f}..{hi:.0f} ms of virtual time (expected {want} ms)')
    # Narrow enough that half or twice the expected wait could not pass.
    check(hi - lo <= want / 2,
          f'{what}: lines not placed closely enough in time ({lo:.0f}..{hi:.0f} ms)')
    check(lo - SLACK_MS <= want <= hi + SLACK_MS,
          f'{what}: {lo:.0f}..{hi:.0f} ms, expected {want} ms')


class Gate:
    """The server's port as the application sees it: nothing (refused), a listener that never
    answers (its accept queue is full, so Linux drops the SYNs), or otaserver. The port is held
    by one socket until otaserver takes it, so no other process can take it meanwhile (tests run
    in parallel): bound but not listening (refused), then listening."""

    def __init__(self, ctx, image, work):
        self.ctx, self.image, self.work = ctx, image, work
        self.filler = self.server = self.log = None
        self.listener = socket.socket()
        self.listener.bind(('127.0.0.1', 0))
        self.port = self.listener.getsockname()[1]

    def silent(self):
        self.listener.listen(0)
        self.filler = socket.create_connection(('127.0.0.1', self.port), timeout=5)

    def serve(self):
        self.filler.close()
        self.listener.close()
        self.filler = self.listener = None
        self.log = open(os.path.join(self.work, 'otaserver.log'), 'w+')
        self.server = subprocess.Popen(
            [os.path.join(self.ctx.tools, 'otaserver'), '--image', self.image, '--port', '0',
             '--http-port', str(self.port)], stdout=self.log, stderr=subprocess.STDOUT)

    def server_log(self):
        if self.log is None:
            return ''
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        for s in (self.filler, self.listener):
            if s is not None:
                s.close()
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()


def scenario(ctx, work):
    check(config_value(ctx.src, 'APP_BACKOFF_FIRST_MS') == BACKOFF_FIRST_MS and
          config_value(ctx.src, 'APP_CONNECT_TIMEOUT_MS') == CONNECT_TIMEOUT_MS and
          config_value(ctx.src, 'APP_LED_PERIOD_MS') == LED_PERIOD_MS,
          'app/app_config.h constants changed: update this test')
    check(config_value(ctx.src, 'APP_MAX_ATTEMPTS') >= 3, 'fewer than three attempts allowed')
    v1 = fw_ota.image_info(os.path.join(ctx.fw, 'app.img'))
    v2 = fw_ota.image_info(os.path.join(ctx.fw, 'app_v2.img'))
    srv = fw_ota.server_info(ctx.fw, 'app')
    check(srv['proto'] == 2 and re.match(r'^\d+\.\d+\.\d+\.\d+$', srv['host']) is not None,
          'app is not built for HTTP to an IP address')
    gate = Gate(ctx, os.path.join(ctx.fw, 'app_v2.img'), work)
    events = []

    def on_line(text):
        m = re.search(r'app: attempt (\d+) failed', text)
        if m is None:
            return
        n = int(m.group(1))
        events.append(n)
        if n == 1:
            gate.silent()
        elif n == 2:
            gate.serve()

    flash = os.path.join(work, 'board.flash')
    args = ['--flash', flash, '--fresh', '--summary', '--timeout-ms', '60000', '--max-resets', '4',
            '--load', fw_ota.factory_hex(ctx, 'app', work),
            '--map', f'{srv["host"]}:{srv["port"]}={gate.port}',
            '--press-button-on', f'app: running v{v1["version"]}',
            '--stop-on', f'app: running v{v2["version"]}']
    try:
        board = Board(ctx, args, on_line)
        r = board.run()
    finally:
        gate.stop()
    fw_ota.show(r, 'update against a server that comes up late')
    print('---- otaserver log')
    print(gate.server_log())
    check(events == [1, 2], f'failed attempts logged: {events}, expected 1 and 2')

    lines = board.lines
    texts = [t for t, _ in lines]
    fails = [x for x in lines if 'failed:' in x[0] and 'app: attempt' in x[0]]
    check(fails[0][0] == 'app: attempt 1 failed: connection refused '
                         '(w5500: connection closed or refused), retrying',
          f'first attempt: {fails[0][0]!r}')
    check(fails[1][0] == 'app: attempt 2 failed: connect timed out, retrying',
          f'second attempt: {fails[1][0]!r}')
    ups = [x for x in lines if x[0].startswith('app: network up, address')]
    check(len(ups) == 3, f'{len(ups)} connection attempts started, expected 3')
    # Attempt 1 refused at once; 1 s later attempt 2, which waits 5 s for an answer; 2 s later
    # attempt 3.
    check_wait(r, fails[0], ups[1], BACKOFF_FIRST_MS, 'wait after the refused attempt')
    check_wait(r, ups[1], fails[1], CONNECT_TIMEOUT_MS, 'connect timeout')
    check_wait(r, fails[1], ups[2], 2 * BACKOFF_FIRST_MS, 'wait after the timed-out attempt')
    done = [t for t in texts if t.startswith('app: update done after')]
    check(len(done) == 1 and done[0].endswith(' 3 connections)'), f'final status: {done}')
    check('app: update failed' not in r.out, 'the update was given up')

    # The LED keeps its 200 ms pattern while the application retries (nothing waits for the
    # network), and keeps changing during the download (fw_ota's check: gaps only while an
    # erase stalls the core).
    t_press = r.time_of('button PC13 pressed')
    check(t_press is not None, 'no button press')
    t_third = window(r, ups[2][1])[0]
    iv = fw_ota.led_intervals(r.leds(t_press, t_third))
    check(len(iv) >= (CONNECT_TIMEOUT_MS + 3 * BACKOFF_FIRST_MS) // LED_PERIOD_MS,
          f'only {len(iv)} LED changes while retrying')
    check(all(abs(x - LED_PERIOD_MS) <= 2 for x in iv), f'LED intervals while retrying: {iv}')
    fw_ota.check_led_blinks_during_download(r)

    fw_ota.check_installed(r, flash, v1, v2)
    fw_ota.check_progress(r)
    s = r.summary()
    check(s['sw_resets'] == 1 and s['cuts'] == 0 and s['iwdg_resets'] == 0,
          f'expected exactly one software reset: {s}')
    log = gate.server_log()
    check(len(re.findall(r' done bytes=', log)) == 1, 'otaserver did not serve exactly one download')
    fw_ota.power_cycle(ctx, flash, v2['version'])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--vboard', required=True)
    ap.add_argument('--tools', required=True)
    ap.add_argument('--fw', required=True)
    ap.add_argument('--src', required=True)
    ap.add_argument('--work', required=True)
    ctx = ap.parse_args()
    os.makedirs(ctx.work, exist_ok=True)
    work = tempfile.mkdtemp(dir=ctx.work, prefix='late_server-')
    try:
        for f in ('bootloader.bin', 'app.img', 'app_v2.img'):
            check(os.path.exists(os.path.join(ctx.fw, f)), f'{ctx.fw}/{f} missing: build the firmware')
        scenario(ctx, work)
    except Fail as e:
        print(f'fw_net late_server: FAIL {e}')
        return 1
    except subprocess.TimeoutExpired as e:
        print(f'fw_net late_server: FAIL hung: {e}')
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print('fw_net late_server: PASS')
    return 0


if __name__ == '__main__':
    sys.exit(main())
