/*
 * Ed25519 verification, written from RFC 8032 sections 5.1.1-5.1.7.
 *
 * Field GF(p), p = 2^255 - 19: ten unsigned limbs in radix 2^25.5 (limb i starts at bit
 * ceil(25.5 * i): 26 bits for even i, 25 for odd), so a product of two limbs fits the
 * Cortex-M4's 32x32->64 multiply-accumulate (UMLAL) and a row of ten fits a uint64_t.
 * Points: extended twisted-Edwards coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, xy = T/Z, with the
 * a = -1 addition and doubling formulas of RFC 8032 5.1.4. Scalar multiplication: Shamir's
 * trick, one chain of doublings over the bits of both scalars adding B, -A or B - A, so no
 * precomputed table takes flash (docs/crypto.md: why not width-w NAF).
 *
 * Inputs are public, so branches and table indices may depend on them (no constant-time code).
 */
#include "ed25519.h"

#include <string.h>

#include "ota_util.h"
#include "sha512.h"

/* Keeps a helper's frame off the deepest path (the hash context is not live during the scalar
 * multiplication); only a stack-size hint, so other compilers may ignore it. */
#if defined(__GNUC__)
#define ED25519_NOINLINE __attribute__((noinline))
#else
#define ED25519_NOINLINE
#endif

/* ---------------------------------------------------------------------------------------------
 * Field arithmetic mod p = 2^255 - 19
 *
 * Invariant ("carried"): every fe handed between functions has limbs below 2^26 (even) and
 * 2^25 + 2^17 (odd). Then a limb, even doubled, fits 27 bits, a product of two limbs 54 bits, and
 * the column sums of fe_mul and fe_sq stay far below 2^64 (bounds at each function).
 * ------------------------------------------------------------------------------------------- */

#define FE_LIMBS 10

typedef struct {
    uint32_t v[FE_LIMBS];
} fe;

static inline unsigned fe_width(unsigned i)
{
    return (i & 1u) != 0 ? 25u : 26u;
}

static inline uint32_t fe_mask(unsigned i)
{
    return (1u << fe_width(i)) - 1u;
}

#define FE_MASK26 ((1u << 26) - 1u)
#define FE_MASK25 ((1u << 25) - 1u)

static void fe_set_small(fe *h, uint32_t n)
{
    memset(h, 0, sizeof(*h));
    h->v[0] = n;
}

/* Brings limbs below 2^29 back to the carried invariant. 2^255 wraps to 19 (p = 2^255 - 19). */
static void fe_carry(fe *h)
{
    for (unsigned i = 0; i < FE_LIMBS - 2; i += 2) {
        h->v[i + 1] += h->v[i] >> 26;
        h->v[i] &= FE_MASK26;
        h->v[i + 2] += h->v[i + 1] >> 25;
        h->v[i + 1] &= FE_MASK25;
    }
    h->v[9] += h->v[8] >> 26;
    h->v[8] &= FE_MASK26;
    uint32_t top = h->v[9] >> 25;
    h->v[9] &= fe_mask(9);
    h->v[0] += 19u * top;
    h->v[1] += h->v[0] >> 26;
    h->v[0] &= fe_mask(0);
}

static void fe_add(fe *h, const fe *f, const fe *g)
{
    for (unsigned i = 0; i < FE_LIMBS; i++) {
        h->v[i] = f->v[i] + g->v[i];
    }
    fe_carry(h);
}

/*
 * f - g computed as f + 2p - g so that no limb goes negative: 2p in this radix has limbs
 * 2^27 - 38, then 2^26 - 2 (odd) and 2^27 - 2 (even), each above any carried limb of g.
 */
static void fe_sub(fe *h, const fe *f, const fe *g)
{
    for (unsigned i = 0; i < FE_LIMBS; i++) {
        uint32_t two_p = (i == 0) ? (1u << 27) - 38u : (2u << fe_width(i)) - 2u;
        h->v[i] = f->v[i] + two_p - g->v[i];
    }
    fe_carry(h);
}

static void fe_neg(fe *h, const fe *f)
{
    fe zero;
    fe_set_small(&zero, 0);
    fe_sub(h, &zero, f);
}

