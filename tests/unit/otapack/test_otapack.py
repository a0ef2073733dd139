#!/usr/bin/env python3
"""Black-box tests of the otapack host tool: every command, every error it promises.

Usage: test_otapack.py OTAPACK CC SOURCE_DIR VECTORS_DIR
Facts the tests compare against come from outside otapack: imgtool's images and keys
(VECTORS_DIR/imgtool), the layout header (SOURCE_DIR/include/flash_layout.h), Python's hashlib.
"""
import base64
import hashlib
import json
import os
import re
import stat
import struct
import subprocess
import sys
import tempfile
import unittest

OTAPACK = CC = SRC = VEC = None
LAYOUT = {}
MAGIC = 0x96F3B83D


def read_layout(path):
    consts = {}
    with open(path) as f:
        for m in re.finditer(r"^#define\s+(\w+)\s+(0x[0-9A-Fa-f]+|\d+)\b", f.read(), re.M):
            consts[m.group(1)] = int(m.group(2), 0)
    return consts


def run(*args, cwd=None):
    p = subprocess.run([OTAPACK, *args], capture_output=True, cwd=cwd, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def vec(name):
    return os.path.join(VEC, "imgtool", name)


def raw_pub_from_pem(path):
    with open(path) as f:
        b64 = "".join(l for l in f.read().splitlines() if not l.startswith("-----"))
    der = base64.b64decode(b64)
    assert len(der) == 44 and der[:12] == bytes.fromhex("302a300506032b6570032100")
    return der[12:]


def walk(img):
    """Independent parse: header fields, and (type, len, value, protected) of every TLV."""
    magic, _load, hdr, prot, size, flags = struct.unpack_from("<IIHHII", img, 0)
    off = hdr + size
    tlvs = []
    for area in ((0x6908, True), (0x6907, False)):
        if area[1] and prot == 0:
            continue
        m, tot = struct.unpack_from("<HH", img, off)
        assert m == area[0]
        end = off + tot
        off += 4
        while off < end:
            t, l = struct.unpack_from("<HH", img, off)
            tlvs.append((t, l, img[off + 4:off + 4 + l], area[1]))
            off += 4 + l
    return {"magic": magic, "hdr": hdr, "prot": prot, "size": size, "flags": flags,
            "body": hdr + size + prot, "end": off, "tlvs": tlvs}


class Base(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, data):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def read(self, p):
        with open(p, "rb") as f:
            return f.read()

    def assert_fails(self, args, code, message, cwd=None):
        rc, out, err = run(*args, cwd=cwd)
        self.assertEqual(rc, code, f"otapack {' '.join(args)}: rc {rc}, stderr {err!r}")
        self.assertIn(message, err)
        # One clear line on stderr (usage errors may add the usage text after it).
        self.assertTrue(err.startswith("otapack"), err)
        return err

    def assert_ok(self, args, cwd=None):
        rc, out, err = run(*args, cwd=cwd)
        self.assertEqual(rc, 0, f"otapack {' '.join(args)}: rc {rc}, stderr {err!r}")
        self.assertEqual(err, "")
        return out

    def sign(self, payload_path, out_name="out.img", key=None, version="1.2.3+4", extra=()):
        out = self.path(out_name)
        self.assert_ok(["sign", "-k", key or vec("test-ed25519.pem"), "--version", version,
                        *extra, payload_path, out])
        return out


class TopLevel(Base):
    def test_no_command(self):
        rc, _, err = run()
        self.assertEqual(rc, 2)
        self.assertIn("usage", err)

    def test_unknown_command(self):
        self.assert_fails(["frobnicate"], 2, "unknown command frobnicate")

    def test_help(self):
        rc, _, err = run("--help")
        self.assertEqual(rc, 0)
        self.assertIn("otapack sign", err)


class StdoutFull(Base):
    """Output that cannot be written is an error, not a silent success."""

    def run_full(self, *args):
        with open("/dev/full", "wb") as full:
            p = subprocess.run([OTAPACK, *args], stdout=full, stderr=subprocess.PIPE, timeout=60)
        return p.returncode, p.stderr.decode()

    def test_stdout_full(self):
        k = vec("test-ed25519.pem")
        for args in (["getpub", "-k", k], ["getpub", "-k", k, "--c"],
                     ["verify", "-k", k, vec("ed25519-hdr32.img")],
                     ["info", vec("ed25519-hdr32.img")],
                     ["info", "--json", vec("ed25519-hdr32.img")]):
            with self.subTest(args=args):
                rc, err = self.run_full(*args)
                self.assertEqual(rc, 1, err)
                self.assertIn("cannot write to stdout", err)


class Keygen(Base):
    def test_keygen_makes_a_usable_private_key(self):
        key = self.path("k.pem")
        self.assert_ok(["keygen", "-o", key])
        text = self.read(key).decode()
        self.assertTrue(text.startswith("-----BEGIN PRIVATE KEY-----"))  # PKCS#8
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        pub = self.path("k.pub")
        self.assert_ok(["getpub", "-k", key, "-o", pub])
        img = self.sign(vec("payload.bin"), key=key)
        self.assertIn("valid", self.assert_ok(["verify", "-k", pub, img]))
        # A second key is a different key: it does not verify the first one's image.
        key2 = self.path("k2.pem")
        self.assert_ok(["keygen", "-o", key2])
        self.assertNotEqual(self.read(key), self.read(key2))
        self.assert_fails(["verify", "-k", key2, img], 1, "signed by another key")

    def test_keygen_refuses_to_overwrite(self):
        key = self.write("k.pem", b"precious")
        self.assert_fails(["keygen", "-o", key], 1, "file exists")
        self.assertEqual(self.read(key), b"precious")

    def test_keygen_bad_arguments(self):
        self.assert_fails(["keygen"], 2, "missing -o")
        self.assert_fails(["keygen", "-o"], 2, "needs a value")
        self.assert_fails(["keygen", "-x"], 2, "unknown argument")
        self.assert_fails(["keygen", "-o", self.path("nodir/k.pem")], 1, "cannot create")


class Getpub(Base):
    def test_pem_matches_imgtool(self):
        want = self.read(vec("test-ed25519.pub.pem")).decode()
        self.assertEqual(self.assert_ok(["getpub", "-k", vec("test-ed25519.pem")]), want)
        # From the public key itself too, and into a file.
        self.assertEqual(self.assert_ok(["getpub", "-k", vec("test-ed25519.pub.pem")]), want)
        out = self.path("p.pem")
        self.assert_ok(["getpub", "-k", vec("test-ed25519.pem"), "-o", out])
        self.assertEqual(self.read(out).decode(), want)

    def compile_and_dump(self, c_path, symbol):
        main = self.write("main.c", (
            "#include <stdint.h>\n#include <stdio.h>\n"
            f"extern const uint8_t {symbol}[32];\n"
            "int main(void) { for (int i = 0; i < 32; i++) printf(\"%02x\", "
            f"{symbol}[i]); return 0; }}\n").encode())
        exe = self.path("dump")
        subprocess.run([CC, "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", exe, main, c_path],
                       check=True, timeout=120)
        return subprocess.run([exe], capture_output=True, check=True).stdout.decode()

    def test_c_array(self):
        want = raw_pub_from_pem(vec("test-ed25519.pub.pem")).hex()
        out = self.path("key.c")
        self.assert_ok(["getpub", "-k", vec("test-ed25519.pem"), "--c", "-o", out])
        text = self.read(out).decode()
        self.assertIn("#include <stdint.h>", text)
        self.assertIn("const uint8_t ota_pubkey[32] = {", text)
        self.assertEqual(self.compile_and_dump(out, "ota_pubkey"), want)
        # --name, to stdout.
        text = self.assert_ok(["getpub", "-k", vec("test-ed25519.pem"), "--c", "--name",
                               "boot_pubkey"])
        self.assertIn("const uint8_t boot_pubkey[32] = {", text)
        c = self.write("boot.c", text.encode())
        self.assertEqual(self.compile_and_dump(c, "boot_pubkey"), want)

    def test_getpub_errors(self):
        self.assert_fails(["getpub"], 2, "missing -k")
        self.assert_fails(["getpub", "-k", vec("test-ed25519.pem"), "--name", "x"], 2,
                          "--name needs --c")
        self.assert_fails(["getpub", "-k", vec("test-ed25519.pem"), "--c", "--name", "1bad"], 2,
                          "not a C identifier")
        self.assert_fails(["getpub", "-k", vec("test-ed25519.pem"), "--c", "--name", "a-b"], 2,
                          "not a C identifier")
        self.assert_fails(["getpub", "-k", self.path("missing.pem")], 1, "cannot open key")
        self.assert_fails(["getpub", "-k", self.tmp], 1, "not a regular file")
        self.assert_fails(["getpub", "-k", vec("test-ecdsa-p256.pem")], 1, "not an Ed25519 key")
        self.assert_fails(["getpub", "-k", vec("payload.bin")], 1, "is not a PEM")
        self.assert_fails(["getpub", "-k", vec("test-ed25519.pem"), "-o",
                           self.path("nodir/x.pem")], 1, "cannot create")
        self.assert_fails(["getpub", "-k", vec("test-ed25519.pem"), "--bogus"], 2,
                          "unknown argument")


class Sign(Base):
    def test_byte_identical_to_imgtool(self):
        cases = [("ed25519-hdr32.img", "1.2.3+4", []),
                 ("ed25519-hdr512.img", "2.0.0", ["--header-size", "0x200"]),
                 ("ed25519-seccnt7.img", "1.2.3+5", ["--security-counter", "7"]),
                 ("ed25519-fullkey.img", "1.2.3+6", ["--public-key-full"])]
        for name, version, extra in cases:
            with self.subTest(name=name):
                out = self.sign(vec("payload.bin"), out_name=name, version=version, extra=extra)
                self.assertEqual(self.read(out), self.read(vec(name)))

    def test_layout_of_signed_image(self):
        payload = bytes(range(256)) * 5
        img = self.read(self.sign(self.write("p.bin", payload), version="255.255.65535+4294967295",
                                  extra=["--header-size", "64"]))
        w = walk(img)
        self.assertEqual(w["magic"], MAGIC)
        self.assertEqual(w["hdr"], 64)
        self.assertEqual(w["size"], len(payload))
        self.assertEqual(w["end"], len(img))
        self.assertEqual(img[32:64], b"\xff" * 32)
        self.assertEqual(img[64:64 + len(payload)], payload)
        self.assertEqual(struct.unpack_from("<BBHI", img, 20), (255, 255, 65535, 4294967295))
        types = [t[0] for t in w["tlvs"]]
        self.assertEqual(types, [0x10, 0x01, 0x24])
        self.assertEqual(w["tlvs"][0][2], hashlib.sha256(img[:w["body"]]).digest())
        spki = base64.b64decode("".join(
            self.read(vec("test-ed25519.pub.pem")).decode().splitlines()[1:-1]))
        self.assertEqual(w["tlvs"][1][2], hashlib.sha256(spki).digest())

    def test_overwrites_an_existing_output(self):
        out = self.write("out.img", b"old")
        self.sign(vec("payload.bin"))
        self.assertEqual(self.read(out), self.read(vec("ed25519-hdr32.img")))

    def test_key_errors(self):
        p = vec("payload.bin")
        o = self.path("o.img")
        self.assert_fails(["sign", "-k", self.path("nokey.pem"), "--version", "1.0.0", p, o], 1,
                          "cannot open key")
        self.assert_fails(["sign", "-k", vec("test-ecdsa-p256.pem"), "--version", "1.0.0", p, o],
                          1, "not an Ed25519 key")
        self.assert_fails(["sign", "-k", vec("test-ed25519.pub.pem"), "--version", "1.0.0", p, o],
                          1, "not a PEM private key")
        self.assert_fails(["sign", "-k", self.tmp, "--version", "1.0.0", p, o], 1,
                          "not a regular file")
        self.assertFalse(os.path.exists(o))

    def test_bad_versions(self):
        for v in ["1.2", "1.2.3.4", "256.0.0", "0.256.0", "0.0.65536", "0.0.0+4294967296",
                  "a.b.c", "1.2.3+", "-1.2.3", " 1.2.3", "1.2.3+4x", "", "1..3", "1.2.3+-4",
                  "99999999999999999999.0.0"]:
            with self.subTest(version=v):
                self.assert_fails(["sign", "-k", vec("test-ed25519.pem"), "--version", v,
                                   vec("payload.bin"), self.path("o.img")], 2, "bad version")
        self.assertFalse(os.path.exists(self.path("o.img")))

    def test_bad_header_size(self):
        for h in ["31", "0", "1025", "0x401", "abc", "", "-32", "0x"]:
            with self.subTest(header_size=h):
                self.assert_fails(["sign", "-k", vec("test-ed25519.pem"), "--version", "1.0.0",
                                   "--header-size", h, vec("payload.bin"), self.path("o.img")], 2,
                                  "bad header size")
        self.assertFalse(os.path.exists(self.path("o.img")))
        # The largest header size is accepted.
        out = self.sign(vec("payload.bin"), extra=["--header-size", "1024"])
        self.assertEqual(walk(self.read(out))["hdr"], 1024)

    def test_bad_security_counter(self):
        self.assert_fails(["sign", "-k", vec("test-ed25519.pem"), "--version", "1.0.0",
                           "--security-counter", "x", vec("payload.bin"), self.path("o.img")], 2,
                          "bad security counter")

    def test_usage_errors(self):
        k = vec("test-ed25519.pem")
        p = vec("payload.bin")
        self.assert_fails(["sign", "--version", "1.0.0", p, self.path("o")], 2, "need -k")
        self.assert_fails(["sign", "-k", k, p, self.path("o")], 2, "need -k")
        self.assert_fails(["sign", "-k", k, "--version", "1.0.0", p], 2, "need -k")
        self.assert_fails(["sign", "-k", k, "--version", "1.0.0", p, "a", "b"], 2,
                          "too many arguments")
        self.assert_fails(["sign", "-k", k, "--version", "1.0.0", "--pad", p, "o"], 2,
                          "unknown option --pad")
        self.assert_fails(["sign", "-k", k, "--version"], 2, "needs a value")

    def test_input_errors(self):
        k = vec("test-ed25519.pem")
        o = self.path("o.img")
        self.assert_fails(["sign", "-k", k, "--version", "1.0.0", self.path("none.bin"), o], 1,
                          "cannot open")
        self.assert_fails(["sign", "-k", k, "--version", "1.0.0", self.tmp, o], 1,
                          "not a regular file")
        empty = self.write("empty.bin", b"")
        self.assert_fails(["sign", "-k", k, "--version", "1.0.0", empty, o], 1, "is empty")
        self.assert_fails(["sign", "-k", k, "--version", "1.0.0", vec("ed25519-hdr32.img"), o], 1,
                          "already an image")
        self.assert_fails(["sign", "-k", k, "--version", "1.0.0", p_nodir(self), o], 1,
                          "cannot open")
        self.assertFalse(os.path.exists(o))
        # Output in a missing directory: error, and no temporary file left behind.
        p = self.write("p.bin", b"\x01" * 100)
        self.assert_fails(["sign", "-k", k, "--version", "1.0.0", p, self.path("nodir/o.img")], 1,
                          "cannot create")
        self.assertEqual(sorted(os.listdir(self.tmp)), ["empty.bin", "p.bin"])

    def test_output_is_input(self):
        k = vec("test-ed25519.pem")
        data = b"\x11\x22\x33\x44" * 64
        p = self.write("p.bin", data)
        os.mkdir(self.path("sub"))
        os.link(p, self.path("hard.bin"))
        os.symlink(p, self.path("sym.bin"))
        spellings = [p, os.path.join(self.tmp, "sub", "..", "p.bin"), "./p.bin",
                     self.path("hard.bin"), self.path("sym.bin")]
        for out in spellings:
            with self.subTest(out=out):
                self.assert_fails(["sign", "-k", k, "--version", "1.0.0", p, out], 1,
                                  "is the input file", cwd=self.tmp)
                self.assertEqual(self.read(p), data)

    def test_size_limits(self):
        k = vec("test-ed25519.pem")
        app_max = LAYOUT["APP_SIZE"] - LAYOUT["APP_DESC_SIZE"]
        staging = LAYOUT["STAGING_SIZE"]
        tlvs = 4 + 36 + 36 + 68
        # Exactly filling the staging slot is fine.
        fits = self.write("fits.bin", b"\x5a" * (staging - 32 - tlvs))
        out = self.sign(fits)
        self.assertEqual(os.path.getsize(out), staging)
        self.assertIn("valid", self.assert_ok(["verify", "-k", k, out]))
        # One byte more does not fit staging.
        big = self.write("big.bin", b"\x5a" * (staging - 32 - tlvs + 1))
        self.assert_fails(["sign", "-k", k, "--version", "1.0.0", big, self.path("o.img")], 1,
                          "staging slot")
        # A larger header pushes the same payload out too.
        self.assert_fails(["sign", "-k", k, "--version", "1.0.0", "--header-size", "36", fits,
                           self.path("o.img")], 1, "staging slot")
        # Larger than the application slot can hold.
        huge = self.write("huge.bin", b"\x5a" * (app_max + 1))
        self.assert_fails(["sign", "-k", k, "--version", "1.0.0", huge, self.path("o.img")], 1,
                          "application slot")
        self.assertFalse(os.path.exists(self.path("o.img")))


def p_nodir(t):
    return os.path.join(t.tmp, "nodir", "p.bin")


class Verify(Base):
    def test_valid_vectors(self):
        for name in ["ed25519-hdr32.img", "ed25519-hdr512.img", "ed25519-seccnt7.img",
                     "ed25519-fullkey.img"]:
            for key in ["test-ed25519.pem", "test-ed25519.pub.pem"]:
                with self.subTest(name=name, key=key):
                    out = self.assert_ok(["verify", "-k", vec(key), vec(name)])
                    self.assertIn("valid (lib/image and OpenSSL agree)", out)

    def test_unsigned_and_ecdsa_rejected(self):
        for name in ["ecdsa-p256.img", "unsigned.img"]:
            with self.subTest(name=name):
                self.assert_fails(["verify", "-k", vec("test-ed25519.pem"), vec(name)], 1,
                                  "no Ed25519 signature")

    def tampered(self, offset, mask=0x01):
        img = bytearray(self.read(vec("ed25519-hdr32.img")))
        img[offset] ^= mask
        return self.write("t.img", bytes(img))

    def test_tampered(self):
        k = vec("test-ed25519.pem")
        self.assert_fails(["verify", "-k", k, self.tampered(100)], 1, "hash mismatch")
        self.assert_fails(["verify", "-k", k, self.tampered(20)], 1, "hash mismatch")
        self.assert_fails(["verify", "-k", k, self.tampered(0)], 1, "bad image magic")
        # Signature bytes: the last 64 of the image.
        self.assert_fails(["verify", "-k", k, self.tampered(3176 - 10)], 1, "bad signature")
        # Key hash: TLV value at 32 + 3000 + 4 + 36 + 4.
        self.assert_fails(["verify", "-k", k, self.tampered(32 + 3000 + 44)], 1,
                          "signed by another key")
        trunc = self.write("trunc.img", self.read(vec("ed25519-hdr32.img"))[:-1])
        self.assert_fails(["verify", "-k", k, trunc], 1, "does not fit its slot")
        self.assert_fails(["verify", "-k", k, vec("payload.bin")], 1, "bad image magic")

    def resign(self, img):
        """Recompute SHA256 and ED25519 of an otapack-layout image with the openssl CLI, so that
        only the change under test is wrong."""
        w = walk(bytes(img))
        digest = hashlib.sha256(bytes(img[:w["body"]])).digest()
        sha_off = w["body"] + 4 + 4
        img[sha_off:sha_off + 32] = digest
        d = self.write("digest.bin", digest)
        sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey",
                              vec("test-ed25519.pem"), "-in", d], capture_output=True, check=True,
                             timeout=60).stdout
        self.assertEqual(len(sig), 64)
        img[-64:] = sig
        return img

    def test_policy_applies_to_validly_signed_images(self):
        k = vec("test-ed25519.pem")
        base = bytearray(self.read(vec("ed25519-hdr32.img")))
        # Re-signing the unchanged image reproduces it: the helper is sound.
        self.assertEqual(self.resign(bytearray(base)), base)
        for flag in (0x04, 0x08, 0x10, 0x20, 0x100):
            with self.subTest(flag=flag):
                img = bytearray(base)
                struct.pack_into("<I", img, 16, flag)
                self.assert_fails(["verify", "-k", k, self.write("f.img", bytes(self.resign(img)))],
                                  1, "unsupported image flags")

    def test_other_key(self):
        key2 = self.path("k2.pem")
        self.assert_ok(["keygen", "-o", key2])
        self.assert_fails(["verify", "-k", key2, vec("ed25519-hdr32.img")], 1,
                          "signed by another key")
        self.assert_fails(["verify", "-k", key2, vec("ed25519-fullkey.img")], 1,
                          "signed by another key")

    def test_trailing_bytes_reported(self):
        img = self.write("pad.img", self.read(vec("ed25519-hdr32.img")) + b"\xff" * 10)
        out = self.assert_ok(["verify", "-k", vec("test-ed25519.pem"), img])
        self.assertIn("10 bytes after the TLV area", out)

    def test_larger_than_staging(self):
        img = self.write("big.img", self.read(vec("ed25519-hdr32.img")) +
                         b"\xff" * LAYOUT["STAGING_SIZE"])
        self.assert_fails(["verify", "-k", vec("test-ed25519.pem"), img], 1, "staging slot")

    def test_verify_errors(self):
        k = vec("test-ed25519.pem")
        self.assert_fails(["verify", "-k", k], 2, "need -k")
        self.assert_fails(["verify", vec("ed25519-hdr32.img")], 2, "need -k")
        self.assert_fails(["verify", "-k", k, "a", "b"], 2, "too many arguments")
        self.assert_fails(["verify", "-x", "-k", k, "a"], 2, "unknown option")
        self.assert_fails(["verify", "-k", k, self.path("none.img")], 1, "cannot open")
        self.assert_fails(["verify", "-k", vec("test-ecdsa-p256.pem"), vec("ed25519-hdr32.img")],
                          1, "not an Ed25519 key")
        self.assert_fails(["verify", "-k", self.path("none.pem"), vec("ed25519-hdr32.img")], 1,
                          "cannot open key")
        empty = self.write("e.img", b"")
        self.assert_fails(["verify", "-k", k, empty], 1, "does not fit its slot")


