/*
 * Ed25519 internals, white box (the implementation is included): field arithmetic mod 2^255 - 19,
 * scalar reduction mod L, point decoding and the double-scalar multiplication,
 * each checked against OpenSSL's BIGNUM or OpenSSL's own Ed25519 key derivation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "ed25519.c" /* NOLINT(bugprone-suspicious-include): white-box test */
#include "test_support.h"

/* f == g in GF(p) (ed25519.c compares through fe_sub and fe_iszero where it needs to). */
static int test_fe_equal(const fe *f, const fe *g)
{
    fe d;
    fe_sub(&d, f, g);
    return fe_iszero(&d);
}

static BIGNUM *bn_p;
static BIGNUM *bn_l;
static BIGNUM *bn_d;
static BN_CTX *bn_ctx;

static int setup(void **state)
{
    (void)state;
    bn_ctx = BN_CTX_new();
    bn_p = BN_new();
    bn_l = BN_new();
    bn_d = BN_new();
    if (bn_ctx == NULL || bn_p == NULL || bn_l == NULL || bn_d == NULL) {
        return -1;
    }
    /* p = 2^255 - 19; L = 2^252 + 27742317777372353535851937790883648493; d = -121665/121666. */
    BIGNUM *t = BN_new();
    BIGNUM *u = BN_new();
    int ok = t != NULL && u != NULL && BN_set_word(t, 1) && BN_lshift(bn_p, t, 255) &&
             BN_sub_word(bn_p, 19) && BN_lshift(bn_l, t, 252) &&
             BN_dec2bn(&u, "27742317777372353535851937790883648493") && BN_add(bn_l, bn_l, u) &&
             BN_set_word(u, 121666) && BN_mod_inverse(u, u, bn_p, bn_ctx) != NULL &&
             BN_set_word(t, 121665) && BN_sub(t, bn_p, t) &&
             BN_mod_mul(bn_d, t, u, bn_p, bn_ctx);
    BN_free(t);
    BN_free(u);
    return ok ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    BN_free(bn_p);
    BN_free(bn_l);
    BN_free(bn_d);
    BN_CTX_free(bn_ctx);
    return 0;
}

static BIGNUM *bn_le(const uint8_t *s, size_t n)
{
    BIGNUM *b = BN_lebin2bn(s, (int)n, NULL);
    assert_non_null(b);
    return b;
}

static void bn_to_le32(uint8_t out[32], const BIGNUM *b)
{
    assert_int_equal(BN_bn2lebinpad(b, out, 32), 32);
}

/* The value the limbs stand for, with no reduction (so bounds on raw limbs can be tested). */
static BIGNUM *bn_from_limbs(const fe *f)
{
    BIGNUM *r = BN_new();
    BIGNUM *t = BN_new();
    assert_non_null(r);
    assert_non_null(t);
    BN_zero(r);
    unsigned off = 0;
    for (unsigned i = 0; i < FE_LIMBS; i++) {
        assert_true(BN_set_word(t, f->v[i]));
        assert_true(BN_lshift(t, t, (int)off));
        assert_true(BN_add(r, r, t));
        off += fe_width(i);
    }
    BN_free(t);
    return r;
}

/* Asserts fe_tobytes(f) is the canonical encoding of want mod p. */
static void assert_fe_is(const fe *f, const BIGNUM *want)
{
    uint8_t got[32];
    uint8_t exp[32];
    BIGNUM *w = BN_new();
    assert_non_null(w);
    assert_true(BN_nnmod(w, want, bn_p, bn_ctx));
    bn_to_le32(exp, w);
    fe_tobytes(got, f);
    assert_memory_equal(got, exp, 32);
    /* The limbs themselves hold the same residue (tobytes did not hide a wrong value). */
    BIGNUM *raw = bn_from_limbs(f);
    assert_true(BN_nnmod(raw, raw, bn_p, bn_ctx));
    assert_int_equal(BN_cmp(raw, w), 0);
    BN_free(raw);
    BN_free(w);
}