/*
 * Carries ten folded column sums (each below 2^61) into a carried fe; the wrap-around carry out of
 * the top limb is below 2^37, and 19 times it below 2^42.
 */
static void fe_carry_wide(fe *h, uint64_t t[FE_LIMBS])
{
    /* In pairs so every shift count is a constant: a variable 64-bit shift is a library call
     * (or a long sequence) on a 32-bit core, and this runs after every multiplication. */
    for (unsigned i = 0; i < FE_LIMBS - 2; i += 2) {
        t[i + 1] += t[i] >> 26;
        t[i] &= FE_MASK26;
        t[i + 2] += t[i + 1] >> 25;
        t[i + 1] &= FE_MASK25;
    }
    t[9] += t[8] >> 26;
    t[8] &= FE_MASK26;
    uint64_t top = t[9] >> 25;
    t[9] &= fe_mask(9);
    t[0] += 19u * top;
    t[1] += t[0] >> 26;
    t[0] &= fe_mask(0);
    for (unsigned i = 0; i < FE_LIMBS; i++) {
        h->v[i] = (uint32_t)t[i];
    }
}

/*
 * Operands for the column sums of fe_mul and fe_sq.
 *
 * Column k of a product collects f_i g_j with i + j = k (mod 10). Its weight is 2^off(k),
 * off(i) = ceil(25.5 i); off(i) + off(j) is off(i + j) plus one extra bit when i and j are both
 * odd (each rounds up), which happens exactly for odd i in an even column: a[] is f with its odd
 * limbs doubled for even columns, f itself for odd ones. A product with i + j >= 10 sits at
 * 2^255 * 2^off(k) = 19 * 2^off(k) (mod p), so it takes g_j times 19. With e[j] = 19 g_j and
 * e[10 + j] = g_j, the term of f_i in column k is always a_i * e[k + 10 - i], and a column is one
 * loop with no case split. Bounds: a_i < 2^27, e < 19 * 2^26 < 2^30.3, a term below 2^56.3 and a
 * column of ten below 2^59.7.
 */
static void fe_mul_operands(uint32_t a_even[FE_LIMBS], uint32_t e[2 * FE_LIMBS], const fe *f,
                            const fe *g)
{
    for (unsigned i = 0; i < FE_LIMBS; i++) {
        a_even[i] = f->v[i] << (i & 1u);
        e[i] = 19u * g->v[i];
        e[FE_LIMBS + i] = g->v[i];
    }
}

static void fe_mul(fe *h, const fe *f, const fe *g)
{
    uint32_t a_even[FE_LIMBS];
    uint32_t e[2 * FE_LIMBS];
    uint64_t t[FE_LIMBS];

    fe_mul_operands(a_even, e, f, g);
    for (unsigned k = 0; k < FE_LIMBS; k++) {
        const uint32_t *a = (k & 1u) != 0 ? f->v : a_even;
        const uint32_t *col = &e[k + FE_LIMBS];
        uint64_t s = 0;
        for (unsigned i = 0; i < FE_LIMBS; i++) {
            s += (uint64_t)a[i] * col[-(int)i];
        }
        t[k] = s;
    }
    fe_carry_wide(h, t);
}

/*
 * h = f^2 through fe_mul. A squaring of its own (each pair of limbs once, doubled: 55 products
 * instead of 100) was 206 bytes of code on the Cortex-M4 and not faster there: its two loops with
 * computed bounds cost more than the products they skipped (bench/crypto/m4: 3.61 M instructions
 * per verification with it, 3.48 M without).
 */
static void fe_sq(fe *h, const fe *f)
{
    fe_mul(h, f, f);
}

/* h = f^(2^n): n successive squarings. */
static void fe_sq_n(fe *h, const fe *f, unsigned n)
{
    fe_sq(h, f);
    for (unsigned i = 1; i < n; i++) {
        fe_sq(h, h);
    }
}

