#!/usr/bin/env python3
"""Every kind of bad image the bootloader refuses, served over the network to the real application.

Each kind is crafted from the signed build/fw/app_v2.img (byte edits in python, or otapack with the
test key where the kind needs a valid signature) and served by otaserver on the loopback; otaserver
checks what it serves at start-up and refuses some kinds itself (bad magic, truncated, hash ...):
those are served by nginx (tests/e2e/servers/nginx.sh) instead, as any web server or CDN would.
Per kind, one vboard run with the factory image of version 1 (button pressed at the ready line)
and one power cycle, checking:
  - the application names the failure: "app: image refused: <lib/image error>" where lib/image
    has a name for it, then "app: update failed: <status>";
  - nothing is marked pending, the board never resets, the application area is unchanged;
  - kinds detectable from the 32-byte header: no flash operation at all (nothing erased);
  - after a power cycle version 1 runs, the bootloader attempts no install.

usage: fw_badimg.py --vboard VBOARD --tools HOSTDIR --fw FWDIR --src SRCDIR --work DIR
                    [--jobs N] [--only KIND,...] [--list]
"""
import argparse
import concurrent.futures
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fw_ota'))
import fw_ota  # noqa: E402  (the e2e helpers: vboard runs, otaserver, images)
from fw_ota import Fail, check  # noqa: E402

TLV_SHA256, TLV_KEYHASH, TLV_PUBKEY, TLV_ECDSA, TLV_ED25519 = 0x10, 0x01, 0x02, 0x22, 0x24
SRAM_TOP = 0x20020000
APP_ADDR = 0x08040000
TEST_KEY = os.path.join('keys', 'dev-ed25519-TEST-ONLY.pem')

# lib/image/image.c image_strerror()
E_MAGIC = 'bad image magic'
E_HDR_SIZE = 'bad header size'
E_EMPTY = 'empty payload'
E_TOO_BIG = 'image does not fit its slot'
E_FLAGS = 'unsupported image flags'
E_TLV_MAGIC = 'bad TLV info magic'
E_TLV_LEN = 'bad TLV length'
E_PROT = 'protected TLV size mismatch'
E_NO_HASH = 'no SHA256 TLV'
E_HASH = 'hash mismatch'
E_NO_SIG = 'no Ed25519 signature'
E_NO_KEYHASH = 'no key hash or public key TLV'
E_KEYHASH = 'signed by another key'
E_SIG = 'bad signature'
E_DUP = 'duplicated TLV'
E_DESC = 'header and TLVs too large for the descriptor'

# ota_client_status_str()
S_HEADER = 'bad image header'
S_TOO_BIG = 'image too big'
S_VERIFY = 'image does not verify'
S_DOWNGRADE = 'not newer than installed'
S_TRUNCATED = 'image truncated at the server'
S_VECTORS = 'bad vector table'


# ---------------------------------------------------------------- image surgery

class Img:
    """A parsed MCUboot image: header fields, payload, protected area bytes, TLV entries."""

    def __init__(self, data):
        (self.magic, self.load, self.hdr_size, self.prot_size, self.img_size,
         self.flags) = struct.unpack_from('<IIHHII', data, 0)
        self.ver = data[20:28]
        self.pad = data[28:32]
        self.hdr_pad = data[32:self.hdr_size]
        self.payload = data[self.hdr_size:self.hdr_size + self.img_size]
        p = self.hdr_size + self.img_size
        self.prot = data[p:p + self.prot_size]
        t = p + self.prot_size
        magic, tot = struct.unpack_from('<HH', data, t)
        check(magic == 0x6907, 'app_v2.img: no TLV area')
        self.tlvs = []
        o = t + 4
        while o < t + tot:
            typ, ln = struct.unpack_from('<HH', data, o)
            self.tlvs.append((typ, data[o + 4:o + 4 + ln]))
            o += 4 + ln

    def header(self, **kw):
        f = dict(magic=self.magic, load=self.load, hdr_size=self.hdr_size,
                 prot_size=self.prot_size, img_size=self.img_size, flags=self.flags)
        f.update(kw)
        return (struct.pack('<IIHHII', f['magic'], f['load'], f['hdr_size'], f['prot_size'],
                            f['img_size'], f['flags']) + self.ver + self.pad + self.hdr_pad)

    def tlv_area(self, tlvs=None, magic=0x6907, tot=None, lens=None):
        tlvs = self.tlvs if tlvs is None else tlvs
        body = b''
        for k, (typ, val) in enumerate(tlvs):
            ln = len(val) if lens is None or k not in lens else lens[k]
            body += struct.pack('<HH', typ, ln) + val
        return struct.pack('<HH', magic, 4 + len(body) if tot is None else tot) + body

    def build(self, hdr=None, payload=None, prot=None, tlv=None):
        return ((self.header() if hdr is None else hdr) + (self.payload if payload is None else payload)
                + (self.prot if prot is None else prot) + (self.tlv_area() if tlv is None else tlv))

    def without(self, typ):
        return [(t, v) for t, v in self.tlvs if t != typ]

    def changed(self, typ, fn):
        return [(t, fn(v) if t == typ else v) for t, v in self.tlvs]