/* The carried invariant of ed25519.c: even limbs < 2^26, odd limbs < 2^25 + 2^17. */
static void assert_carried(const fe *f)
{
    for (unsigned i = 0; i < FE_LIMBS; i++) {
        uint32_t bound = (i & 1u) ? (1u << 25) + (1u << 17) : (1u << 26);
        assert_true(f->v[i] < bound);
    }
}

/* Interesting field inputs: 0, 1, 2, 19, p - 1, and the non-canonical p .. 2^255 - 1. */
static void edge_value(uint8_t s[32], unsigned i)
{
    memset(s, 0, 32);
    switch (i) {
    case 0: break;
    case 1: s[0] = 1; break;
    case 2: s[0] = 2; break;
    case 3: s[0] = 19; break;
    case 4: memset(s, 0xff, 32); s[0] = 0xec; s[31] = 0x7f; break; /* p - 1 */
    case 5: memset(s, 0xff, 32); s[0] = 0xed; s[31] = 0x7f; break; /* p */
    case 6: memset(s, 0xff, 32); s[0] = 0xee; s[31] = 0x7f; break; /* p + 1 */
    case 7: memset(s, 0xff, 32); s[31] = 0x7f; break;              /* 2^255 - 1 */
    case 8: s[31] = 0x40; break;                                   /* 2^254 */
    default: memset(s, 0xff, 32); s[31] = 0x7f; s[0] = (uint8_t)(0xed + i - 9); break;
    }
}
#define EDGE_VALUES 28 /* 9 named ones, then p + 0 .. p + 18 */

static void random_or_edge(uint64_t *seed, uint8_t s[32], unsigned n)
{
    if (n < EDGE_VALUES) {
        edge_value(s, n);
    } else {
        test_rand_fill(seed, s, 32);
        s[31] &= 0x7f; /* bit 255 is not part of a field element encoding */
    }
}

static void test_fe_roundtrip_and_reduction(void **state)
{
    (void)state;
    uint64_t seed = 0xFE000001u;
    for (unsigned n = 0; n < 2000; n++) {
        uint8_t s[32];
        fe f;
        random_or_edge(&seed, s, n);
        fe_frombytes(&f, s);
        assert_carried(&f);
        BIGNUM *b = bn_le(s, 32);
        assert_fe_is(&f, b);
        BN_free(b);
    }
    /* Bit 255 is ignored by fe_frombytes. */
    uint8_t a[32];
    uint8_t b[32];
    fe fa;
    fe fb;
    edge_value(a, 1);
    memcpy(b, a, 32);
    b[31] |= 0x80;
    fe_frombytes(&fa, a);
    fe_frombytes(&fb, b);
    assert_memory_equal(&fa, &fb, sizeof fa);
}