/*
 * The exponent ladder shared by inversion and square roots: z^(2^250 - 1) from z^(2^k - 1)
 * for k = 5, 10, 20, 40, 50, 100, 200, 250, using z^(2^a - 1)^(2^b) * z^(2^b - 1) = z^(2^(a+b) -
 * 1). Also returns z^11, which inversion needs for its tail. The steps after z^(2^5 - 1) are a
 * table (x[dst] = x[src]^(2^n) * x[mul]), which is smaller code than a call sequence.
 */
static void fe_pow_2_250_1(fe *out, fe *z11, const fe *z)
{
    static const uint8_t steps[][4] = {
        /* n, dst, src, mul      then x[0], x[1], x[2] = z^(2^k - 1) for k = */
        {5, 1, 0, 0},   /* 5, 10, - */
        {10, 2, 1, 1},  /* 5, 10, 20 */
        {20, 0, 2, 2},  /* 40, 10, 20 */
        {10, 0, 0, 1},  /* 50, 10, 20 */
        {50, 2, 0, 0},  /* 50, 10, 100 */
        {100, 1, 2, 2}, /* 50, 200, 100 */
        {50, 1, 1, 0},  /* 50, 250, 100 */
    };
    fe x[3];
    fe z2;

    fe_sq(&z2, z);               /* z^2 */
    fe_sq_n(&x[1], &z2, 2);      /* z^8 */
    fe_mul(&x[2], &x[1], z);     /* z^9 */
    fe_mul(z11, &x[2], &z2);     /* z^11 */
    fe_sq(&x[0], z11);           /* z^22 */
    fe_mul(&x[0], &x[0], &x[2]); /* z^31 = z^(2^5 - 1) */
    for (unsigned i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const uint8_t *st = steps[i];
        fe_sq_n(&x[st[1]], &x[st[2]], st[0]);
        fe_mul(&x[st[1]], &x[st[1]], &x[st[3]]);
    }
    *out = x[1];
}

/* h = 1/z = z^(p - 2) = z^(2^255 - 21) = (z^(2^250 - 1))^(2^5) * z^11 (Fermat; 1/0 gives 0). */
static void fe_invert(fe *h, const fe *z)
{
    fe t;
    fe z11;
    fe_pow_2_250_1(&t, &z11, z);
    fe_sq_n(&t, &t, 5);
    fe_mul(h, &t, &z11);
}

/* h = z^((p - 5) / 8) = z^(2^252 - 3) = (z^(2^250 - 1))^4 * z, the core of RFC 8032's sqrt. */
static void fe_pow_p58(fe *h, const fe *z)
{
    fe t;
    fe z11;
    fe_pow_2_250_1(&t, &z11, z);
    fe_sq_n(&t, &t, 2);
    fe_mul(h, &t, z);
}

/*
 * Limb i starts at bit off(i) = ceil(25.5 i) = (51 i + 1) / 2. Its byte off(i) / 8 and the three
 * after it hold all of its bits: off(i) % 8 + width(i) <= 32 for every i (limb 4: 6 + 26).
 */
static inline unsigned fe_offset(unsigned i)
{
    return (51u * i + 1u) / 2u;
}

/* Bits 0..254 of s, little-endian (bit 255, the sign of x in a point encoding, is ignored). */
static void fe_frombytes(fe *h, const uint8_t s[32])
{
    for (unsigned i = 0; i < FE_LIMBS; i++) {
        unsigned off = fe_offset(i);
        h->v[i] = (ota_get_le32(&s[off / 8u]) >> (off % 8u)) & fe_mask(i);
    }
}

/* The unique representative in [0, p), little-endian. */
static void fe_tobytes(uint8_t s[32], const fe *f)
{
    fe t = *f;

    /* A carried value is below 2p, so it is >= p exactly when t + 19 reaches 2^255. */
    uint32_t q = 19;
    for (unsigned i = 0; i < FE_LIMBS; i++) {
        q = (t.v[i] + q) >> fe_width(i);
    }
    /* Subtract q * p: add 19q, propagate, drop bit 255. */
    t.v[0] += 19u * q;
    for (unsigned i = 0; i < FE_LIMBS - 1; i++) {
        t.v[i + 1] += t.v[i] >> fe_width(i);
        t.v[i] &= fe_mask(i);
    }
    t.v[9] &= fe_mask(9);

    /* The limbs now hold disjoint bit ranges: OR each into its four bytes (see fe_offset). */
    memset(s, 0, 32);
    for (unsigned i = 0; i < FE_LIMBS; i++) {
        unsigned off = fe_offset(i);
        uint32_t v = t.v[i] << (off % 8u);
        for (unsigned j = 0; j < 4u; j++) {
            s[off / 8u + j] |= (uint8_t)(v >> (8u * j));
        }
    }
}