class Info(Base):
    def test_text(self):
        out = self.assert_ok(["info", vec("ed25519-seccnt7.img")])
        img = self.read(vec("ed25519-seccnt7.img"))
        self.assertIn("version:          1.2.3+5", out)
        self.assertIn("hdr_size:         32", out)
        self.assertIn("protect_tlv_size: 12", out)
        self.assertIn("img_size:         3000", out)
        self.assertIn(hashlib.sha256(img[:3044]).hexdigest() + " (matches SHA256 TLV)", out)
        self.assertRegex(out, r"0x0050 SEC_CNT\s+len 4\s+protected\s+07000000")
        self.assertRegex(out, r"0x0024 ED25519\s+len 64\s+unprotected")

    def test_json(self):
        for name in ["ed25519-hdr32.img", "ed25519-hdr512.img", "ed25519-seccnt7.img",
                     "ed25519-fullkey.img", "ecdsa-p256.img", "unsigned.img"]:
            with self.subTest(name=name):
                img = self.read(vec(name))
                w = walk(img)
                j = json.loads(self.assert_ok(["info", "--json", vec(name)]))
                self.assertEqual(j["magic"], MAGIC)
                self.assertEqual(j["hdr_size"], w["hdr"])
                self.assertEqual(j["protect_tlv_size"], w["prot"])
                self.assertEqual(j["img_size"], w["size"])
                self.assertEqual(j["flags"], w["flags"])
                self.assertEqual(j["total_size"], w["end"])
                self.assertEqual(j["file_size"], len(img))
                major, minor, rev, build = struct.unpack_from("<BBHI", img, 20)
                self.assertEqual(j["version"], f"{major}.{minor}.{rev}+{build}")
                self.assertEqual(j["hash"], hashlib.sha256(img[:w["body"]]).hexdigest())
                self.assertTrue(j["hash_ok"])
                self.assertEqual([(t["type"], t["len"], bytes.fromhex(t["value"]), t["protected"])
                                  for t in j["tlvs"]], w["tlvs"])

    def test_tampered_hash_reported(self):
        img = bytearray(self.read(vec("ed25519-hdr32.img")))
        img[40] ^= 1
        p = self.write("t.img", bytes(img))
        j = json.loads(self.assert_ok(["info", "--json", p]))
        self.assertFalse(j["hash_ok"])
        self.assertEqual(j["hash"], hashlib.sha256(bytes(img[:3032])).hexdigest())
        self.assertIn("DOES NOT match", self.assert_ok(["info", p]))

    def test_info_errors(self):
        self.assert_fails(["info"], 2, "need IMG")
        self.assert_fails(["info", "--xml", vec("unsigned.img")], 2, "unknown option")
        self.assert_fails(["info", "a", "b"], 2, "too many arguments")
        self.assert_fails(["info", self.path("none.img")], 1, "cannot open")
        self.assert_fails(["info", vec("payload.bin")], 1, "bad image magic")
        self.assert_fails(["info", self.tmp], 1, "not a regular file")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    OTAPACK, CC, SRC, VEC = sys.argv[1:5]
    LAYOUT = read_layout(os.path.join(SRC, "include", "flash_layout.h"))
    for name in ("APP_SIZE", "APP_DESC_SIZE", "STAGING_SIZE"):
        assert name in LAYOUT, name
    prog = unittest.main(argv=[sys.argv[0], "-v"], exit=False)
    res = prog.result
    # No test may be skipped: a skip would hide an unchecked promise.
    sys.exit(0 if res.wasSuccessful() and not res.skipped and res.testsRun > 0 else 1)