/* add, sub, neg, mul, sq, invert and pow against BIGNUM for random and edge operands. */
static void test_fe_ops_against_bignum(void **state)
{
    (void)state;
    uint64_t seed = 0xFE000002u;
    BIGNUM *r = BN_new();
    BIGNUM *e = BN_new();
    assert_non_null(r);
    assert_non_null(e);
    /* (p - 5) / 8 */
    assert_true(BN_copy(e, bn_p) != NULL && BN_sub_word(e, 5) && BN_rshift(e, e, 3));

    for (unsigned n = 0; n < 3 * EDGE_VALUES * EDGE_VALUES + 1500; n++) {
        uint8_t sa[32];
        uint8_t sb[32];
        unsigned ea = n < EDGE_VALUES * EDGE_VALUES ? n % EDGE_VALUES : EDGE_VALUES;
        unsigned eb = n < EDGE_VALUES * EDGE_VALUES ? n / EDGE_VALUES : EDGE_VALUES;
        random_or_edge(&seed, sa, ea);
        random_or_edge(&seed, sb, eb);
        BIGNUM *a = bn_le(sa, 32);
        BIGNUM *b = bn_le(sb, 32);
        fe fa;
        fe fb;
        fe h;
        fe_frombytes(&fa, sa);
        fe_frombytes(&fb, sb);

        fe_add(&h, &fa, &fb);
        assert_carried(&h);
        assert_true(BN_add(r, a, b));
        assert_fe_is(&h, r);

        fe_sub(&h, &fa, &fb);
        assert_carried(&h);
        assert_true(BN_sub(r, a, b));
        assert_fe_is(&h, r);

        fe_neg(&h, &fa);
        assert_carried(&h);
        assert_true(BN_sub(r, bn_p, a));
        assert_fe_is(&h, r);

        fe_mul(&h, &fa, &fb);
        assert_carried(&h);
        assert_true(BN_mul(r, a, b, bn_ctx));
        assert_fe_is(&h, r);

        fe_sq(&h, &fa);
        assert_carried(&h);
        assert_true(BN_mul(r, a, a, bn_ctx));
        assert_fe_is(&h, r);

        if (n % 8 == 0) {
            fe_invert(&h, &fa);
            assert_carried(&h);
            assert_true(BN_nnmod(r, a, bn_p, bn_ctx));
            if (BN_is_zero(r)) {
                assert_true(fe_iszero(&h)); /* 0^(p-2) = 0 */
            } else {
                assert_non_null(BN_mod_inverse(r, a, bn_p, bn_ctx));
                assert_fe_is(&h, r);
            }
            fe_pow_p58(&h, &fa);
            assert_true(BN_mod_exp(r, a, e, bn_p, bn_ctx));
            assert_fe_is(&h, r);
        }
        BN_free(a);
        BN_free(b);
    }
    BN_free(r);
    BN_free(e);
}

/*
 * The overflow margins: fe_mul with every limb at the top of the carried range (not reachable
 * from fe_frombytes, but reachable as outputs of fe_mul and fe_carry), and a long random walk
 * that feeds every output back in, mirrored in BIGNUM.
 */
static void test_fe_limb_bounds(void **state)
{
    (void)state;
    fe big;
    fe h;
    for (unsigned i = 0; i < FE_LIMBS; i++) {
        big.v[i] = (i & 1u) ? (1u << 25) + (1u << 17) - 1u : (1u << 26) - 1u;
    }
    BIGNUM *b = bn_from_limbs(&big);
    BIGNUM *r = BN_new();
    assert_non_null(r);
    fe_mul(&h, &big, &big);
    assert_carried(&h);
    assert_true(BN_mul(r, b, b, bn_ctx));
    assert_fe_is(&h, r);
    fe_sub(&h, &big, &big);
    assert_true(fe_iszero(&h));
    fe_add(&h, &big, &big);
    assert_carried(&h);
    assert_true(BN_add(r, b, b));
    assert_fe_is(&h, r);
    fe_neg(&h, &big);
    assert_true(BN_sub(r, bn_p, b));
    assert_fe_is(&h, r);

    uint64_t seed = 0xFE000003u;
    fe x = big;
    fe y;
    BIGNUM *bx = BN_dup(b);
    BIGNUM *by = BN_new();
    assert_non_null(bx);
    assert_non_null(by);
    uint8_t s[32];
    test_rand_fill(&seed, s, 32);
    s[31] &= 0x7f;
    fe_frombytes(&y, s);
    BN_free(by);
    by = bn_le(s, 32);
    for (unsigned n = 0; n < 20000; n++) {
        switch (test_rand(&seed) % 4) {
        case 0:
            fe_mul(&x, &x, &y);
            assert_true(BN_mod_mul(bx, bx, by, bn_p, bn_ctx));
            break;
        case 1:
            fe_add(&x, &x, &y);
            assert_true(BN_mod_add(bx, bx, by, bn_p, bn_ctx));
            break;
        case 2:
            fe_sub(&x, &y, &x);
            assert_true(BN_mod_sub(bx, by, bx, bn_p, bn_ctx));
            break;
        default:
            fe_sq(&y, &x);
            assert_true(BN_mod_mul(by, bx, bx, bn_p, bn_ctx));
            break;
        }
        assert_carried(&x);
        assert_carried(&y);
    }
    assert_fe_is(&x, bx);
    assert_fe_is(&y, by);
    BN_free(b);
    BN_free(r);
    BN_free(bx);
    BN_free(by);
}