static int fe_iszero(const fe *f)
{
    uint8_t s[32];
    uint8_t any = 0;
    fe_tobytes(s, f);
    for (unsigned i = 0; i < sizeof s; i++) {
        any |= s[i];
    }
    return any == 0;
}

/* RFC 8032 5.1.2: x is "negative" when its canonical value is odd. */
static unsigned fe_isodd(const fe *f)
{
    uint8_t s[32];
    fe_tobytes(s, f);
    return s[0] & 1u;
}

/* Curve constants as canonical little-endian encodings (RFC 8032 5.1), checked by the tests. */
/* d = -121665 / 121666 */
static const uint8_t ed25519_d_bytes[32] = {
    0xa3, 0x78, 0x59, 0x13, 0xca, 0x4d, 0xeb, 0x75, 0xab, 0xd8, 0x41, 0x41, 0x4d, 0x0a, 0x70, 0x00,
    0x98, 0xe8, 0x79, 0x77, 0x79, 0x40, 0xc7, 0x8c, 0x73, 0xfe, 0x6f, 0x2b, 0xee, 0x6c, 0x03, 0x52,
};
/* 2^((p - 1) / 4), a square root of -1 */
static const uint8_t ed25519_sqrtm1_bytes[32] = {
    0xb0, 0xa0, 0x0e, 0x4a, 0x27, 0x1b, 0xee, 0xc4, 0x78, 0xe4, 0x2f, 0xad, 0x06, 0x18, 0x43, 0x2f,
    0xa7, 0xd7, 0xfb, 0x3d, 0x99, 0x00, 0x4d, 0x2b, 0x0b, 0xdf, 0xc1, 0x4f, 0x80, 0x24, 0x83, 0x2b,
};
/* The base point B: y = 4/5, x the even root. */
static const uint8_t ed25519_bx_bytes[32] = {
    0x1a, 0xd5, 0x25, 0x8f, 0x60, 0x2d, 0x56, 0xc9, 0xb2, 0xa7, 0x25, 0x95, 0x60, 0xc7, 0x2c, 0x69,
    0x5c, 0xdc, 0xd6, 0xfd, 0x31, 0xe2, 0xa4, 0xc0, 0xfe, 0x53, 0x6e, 0xcd, 0xd3, 0x36, 0x69, 0x21,
};
static const uint8_t ed25519_by_bytes[32] = {
    0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
    0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
};

/* ---------------------------------------------------------------------------------------------
 * Points
 * ------------------------------------------------------------------------------------------- */

/* Extended coordinates. T is only kept up to date when the point is about to be an addend. */
typedef struct {
    fe X;
    fe Y;
    fe Z;
    fe T;
} ge_ext;

/* A point prepared as the second operand of ge_add: (Y + X, Y - X, 2d * T, 2 * Z). */
typedef struct {
    fe YpX;
    fe YmX;
    fe T2d;
    fe Z2;
} ge_cached;

/* Addition and doubling both end in X = E*F, Y = G*H, Z = F*G, T = E*H; kept split so the
 * caller can skip T when only a doubling follows. */
typedef struct {
    fe E;
    fe F;
    fe G;
    fe H;
} ge_partial;

static void ge_identity(ge_ext *p)
{
    memset(p, 0, sizeof(*p));
    p->Y.v[0] = 1; /* (0 : 1 : 1 : 0) */
    p->Z.v[0] = 1;
}

static void ge_finish(ge_ext *r, const ge_partial *q, int with_t)
{
    fe_mul(&r->X, &q->E, &q->F);
    fe_mul(&r->Y, &q->G, &q->H);
    fe_mul(&r->Z, &q->F, &q->G);
    if (with_t) {
        fe_mul(&r->T, &q->E, &q->H);
    }
}