def flip(b, i=0):
    return b[:i] + bytes([b[i] ^ 0x01]) + b[i + 1:]


def sign(ctx, work, name, payload, version, extra=()):
    binf = os.path.join(work, name + '.bin')
    out = os.path.join(work, name + '.img')
    with open(binf, 'wb') as f:
        f.write(payload)
    fw_ota.run_tool([os.path.join(ctx.tools, 'otapack'), 'sign', '-k',
                     os.path.join(ctx.src, TEST_KEY), '--version', version, *extra, binf, out])
    with open(out, 'rb') as f:
        return f.read()


def prot_mismatch(ctx, work, payload, version):
    """Signed with a protected area (security counter) whose tot_len then disagrees with
    ih_protect_tlv_size: the stage finds the TLV info where it expects it, image_parse refuses."""
    s = Img(sign(ctx, work, 'prot', payload, version, ('--security-counter', '7')))
    check(len(s.prot) == 12, 'otapack --security-counter: unexpected protected area')
    return s.build(prot=s.prot[:2] + struct.pack('<H', 16) + s.prot[4:])


def kinds(ctx, work):
    """(name, image bytes, status, lib/image error text or None, header-detectable).

    The bootloader's reasons (boot/core/boot_core.h) each appear at least once: MAGIC, HDR_SIZE,
    EMPTY, TOO_BIG, FLAGS, TLV_MAGIC, TLV_LEN, PROT_SIZE, NO_HASH, HASH, NO_SIG, NO_KEYHASH,
    KEYHASH, SIG, TLV_DUP, DOWNGRADE, VECTOR, INCOMPLETE (truncated), DESC_SIZE."""
    with open(os.path.join(ctx.fw, 'app_v2.img'), 'rb') as f:
        v2raw = f.read()
    with open(os.path.join(ctx.fw, 'app_v2.bin'), 'rb') as f:
        v2bin = f.read()
    v2 = Img(v2raw)
    vstr = fw_ota.image_info(os.path.join(ctx.fw, 'app_v2.img'))['version']
    v1str = fw_ota.image_info(os.path.join(ctx.fw, 'app.img'))['version']
    big = v2.img_size + 0x34000  # past the 208 KB staging area
    out = [
        # ---- refused from the 32-byte header: nothing may be erased
        ('magic', v2.build(hdr=v2.header(magic=0x96f3b83c)), S_HEADER, E_MAGIC, True),
        # ih_hdr_size 16 would put the payload inside the 32-byte header
        ('hdr_size_small', v2.build(hdr=v2.header(hdr_size=16)), S_HEADER, E_HDR_SIZE, True),
        ('hdr_size_large', v2.build(hdr=v2.header(hdr_size=0x800)), S_HEADER, E_HDR_SIZE, True),
        ('flags_encrypted', v2.build(hdr=v2.header(flags=0x4)), S_HEADER, E_FLAGS, True),
        ('flags_non_bootable', v2.build(hdr=v2.header(flags=0x10)), S_HEADER, E_FLAGS, True),
        # RAM load / ROM fixed at another load address: the image is not for our slot
        ('load_ram', v2.build(hdr=v2.header(flags=0x20, load=0x20000000)), S_HEADER, E_FLAGS,
         True),
        ('load_rom_fixed', v2.build(hdr=v2.header(flags=0x100, load=0x08020000)), S_HEADER,
         E_FLAGS, True),
        ('empty', v2.build(hdr=v2.header(img_size=0)), S_HEADER, E_EMPTY, True),
        ('size_past_slot', v2.build(hdr=v2.header(img_size=big)), S_HEADER, E_TOO_BIG, True),
        ('prot_size_short', v2.build(hdr=v2.header(prot_size=2)), S_HEADER, E_PROT, True),
        ('desc_too_large', v2.build(hdr=v2.header(prot_size=0x7f0)), S_HEADER, E_DESC, True),
        ('downgrade', sign(ctx, work, 'downgrade', v2bin, '0.9.0+1'), S_DOWNGRADE, None, True),
        ('same_version', sign(ctx, work, 'same', v2bin, v1str), S_DOWNGRADE, None, True),
        # ---- refused once the TLV info header arrives, or at the end
        # shorter than its header announces (Content-Length known): refused before any erase
        ('truncated', v2raw[:len(v2raw) // 2], S_TRUNCATED, None, True),
        ('tlv_missing', v2.build(tlv=b''), S_TRUNCATED, None, True),
        ('tlv_cut', v2raw[:-40], S_TRUNCATED, None, False),
        ('tlv_magic', v2.build(tlv=v2.tlv_area(magic=0x6908)), S_HEADER, E_TLV_MAGIC, False),
        ('tlv_tot_short', v2.build(tlv=v2.tlv_area(tot=2)), S_HEADER, E_TLV_LEN, False),
        ('tlv_len_lies', v2.build(tlv=v2.tlv_area(lens={2: 65})), S_VERIFY, E_TLV_LEN, False),
        ('prot_size_mismatch', prot_mismatch(ctx, work, v2bin, vstr), S_VERIFY, E_PROT, False),
        ('hash_mismatch', v2.build(payload=flip(v2.payload, len(v2.payload) // 2)), S_VERIFY,
         E_HASH, False),
        ('hash_tlv_missing', v2.build(tlv=v2.tlv_area(v2.without(TLV_SHA256))), S_VERIFY,
         E_NO_HASH, False),
        ('hash_tlv_twice', v2.build(tlv=v2.tlv_area([v2.tlvs[0]] + v2.tlvs)), S_VERIFY, E_DUP,
         False),
        ('sig_missing', v2.build(tlv=v2.tlv_area(v2.without(TLV_ED25519))), S_VERIFY, E_NO_SIG,
         False),
        ('sig_ecdsa_only', v2.build(tlv=v2.tlv_area(
            [(TLV_ECDSA if t == TLV_ED25519 else t, v) for t, v in v2.tlvs])), S_VERIFY, E_NO_SIG,
         False),
        ('sig_bad', v2.build(tlv=v2.tlv_area(v2.changed(TLV_ED25519, lambda v: flip(v, 10)))),
         S_VERIFY, E_SIG, False),
        ('keyhash_missing', v2.build(tlv=v2.tlv_area(v2.without(TLV_KEYHASH))), S_VERIFY,
         E_NO_KEYHASH, False),
        ('keyhash_wrong', v2.build(tlv=v2.tlv_area(v2.changed(TLV_KEYHASH, lambda v: flip(v, 3)))),
         S_VERIFY, E_KEYHASH, False),
        # ---- signed with our key, but no program the bootloader would start
        ('vector_sp', sign(ctx, work, 'vsp', struct.pack('<I', 0x10000000) + v2bin[4:], vstr),
         S_VECTORS, None, False),
        ('vector_reset_elsewhere', sign(ctx, work, 'vrst', v2bin[:4] +
                                        struct.pack('<I', 0x08020101) + v2bin[8:], vstr),
         S_VECTORS, None, False),
    ]
    return out


# ---------------------------------------------------------------- serving

def start_otaserver(ctx, image, work):
    """otaserver on free ports, or None with its refusal line when its start-up check refuses."""
    try:
        return fw_ota.OtaServer(ctx, image, work), None
    except Fail:
        with open(os.path.join(work, 'otaserver.log')) as f:
            return None, f.read().strip().splitlines()[-1:]


def serve(ctx, image, work):
    srv, refusal = start_otaserver(ctx, image, work)
    if srv is not None:
        return srv, srv.http_port, 'otaserver'
    root = os.path.join(work, 'www')
    os.makedirs(root)
    shutil.copy(image, os.path.join(root, 'firmware'))
    ng = fw_ota.Nginx(ctx, root)
    return ng, ng.port, f'nginx (otaserver refused it: {refusal[0] if refusal else "?"})'


# ---------------------------------------------------------------- one kind

def run_kind(ctx, name, data, status, detail, hdr_only):
    work = tempfile.mkdtemp(dir=ctx.work, prefix=name + '-')
    log = []
    r = None
    try:
        image = os.path.join(work, name + '.img')
        with open(image, 'wb') as f:
            f.write(data)
        srv = fw_ota.server_info(ctx.fw, 'app')
        check(srv['proto'] == 2 and srv['path'] == '/firmware', 'app is not the HTTP variant')
        server, port, how = serve(ctx, image, work)
        try:
            r, flash, v1, _ = fw_ota.update_run(ctx, work, 'app', port, None,
                                                stop_on='), still running')
        finally:
            server.stop()
        log.append(f'served by {how}')
        out = r.out
        check(r.rc == 0, f'vboard exit {r.rc}: no failure reported')
        want = f'app: update failed: {status} ('
        check(want in out, f'no "{want}" line')
        if detail is not None:
            check(f'app: image refused: {detail} (image error' in out,
                  f'no "app: image refused: {detail}" line')
        else:
            check('app: image refused:' not in out, 'unexpected image error line')
        check('marked pending' not in out, 'the application marked the image pending')
        check('boot: update pending' not in out, 'the bootloader saw a pending update')
        s = r.summary()
        check(s['resets'] == 0, f'the board reset: {s}')
        check(fw_ota.flash_bytes(flash, fw_ota.APP_OFF, len(v1['payload'])) == v1['payload'],
              'application area changed')
        if hdr_only:
            check(s['ops'] == 0, f'{s["ops"]} flash operations for an image refused by its header')
        log.append(f'flash operations {s["ops"]}')
        # Power cycle: version 1, no install attempt, nothing written.
        p = fw_ota.power_cycle(ctx, flash, v1['version'])
        for bad in ('boot: update pending', 'boot: staged image', 'boot: installing',
                    'marked pending'):
            check(bad not in p.out, f'after the power cycle: "{bad}"')
        check(fw_ota.flash_bytes(flash, fw_ota.APP_OFF, len(v1['payload'])) == v1['payload'],
              'application area changed after the power cycle')
        line = next((x for x in out.splitlines() if x.startswith('app: image refused')), '')
        log.append(line or next(x for x in out.splitlines() if x.startswith('app: update failed')))
        return None, log
    except Fail as e:
        if r is not None:
            fw_ota.show(r, f'{name} served')
        return f'{name}: {e}', log
    except subprocess.TimeoutExpired as e:
        return f'{name}: hung: {e}', log
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    for a in ('--vboard', '--tools', '--fw', '--src', '--work'):
        ap.add_argument(a, required=True)
    ap.add_argument('--jobs', type=int, default=1)
    ap.add_argument('--only')
    ap.add_argument('--list', action='store_true')
    ctx = ap.parse_args()
    ctx.ops = None
    ctx.sweep = False
    os.makedirs(ctx.work, exist_ok=True)
    t0 = time.monotonic()
    craft = tempfile.mkdtemp(dir=ctx.work, prefix='craft-')
    try:
        for f in ('bootloader.bin', 'app.img', 'app_v2.img', 'app_v2.bin'):
            check(os.path.exists(os.path.join(ctx.fw, f)), f'{ctx.fw}/{f} missing')
        ks = kinds(ctx, craft)
    except Fail as e:
        print(f'fw_badimg: FAIL {e}')
        return 1
    finally:
        shutil.rmtree(craft, ignore_errors=True)
    names = [k[0] for k in ks]
    check(len(set(names)) == len(names), 'duplicate kind names')
    if ctx.list:
        print('\n'.join(names))
        return 0
    if ctx.only:
        want = ctx.only.split(',')
        unknown = [w for w in want if w not in names]
        if unknown:
            print(f'fw_badimg: FAIL unknown kinds {unknown}')
            return 1
        ks = [k for k in ks if k[0] in want]
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=ctx.jobs) as ex:
        futs = [ex.submit(run_kind, ctx, *k) for k in ks]
        for k, fut in zip(ks, futs):
            err, log = fut.result()
            print(f'{k[0]:24s} {"ok  " if err is None else "FAIL"} {"; ".join(log)}')
            if err is not None:
                failures.append(err)
    for e in failures:
        print('FAIL', e)
    print(f'fw_badimg: {len(ks)} kinds, {len(failures)} failures '
          f'({time.monotonic() - t0:.0f} s wall)')
    if failures:
        return 1
    print('fw_badimg: PASS')
    return 0


if __name__ == '__main__':
    sys.exit(main())