/* The byte constants in ed25519.c are what RFC 8032 5.1 defines. */
static void test_curve_constants(void **state)
{
    (void)state;
    fe d;
    fe t;
    fe u;
    fe one;
    fe_set_small(&one, 1);

    fe_frombytes(&d, ed25519_d_bytes);
    assert_fe_is(&d, bn_d);
    fe_set_small(&t, 121666);
    fe_mul(&t, &t, &d);
    fe_set_small(&u, 121665);
    fe_add(&t, &t, &u);
    assert_true(fe_iszero(&t)); /* d * 121666 = -121665 */

    fe_frombytes(&t, ed25519_sqrtm1_bytes);
    fe_sq(&t, &t);
    fe_add(&t, &t, &one);
    assert_true(fe_iszero(&t)); /* sqrt(-1)^2 = -1 */

    fe x;
    fe y;
    fe x2;
    fe y2;
    fe_frombytes(&x, ed25519_bx_bytes);
    fe_frombytes(&y, ed25519_by_bytes);
    fe_set_small(&t, 5);
    fe_mul(&t, &t, &y);
    fe_set_small(&u, 4);
    assert_true(test_fe_equal(&t, &u)); /* y = 4/5 */
    assert_int_equal(fe_isodd(&x), 0);
    fe_sq(&x2, &x);
    fe_sq(&y2, &y);
    fe_sub(&t, &y2, &x2); /* -x^2 + y^2 */
    fe_mul(&u, &x2, &y2);
    fe_mul(&u, &u, &d);
    fe_add(&u, &u, &one); /* 1 + d x^2 y^2 */
    assert_true(test_fe_equal(&t, &u));

    /* B decodes from its standard encoding to the same x. */
    ge_ext b;
    assert_int_equal(ge_frombytes(&b, ed25519_by_bytes, &d), 0);
    assert_true(test_fe_equal(&b.X, &x));

    /* The scalar order constant is L. */
    uint8_t lb[32];
    for (size_t i = 0; i < SC_WORDS; i++) {
        ota_put_le32(&lb[4 * i], ed25519_l[i]);
    }
    BIGNUM *l = bn_le(lb, 32);
    assert_int_equal(BN_cmp(l, bn_l), 0);
    BN_free(l);
}

/* Decoding y = 0 .. 299 with both signs: succeeds exactly when RFC 8032 5.1.3 says so. */
static void test_point_decoding_exact(void **state)
{
    (void)state;
    fe d;
    fe_frombytes(&d, ed25519_d_bytes);
    BIGNUM *y = BN_new();
    BIGNUM *u = BN_new();
    BIGNUM *v = BN_new();
    BIGNUM *x2 = BN_new();
    BIGNUM *e = BN_new();
    BIGNUM *leg = BN_new();
    assert_true(y && u && v && x2 && e && leg);
    assert_true(BN_copy(e, bn_p) != NULL && BN_sub_word(e, 1) && BN_rshift1(e, e));
    unsigned decoded = 0;

    for (unsigned yi = 0; yi < 300; yi++) {
        assert_true(BN_set_word(y, yi));
        assert_true(BN_mod_sqr(u, y, bn_p, bn_ctx));
        assert_true(BN_mod_mul(v, u, bn_d, bn_p, bn_ctx));
        assert_true(BN_add_word(v, 1));
        assert_true(BN_sub(u, u, BN_value_one()));
        assert_true(BN_nnmod(u, u, bn_p, bn_ctx));
        assert_non_null(BN_mod_inverse(x2, v, bn_p, bn_ctx));
        assert_true(BN_mod_mul(x2, x2, u, bn_p, bn_ctx)); /* x^2 = (y^2 - 1) / (d y^2 + 1) */
        assert_true(BN_mod_exp(leg, x2, e, bn_p, bn_ctx));
        int square = BN_is_zero(x2) || BN_is_one(leg);

        for (unsigned sign = 0; sign < 2; sign++) {
            uint8_t s[32] = {0};
            s[0] = (uint8_t)yi;
            s[1] = (uint8_t)(yi >> 8);
            s[31] = (uint8_t)(sign << 7);
            ge_ext pt;
            int want = square && !(BN_is_zero(x2) && sign);
            int got = ge_frombytes(&pt, s, &d) == 0;
            assert_int_equal(got, want);
            if (got) {
                decoded++;
                fe t;
                fe_sq(&t, &pt.X);
                assert_fe_is(&t, x2);
                assert_int_equal(fe_isodd(&pt.X), BN_is_zero(x2) ? 0 : sign);
                fe_mul(&t, &pt.X, &pt.Y);
                assert_true(test_fe_equal(&t, &pt.T));
                uint8_t back[32];
                ge_tobytes(back, &pt);
                assert_memory_equal(back, s, 32);
            }
        }
    }
    assert_true(decoded > 200 && decoded < 400); /* about half of all y are on the curve */
    BN_free(y);
    BN_free(u);
    BN_free(v);
    BN_free(x2);
    BN_free(e);
    BN_free(leg);
}