static void ge_to_cached(ge_cached *c, const ge_ext *p, const fe *d2)
{
    fe_add(&c->YpX, &p->Y, &p->X);
    fe_sub(&c->YmX, &p->Y, &p->X);
    fe_mul(&c->T2d, &p->T, d2);
    fe_add(&c->Z2, &p->Z, &p->Z);
}

/*
 * RFC 8032 5.1.4 addition, p + q, or p - q when negate is set: -(x, y) = (-x, y) swaps Y + X
 * with Y - X and negates 2dT, which swaps the roles of D - C and D + C.
 */
static void ge_add(ge_partial *r, const ge_ext *p, const ge_cached *q, int negate)
{
    fe a;
    fe b;
    fe c;
    fe d;
    fe_sub(&a, &p->Y, &p->X);
    fe_mul(&a, &a, negate ? &q->YpX : &q->YmX);
    fe_add(&b, &p->Y, &p->X);
    fe_mul(&b, &b, negate ? &q->YmX : &q->YpX);
    fe_mul(&c, &p->T, &q->T2d);
    fe_mul(&d, &p->Z, &q->Z2);
    fe_sub(&r->E, &b, &a);
    fe_add(&r->H, &b, &a);
    if (negate) {
        fe_add(&r->F, &d, &c);
        fe_sub(&r->G, &d, &c);
    } else {
        fe_sub(&r->F, &d, &c);
        fe_add(&r->G, &d, &c);
    }
}

/* RFC 8032 5.1.4 doubling; uses X, Y, Z only. */
static void ge_dbl(ge_partial *r, const ge_ext *p)
{
    fe a;
    fe b;
    fe c;
    fe_sq(&a, &p->X);
    fe_sq(&b, &p->Y);
    fe_sq(&c, &p->Z);
    fe_add(&c, &c, &c);
    fe_add(&r->H, &a, &b);
    fe_add(&r->E, &p->X, &p->Y);
    fe_sq(&r->E, &r->E);
    fe_sub(&r->E, &r->H, &r->E);
    fe_sub(&r->G, &a, &b);
    fe_add(&r->F, &c, &r->G);
}

/* RFC 8032 5.1.2: y with the low bit of x in bit 255. */
static void ge_tobytes(uint8_t s[32], const ge_ext *p)
{
    fe zinv;
    fe x;
    fe y;
    fe_invert(&zinv, &p->Z);
    fe_mul(&x, &p->X, &zinv);
    fe_mul(&y, &p->Y, &zinv);
    fe_tobytes(s, &y);
    s[31] |= (uint8_t)(fe_isodd(&x) << 7);
}

/* y of an encoding is below p (the sign bit is not part of y). */
ED25519_NOINLINE static int ed25519_y_canonical(const uint8_t s[32])
{
    fe y;
    uint8_t canon[32];
    fe_frombytes(&y, s);
    fe_tobytes(canon, &y);
    canon[31] |= (uint8_t)(s[31] & 0x80u);
    return memcmp(canon, s, sizeof canon) == 0;
}

/*
 * RFC 8032 5.1.3. Fails if y >= p (non-canonical), if (y^2 - 1) / (d y^2 + 1) has no square root,
 * or if x = 0 with the sign bit set. d y^2 + 1 is never 0 (d is not a square), so no division by 0.
 */
ED25519_NOINLINE static int ge_frombytes(ge_ext *p, const uint8_t s[32], const fe *d)
{
    unsigned x0 = s[31] >> 7;
    fe u;
    fe v;
    fe v3;
    fe t;
    fe vxx;

    if (!ed25519_y_canonical(s)) {
        return -1;
    }
    fe_frombytes(&p->Y, s);
    fe_set_small(&p->Z, 1);

    fe_sq(&u, &p->Y);
    fe_mul(&v, &u, d);
    fe_sub(&u, &u, &p->Z); /* u = y^2 - 1 */
    fe_add(&v, &v, &p->Z); /* v = d y^2 + 1 */

    /* Candidate root x = u v^3 (u v^7)^((p - 5) / 8). */
    fe_sq(&v3, &v);
    fe_mul(&v3, &v3, &v); /* v^3 */
    fe_sq(&t, &v3);
    fe_mul(&t, &t, &v); /* v^7 */
    fe_mul(&t, &t, &u); /* u v^7 */
    fe_pow_p58(&t, &t);
    fe_mul(&t, &t, &v3);
    fe_mul(&p->X, &t, &u);

    fe_sq(&vxx, &p->X);
    fe_mul(&vxx, &vxx, &v);
    fe_sub(&t, &vxx, &u);
    if (!fe_iszero(&t)) { /* v x^2 != u */
        fe_add(&t, &vxx, &u);
        if (!fe_iszero(&t)) { /* v x^2 != -u either */
            return -1;        /* u / v is not a square: no point has this y */
        }
        fe sqrtm1;
        fe_frombytes(&sqrtm1, ed25519_sqrtm1_bytes);
        fe_mul(&p->X, &p->X, &sqrtm1);
    }

    if (fe_iszero(&p->X) && x0 != 0) {
        return -1;
    }
    if (fe_isodd(&p->X) != x0) {
        fe_neg(&p->X, &p->X);
    }
    fe_mul(&p->T, &p->X, &p->Y);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Scalars mod L = 2^252 + 27742317777372353535851937790883648493, as eight 32-bit words, LSW first
 * ------------------------------------------------------------------------------------------- */

#define SC_WORDS 8

static const uint32_t ed25519_l[SC_WORDS] = {
    0x5cf5d3edu, 0x5812631au, 0xa2f79cd6u, 0x14def9deu, 0u, 0u, 0u, 0x10000000u,
};

/* a >= L */
static int sc_ge_l(const uint32_t a[SC_WORDS])
{
    for (unsigned i = SC_WORDS; i-- > 0;) {
        if (a[i] != ed25519_l[i]) {
            return a[i] > ed25519_l[i];
        }
    }
    return 1;
}

static void sc_sub_l(uint32_t a[SC_WORDS])
{
    uint32_t borrow = 0;
    for (unsigned i = 0; i < SC_WORDS; i++) {
        uint64_t d = (uint64_t)a[i] - ed25519_l[i] - borrow;
        a[i] = (uint32_t)d;
        borrow = (uint32_t)(d >> 63);
    }
}

/*
 * r = (64-byte little-endian number) mod L, one bit at a time from the top: r = 2r + bit, then
 * subtract L once if needed. r < L < 2^253 keeps 2r + 1 inside 256 bits. 512 cheap steps are
 * noise next to the scalar multiplication, and the method is easy to check.
 */
static void sc_reduce512(uint32_t r[SC_WORDS], const uint8_t h[64])
{
    memset(r, 0, SC_WORDS * sizeof(r[0]));
    for (unsigned bit = 512; bit-- > 0;) {
        uint32_t in = (h[bit / 8] >> (bit % 8)) & 1u;
        for (unsigned i = SC_WORDS; i-- > 1;) {
            r[i] = (r[i] << 1) | (r[i - 1] >> 31);
        }
        r[0] = (r[0] << 1) | in;
        if (sc_ge_l(r)) {
            sc_sub_l(r);
        }
    }
}

static void sc_frombytes(uint32_t r[SC_WORDS], const uint8_t s[32])
{
    for (size_t i = 0; i < SC_WORDS; i++) {
        r[i] = ota_get_le32(&s[4 * i]);
    }
}

/* Bit i of a scalar. */
static unsigned sc_bit(const uint32_t k[SC_WORDS], unsigned i)
{
    return (k[i / 32u] >> (i % 32u)) & 1u;
}

/*
 * out = encode([s]B - [k]A) for s, k < 2^253 (both are below L), by Shamir's trick: one chain of
 * 253 doublings over the bits of both scalars, adding B, -A or B - A where the bits say so
 * (on average 3 additions in 4 bits). Width-4 NAF with tables of odd multiples needed about
 * 15% fewer instructions but 440 more bytes of code and 1.8 KB more stack (docs/crypto.md).
 */
ED25519_NOINLINE static void ed25519_sb_minus_ka(uint8_t out[32], const uint32_t s[SC_WORDS],
                                                 const uint32_t k[SC_WORDS], const ge_ext *a,
                                                 const fe *d)
{
    ge_cached tbl[3]; /* B, A (added negated), B - A */
    ge_ext acc;
    ge_partial t;
    fe d2;

    OTA_ASSERT(((s[SC_WORDS - 1] | k[SC_WORDS - 1]) >> 29) == 0); /* below 2^253 */
    fe_add(&d2, d, d);
    fe_frombytes(&acc.X, ed25519_bx_bytes);
    fe_frombytes(&acc.Y, ed25519_by_bytes);
    fe_set_small(&acc.Z, 1);
    fe_mul(&acc.T, &acc.X, &acc.Y);
    ge_to_cached(&tbl[0], &acc, &d2);
    ge_to_cached(&tbl[1], a, &d2);
    ge_add(&t, &acc, &tbl[1], 1);
    ge_finish(&acc, &t, 1);
    ge_to_cached(&tbl[2], &acc, &d2);

    ge_identity(&acc);
    for (unsigned i = 253; i-- > 0;) {
        unsigned sel = sc_bit(s, i) | (sc_bit(k, i) << 1); /* 1: B, 2: -A, 3: B - A */
        ge_dbl(&t, &acc);
        ge_finish(&acc, &t, sel != 0);
        if (sel != 0) {
            ge_add(&t, &acc, &tbl[sel - 1u], sel == 2u);
            ge_finish(&acc, &t, 0);
        }
    }
    ge_tobytes(out, &acc);
}

/* k = SHA-512(R || A || M) mod L (RFC 8032 5.1.7 step 2). */
ED25519_NOINLINE static void ed25519_challenge(uint32_t k[SC_WORDS], const uint8_t *r,
                                               const uint8_t *pub, const uint8_t *msg,
                                               size_t msg_len)
{
    struct sha512_ctx h;
    uint8_t digest[SHA512_DIGEST_SIZE];
    sha512_init(&h);
    sha512_update(&h, r, 32);
    sha512_update(&h, pub, ED25519_PUBKEY_SIZE);
    sha512_update(&h, msg, msg_len);
    sha512_final(&h, digest);
    sc_reduce512(k, digest);
}

int ed25519_verify(const uint8_t sig[ED25519_SIG_SIZE], const uint8_t *msg, size_t msg_len,
                   const uint8_t pub[ED25519_PUBKEY_SIZE])
{
    uint32_t s[SC_WORDS];
    uint32_t k[SC_WORDS];
    uint8_t check[32];
    ge_ext a;
    fe d;

    OTA_VERIFY(sig != NULL && pub != NULL, ED25519_ERR_ARG);
    OTA_VERIFY(msg != NULL || msg_len == 0, ED25519_ERR_ARG);

    /* RFC 8032 5.1.7 step 1: S must be canonical, 0 <= S < L (else signatures are malleable). */
    sc_frombytes(s, &sig[32]);
    OTA_VERIFY(!sc_ge_l(s), ED25519_ERR_S_RANGE);
    /* A non-canonical R never equals the canonical encoding computed below; say so early. */
    OTA_VERIFY(ed25519_y_canonical(sig), ED25519_ERR_R_ENCODING);

    fe_frombytes(&d, ed25519_d_bytes);
    OTA_VERIFY(ge_frombytes(&a, pub, &d) == 0, ED25519_ERR_PUBKEY);

    ed25519_challenge(k, sig, pub, msg, msg_len);
    ed25519_sb_minus_ka(check, s, k, &a, &d);
    OTA_VERIFY(ota_memcmp_ct(check, sig, sizeof check) == 0, ED25519_ERR_MISMATCH);
    return ED25519_OK;
}

int ed25519_verify_buf(const uint8_t *sig, size_t sig_len, const uint8_t *msg, size_t msg_len,
                       const uint8_t *pub, size_t pub_len)
{
    OTA_VERIFY(sig != NULL && pub != NULL, ED25519_ERR_ARG);
    OTA_VERIFY(sig_len == ED25519_SIG_SIZE && pub_len == ED25519_PUBKEY_SIZE, ED25519_ERR_LENGTH);
    return ed25519_verify(sig, msg, msg_len, pub);
}