static void test_scalar_reduce(void **state)
{
    (void)state;
    uint64_t seed = 0x5C000001u;
    BIGNUM *r = BN_new();
    assert_non_null(r);
    for (unsigned n = 0; n < 3000; n++) {
        uint8_t h[64];
        test_rand_fill(&seed, h, sizeof h);
        if (n == 0) {
            memset(h, 0xff, sizeof h);
        } else if (n == 1) {
            memset(h, 0, sizeof h);
        } else if (n < 5) { /* L - 1, L, L + 1 */
            memset(h, 0, sizeof h);
            bn_to_le32(h, bn_l);
            h[0] = (uint8_t)(h[0] + (int)n - 3);
        }
        uint32_t k[SC_WORDS];
        uint8_t got[32];
        uint8_t want[32];
        sc_reduce512(k, h);
        for (size_t i = 0; i < SC_WORDS; i++) {
            ota_put_le32(&got[4 * i], k[i]);
        }
        BIGNUM *b = bn_le(h, sizeof h);
        assert_true(BN_nnmod(r, b, bn_l, bn_ctx));
        bn_to_le32(want, r);
        assert_memory_equal(got, want, 32);
        assert_int_equal(sc_ge_l(k), 0);
        BN_free(b);
    }
    BN_free(r);
}

/* OpenSSL's key derivation: pub = [a]B with a = clamp(SHA-512(seed)[0..31]) (RFC 8032 5.1.5). */
static void ossl_keypair(const uint8_t seed[32], uint8_t pub[32], uint8_t a_mod_l[32])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    size_t len = 32;
    assert_non_null(k);
    assert_int_equal(EVP_PKEY_get_raw_public_key(k, pub, &len), 1);
    EVP_PKEY_free(k);

    uint8_t h[64];
    SHA512(seed, 32, h);
    h[0] &= 0xf8;
    h[31] &= 0x7f;
    h[31] |= 0x40;
    BIGNUM *a = bn_le(h, 32);
    assert_true(BN_nnmod(a, a, bn_l, bn_ctx));
    bn_to_le32(a_mod_l, a);
    BN_free(a);
}

/*
 * The double-scalar multiplication: [s]B - [k]A with A = [a]B must encode as [s - k a mod L]B,
 * and with k = 0, [a]B must be the public key OpenSSL derives. Also [L]B = identity.
 */
static void test_double_scalar_mult(void **state)
{
    (void)state;
    uint64_t seed = 0x5C000003u;
    fe d;
    fe_frombytes(&d, ed25519_d_bytes);
    uint32_t zero[SC_WORDS] = {0};
    BIGNUM *r = BN_new();
    assert_non_null(r);

    for (unsigned n = 0; n < 150; n++) {
        uint8_t sk[32];
        uint8_t pub[32];
        uint8_t a_s[32];
        uint8_t out[32];
        uint32_t a[SC_WORDS];
        test_rand_fill(&seed, sk, sizeof sk);
        ossl_keypair(sk, pub, a_s);
        sc_frombytes(a, a_s);

        ge_ext pa;
        assert_int_equal(ge_frombytes(&pa, pub, &d), 0);
        ed25519_sb_minus_ka(out, a, zero, &pa, &d);
        assert_memory_equal(out, pub, 32);

        uint8_t sb[32];
        uint8_t kb[32];
        uint8_t wb[32];
        uint32_t s[SC_WORDS];
        uint32_t k[SC_WORDS];
        uint32_t w[SC_WORDS];
        test_rand_fill(&seed, sb, 32);
        test_rand_fill(&seed, kb, 32);
        sb[31] &= 0x0f;
        kb[31] &= 0x0f;
        sc_frombytes(s, sb);
        sc_frombytes(k, kb);
        BIGNUM *bs = bn_le(sb, 32);
        BIGNUM *bk = bn_le(kb, 32);
        BIGNUM *ba = bn_le(a_s, 32);
        assert_true(BN_mod_mul(r, bk, ba, bn_l, bn_ctx));
        assert_true(BN_mod_sub(r, bs, r, bn_l, bn_ctx));
        bn_to_le32(wb, r);
        sc_frombytes(w, wb);

        uint8_t want[32];
        ed25519_sb_minus_ka(out, s, k, &pa, &d);
        ed25519_sb_minus_ka(want, w, zero, &pa, &d);
        assert_memory_equal(out, want, 32);
        BN_free(bs);
        BN_free(bk);
        BN_free(ba);
    }

    /* [L]B is the identity (0, 1), encoded as 01 00 ... 00; [1]B is B. */
    uint8_t out[32];
    uint8_t id[32] = {1};
    uint8_t lb[32];
    uint32_t l[SC_WORDS];
    ge_ext any;
    assert_int_equal(ge_frombytes(&any, ed25519_by_bytes, &d), 0);
    bn_to_le32(lb, bn_l);
    sc_frombytes(l, lb);
    ed25519_sb_minus_ka(out, l, zero, &any, &d);
    assert_memory_equal(out, id, 32);
    uint32_t one[SC_WORDS] = {1};
    ed25519_sb_minus_ka(out, one, zero, &any, &d);
    assert_memory_equal(out, ed25519_by_bytes, 32);
    /* [1]B - [1]B = identity: the B - A entry (A = B here). */
    ed25519_sb_minus_ka(out, one, one, &any, &d);
    assert_memory_equal(out, id, 32);
    /* Bit 252, the top one, of k alone and of both: -[L]A and [L]B - [L]A are the identity. */
    ed25519_sb_minus_ka(out, zero, l, &any, &d);
    assert_memory_equal(out, id, 32);
    ed25519_sb_minus_ka(out, l, l, &any, &d);
    assert_memory_equal(out, id, 32);
    /* A scalar of 2^253 or more is a caller bug (its top bits would be ignored). */
    uint32_t big[SC_WORDS] = {0, 0, 0, 0, 0, 0, 0, 1u << 29};
    expect_assert_failure(ed25519_sb_minus_ka(out, big, zero, &any, &d));
    expect_assert_failure(ed25519_sb_minus_ka(out, zero, big, &any, &d));
    BN_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fe_roundtrip_and_reduction),
        cmocka_unit_test(test_fe_ops_against_bignum),
        cmocka_unit_test(test_fe_limb_bounds),
        cmocka_unit_test(test_curve_constants),
        cmocka_unit_test(test_point_decoding_exact),
        cmocka_unit_test(test_scalar_reduce),
        cmocka_unit_test(test_double_scalar_mult),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
