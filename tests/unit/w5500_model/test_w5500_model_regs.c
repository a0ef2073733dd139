/*
 * W5500 model, chip side: SPI framing, reset timing, register reset values, read-only and
 * write-one-to-clear registers, commands and socket states, INTn, buffer mapping and wrap.
 * Expected values are literals from ../shared/reference/w5500.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "w5500_test_util.h"

static int setup(void **state)
{
    (void)state;
    t_model_new(NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    t_model_free();
    return 0;
}

/* A raw VDM read that does not assume the chip answers the header. */
static uint8_t raw_read8(uint8_t bsb, uint16_t addr)
{
    w5500_model_set_scsn(tm, false);
    (void)w5500_model_spi_byte(tm, (uint8_t)(addr >> 8));
    (void)w5500_model_spi_byte(tm, (uint8_t)addr);
    (void)w5500_model_spi_byte(tm, (uint8_t)(bsb << 3));
    uint8_t v = w5500_model_spi_byte(tm, 0);
    w5500_model_set_scsn(tm, true);
    return v;
}

static void raw_write8(uint8_t bsb, uint16_t addr, uint8_t v)
{
    w5500_model_set_scsn(tm, false);
    (void)w5500_model_spi_byte(tm, (uint8_t)(addr >> 8));
    (void)w5500_model_spi_byte(tm, (uint8_t)addr);
    (void)w5500_model_spi_byte(tm, (uint8_t)((bsb << 3) | 4));
    (void)w5500_model_spi_byte(tm, v);
    w5500_model_set_scsn(tm, true);
}

static void test_power_on_pll_lock(void **state)
{
    (void)state;
    struct w5500_model_config cfg;
    w5500_model_config_default(&cfg);
    struct w5500_model *m = w5500_model_new(&cfg);
    assert_non_null(m);
    struct w5500_model *keep = tm;
    tm = m;
    assert_int_equal(w5500_model_next_deadline(m), 1000);
    w5500_model_advance(m, 999);
    assert_false(w5500_model_ready(m));
    assert_int_equal(raw_read8(T_COMMON, R_VERSIONR), 0x00);
    w5500_model_advance(m, 1000);
    assert_true(w5500_model_ready(m));
    assert_int_equal(raw_read8(T_COMMON, R_VERSIONR), 0x04);
    tm = keep;
    w5500_model_free(m);
}

static void test_reset_values_common(void **state)
{
    (void)state;
    assert_int_equal(t_rd8(T_COMMON, R_MR), 0x00);
    assert_int_equal(t_rd32(T_COMMON, R_GAR), 0);
    assert_int_equal(t_rd32(T_COMMON, R_SUBR), 0);
    assert_int_equal(t_rd32(T_COMMON, R_SIPR), 0);
    uint8_t shar[6];
    t_read(T_COMMON, R_SHAR, shar, 6);
    const uint8_t zero6[6] = {0};
    assert_memory_equal(shar, zero6, 6);
    assert_int_equal(t_rd16(T_COMMON, R_INTLEVEL), 0x0000);
    assert_int_equal(t_rd8(T_COMMON, R_IR), 0x00);
    assert_int_equal(t_rd8(T_COMMON, R_IMR), 0x00);
    assert_int_equal(t_rd8(T_COMMON, R_SIR), 0x00);
    assert_int_equal(t_rd8(T_COMMON, R_SIMR), 0x00);
    assert_int_equal(t_rd16(T_COMMON, R_RTR), 0x07D0);
    assert_int_equal(t_rd8(T_COMMON, R_RCR), 0x08);
    assert_int_equal(t_rd8(T_COMMON, R_PTIMER), 0x28);
    assert_int_equal(t_rd8(T_COMMON, R_PMAGIC), 0x00);
    assert_int_equal(t_rd16(T_COMMON, R_PMRU), 0xFFFF);
    assert_int_equal(t_rd32(T_COMMON, R_UIPR), 0);
    assert_int_equal(t_rd8(T_COMMON, R_PHYCFGR), 0xBF);
    assert_int_equal(t_rd8(T_COMMON, R_VERSIONR), 0x04);
    assert_true(w5500_model_intn(tm)); /* INTn high: nothing pending */
}

static void test_reset_values_socket(void **state)
{
    (void)state;
    for (unsigned n = 0; n < 8; n++) {
        assert_int_equal(t_rd8(T_SREG(n), RS_MR), 0x00);
        assert_int_equal(t_rd8(T_SREG(n), RS_CR), 0x00);
        assert_int_equal(t_rd8(T_SREG(n), RS_IR), 0x00);
        assert_int_equal(t_rd8(T_SREG(n), RS_SR), 0x00);
        assert_int_equal(t_rd16(T_SREG(n), RS_PORT), 0x0000);
        uint8_t dhar[6];
        t_read(T_SREG(n), RS_DHAR, dhar, 6);
        const uint8_t ff6[6] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
        assert_memory_equal(dhar, ff6, 6);
        assert_int_equal(t_rd32(T_SREG(n), RS_DIPR), 0);
        assert_int_equal(t_rd16(T_SREG(n), RS_DPORT), 0);
        assert_int_equal(t_rd16(T_SREG(n), RS_MSSR), 0x0000);
        assert_int_equal(t_rd8(T_SREG(n), RS_TOS), 0x00);
        assert_int_equal(t_rd8(T_SREG(n), RS_TTL), 0x80);
        assert_int_equal(t_rd8(T_SREG(n), RS_RXBUF), 0x02);
        assert_int_equal(t_rd8(T_SREG(n), RS_TXBUF), 0x02);
        assert_int_equal(t_rd16(T_SREG(n), RS_TX_FSR), 0x0800);
        assert_int_equal(t_rd16(T_SREG(n), RS_TX_RD), 0);
        assert_int_equal(t_rd16(T_SREG(n), RS_TX_WR), 0);
        assert_int_equal(t_rd16(T_SREG(n), RS_RX_RSR), 0);
        assert_int_equal(t_rd16(T_SREG(n), RS_RX_RD), 0);
        assert_int_equal(t_rd16(T_SREG(n), RS_RX_WR), 0);
        assert_int_equal(t_rd8(T_SREG(n), RS_IMR), 0xFF);
        assert_int_equal(t_rd16(T_SREG(n), RS_FRAG), 0x4000);
        assert_int_equal(t_rd8(T_SREG(n), RS_KPALVTR), 0x00);
    }
}

static void test_header_bytes_and_deselected_miso(void **state)
{
    (void)state;
    /* Deselected: MISO high-Z (0xFF) and nothing is decoded or counted. */
    struct w5500_model_stats st0;
    w5500_model_get_stats(tm, &st0);
    assert_int_equal(w5500_model_spi_byte(tm, 0x00), 0xFF);
    struct w5500_model_stats st1;
    w5500_model_get_stats(tm, &st1);
    assert_int_equal(st1.spi_bytes, st0.spi_bytes);
    /* VDM read of VERSIONR: 01 02 03 04 on MISO (fact sheet §1.1). */
    w5500_model_set_scsn(tm, false);
    assert_int_equal(w5500_model_spi_byte(tm, 0x00), 0x01);
    assert_int_equal(w5500_model_spi_byte(tm, 0x39), 0x02);
    assert_int_equal(w5500_model_spi_byte(tm, 0x00), 0x03);
    assert_int_equal(w5500_model_spi_byte(tm, 0x00), 0x04);
    w5500_model_set_scsn(tm, true);
    w5500_model_get_stats(tm, &st1);
    assert_int_equal(st1.spi_bytes, st0.spi_bytes + 4);
    assert_int_equal(st1.spi_frames, st0.spi_frames + 1);
}

static void test_vdm_auto_increment(void **state)
{
    (void)state;
    /* One 18-byte VDM frame across GAR, SUBR, SHAR, SIPR; read back one byte per frame. */
    uint8_t in[18];
    for (unsigned i = 0; i < sizeof(in); i++) {
        in[i] = (uint8_t)(0xA0 + i);
    }
    t_write(T_COMMON, R_GAR, in, sizeof(in));
    for (unsigned i = 0; i < sizeof(in); i++) {
        assert_int_equal(t_rd8(T_COMMON, (uint16_t)(R_GAR + i)), in[i]);
    }
    /* A frame ending after the header does nothing; a partial header is discarded. */
    w5500_model_set_scsn(tm, false);
    (void)w5500_model_spi_byte(tm, 0x00);
    (void)w5500_model_spi_byte(tm, 0x0F);
    w5500_model_set_scsn(tm, true);
    assert_int_equal(t_rd32(T_COMMON, R_SIPR), 0xAEAFB0B1u); /* in[14..17] */
}

static void test_fdm_frames(void **state)
{
    (void)state;
    /* SCSn stays low: FDM frames are delimited by their length (OM 01/10/11 = 1/2/4 bytes). */
    w5500_model_set_scsn(tm, false);
    const uint8_t f4[] = {0x00, 0x01, 0x07, 192, 168, 7, 1};      /* GAR, write, FDM 4 */
    const uint8_t f2[] = {0x00, 0x19, 0x06, 0x12, 0x34};          /* RTR, write, FDM 2 */
    const uint8_t f1[] = {0x00, 0x1B, 0x05, 0x03};                /* RCR, write, FDM 1 */
    for (unsigned i = 0; i < sizeof(f4); i++) {
        (void)w5500_model_spi_byte(tm, f4[i]);
    }
    for (unsigned i = 0; i < sizeof(f2); i++) {
        (void)w5500_model_spi_byte(tm, f2[i]);
    }
    for (unsigned i = 0; i < sizeof(f1); i++) {
        (void)w5500_model_spi_byte(tm, f1[i]);
    }
    /* FDM 2-byte read of GAR[2..3], then a 1-byte read of VERSIONR. */
    assert_int_equal(w5500_model_spi_byte(tm, 0x00), 0x01);
    assert_int_equal(w5500_model_spi_byte(tm, 0x03), 0x02);
    assert_int_equal(w5500_model_spi_byte(tm, 0x02), 0x03);
    assert_int_equal(w5500_model_spi_byte(tm, 0x00), 7);
    assert_int_equal(w5500_model_spi_byte(tm, 0x00), 1);
    assert_int_equal(w5500_model_spi_byte(tm, 0x00), 0x01); /* new frame's header */
    assert_int_equal(w5500_model_spi_byte(tm, 0x39), 0x02);
    assert_int_equal(w5500_model_spi_byte(tm, 0x01), 0x03);
    assert_int_equal(w5500_model_spi_byte(tm, 0x00), 0x04);
    w5500_model_set_scsn(tm, true);
    /* Five FDM frames; the SCSn rise after a complete FDM frame adds none. */
    struct w5500_model_stats st;
    w5500_model_get_stats(tm, &st);
    assert_int_equal(st.spi_frames, 5);
    assert_int_equal(st.spi_bytes, 7 + 5 + 4 + 5 + 4);
    assert_int_equal(t_rd32(T_COMMON, R_GAR), IP4(192, 168, 7, 1));
    assert_int_equal(t_rd16(T_COMMON, R_RTR), 0x1234);
    assert_int_equal(t_rd8(T_COMMON, R_RCR), 0x03);
}

static void test_reserved_bsb_ignored(void **state)
{
    (void)state;
    struct w5500_model_stats st0;
    w5500_model_get_stats(tm, &st0);
    /* BSB 4 (0b00100) is reserved: writes vanish, reads return 0. */
    t_wr8(4, 0x0000, 0x55);
    assert_int_equal(t_rd8(4, 0x0000), 0x00);
    assert_int_equal(t_rd8(T_SREG(1), RS_MR), 0x00);
    struct w5500_model_stats st1;
    w5500_model_get_stats(tm, &st1);
    assert_int_equal(st1.host_misuse, st0.host_misuse + 2);
}

static void test_read_only_registers(void **state)
{
    (void)state;
    t_wr8(T_COMMON, R_VERSIONR, 0x99);
    assert_int_equal(t_rd8(T_COMMON, R_VERSIONR), 0x04);
    t_wr32(T_COMMON, R_UIPR, 0x01020304);
    assert_int_equal(t_rd32(T_COMMON, R_UIPR), 0);
    t_wr8(T_SREG(2), RS_SR, 0x17);
    assert_int_equal(t_rd8(T_SREG(2), RS_SR), 0x00);
    t_wr16(T_SREG(2), RS_TX_FSR, 0x0001);
    assert_int_equal(t_rd16(T_SREG(2), RS_TX_FSR), 0x0800);
    t_wr16(T_SREG(2), RS_TX_RD, 0x1234);
    assert_int_equal(t_rd16(T_SREG(2), RS_TX_RD), 0);
    t_wr16(T_SREG(2), RS_RX_RSR, 0x1234);
    assert_int_equal(t_rd16(T_SREG(2), RS_RX_RSR), 0);
    t_wr16(T_SREG(2), RS_RX_WR, 0x1234);
    assert_int_equal(t_rd16(T_SREG(2), RS_RX_WR), 0);
    /* Writable pointers keep what is written. */
    t_wr16(T_SREG(2), RS_TX_WR, 0x1234);
    assert_int_equal(t_rd16(T_SREG(2), RS_TX_WR), 0x1234);
    t_wr16(T_SREG(2), RS_RX_RD, 0xBEEF);
    assert_int_equal(t_rd16(T_SREG(2), RS_RX_RD), 0xBEEF);
    /* PHYCFGR status bits 2..0 are read-only. */
    t_wr8(T_COMMON, R_PHYCFGR, 0xB8);
    assert_int_equal(t_rd8(T_COMMON, R_PHYCFGR), 0xBF);
}

static void test_software_reset(void **state)
{
    (void)state;
    t_netcfg();
    t_wr16(T_COMMON, R_RTR, 0x0100);
    t_open(3, 0x01, 5000, S_INIT);
    t_wr8(T_SREG(3), RS_TTL, 0x10);
    t_wr8(T_COMMON, R_MR, 0x80);
    /* Finished by the next access, RST self-clears, everything back to reset values. */
    assert_int_equal(t_rd8(T_COMMON, R_MR), 0x00);
    assert_int_equal(t_rd32(T_COMMON, R_SIPR), 0);
    assert_int_equal(t_rd32(T_COMMON, R_GAR), 0);
    assert_int_equal(t_rd16(T_COMMON, R_RTR), 0x07D0);
    assert_int_equal(t_rd8(T_SREG(3), RS_SR), S_CLOSED);
    assert_int_equal(t_rd8(T_SREG(3), RS_TTL), 0x80);
    assert_int_equal(t_rd16(T_SREG(3), RS_PORT), 0);
    /* Other MR bits are plain storage. */
    t_wr8(T_COMMON, R_MR, 0x10);
    assert_int_equal(t_rd8(T_COMMON, R_MR), 0x10);
}

static void test_rstn_pulse_timing(void **state)
{
    (void)state;
    t_netcfg();
    /* 499 us low: too short, the chip stays unusable. */
    w5500_model_set_rstn(tm, false);
    assert_false(w5500_model_ready(tm));
    t_advance(499);
    w5500_model_set_rstn(tm, true);
    t_advance(5000);
    assert_false(w5500_model_ready(tm));
    assert_int_equal(raw_read8(T_COMMON, R_VERSIONR), 0x00);
    /* 500 us low, then 1 ms of PLL lock. */
    w5500_model_set_rstn(tm, false);
    t_advance(500);
    w5500_model_set_rstn(tm, true);
    t_advance(999);
    assert_false(w5500_model_ready(tm));
    assert_int_equal(raw_read8(T_COMMON, R_VERSIONR), 0x00);
    raw_write8(T_COMMON, R_RCR, 0x22); /* ignored: not ready */
    t_advance(1);
    assert_true(w5500_model_ready(tm));
    assert_int_equal(t_rd8(T_COMMON, R_VERSIONR), 0x04);
    assert_int_equal(t_rd8(T_COMMON, R_RCR), 0x08);
    assert_int_equal(t_rd32(T_COMMON, R_SIPR), 0); /* registers reset */
}

static void test_phycfgr_link(void **state)
{
    (void)state;
    assert_int_equal(t_rd8(T_COMMON, R_PHYCFGR), 0xBF);
    w5500_model_set_link(tm, false);
    assert_int_equal(t_rd8(T_COMMON, R_PHYCFGR), 0xB8);
    w5500_model_set_link(tm, true);
    assert_int_equal(t_rd8(T_COMMON, R_PHYCFGR), 0xBF);
    /* PHY reset (bit 7 = 0) takes the link down until bit 7 is written back to 1. */
    t_wr8(T_COMMON, R_PHYCFGR, 0x38);
    assert_int_equal(t_rd8(T_COMMON, R_PHYCFGR), 0x38);
    t_wr8(T_COMMON, R_PHYCFGR, 0xB8);
    assert_int_equal(t_rd8(T_COMMON, R_PHYCFGR), 0xBF);
    /* OPMD = 1: OPMDC 100 = 100BT half duplex with auto-negotiation. */
    t_wr8(T_COMMON, R_PHYCFGR, 0xE0);
    assert_int_equal(t_rd8(T_COMMON, R_PHYCFGR), 0xE3);
    /* OPMDC 001 = 10BT full duplex. */
    t_wr8(T_COMMON, R_PHYCFGR, 0xC8);
    assert_int_equal(t_rd8(T_COMMON, R_PHYCFGR), 0xCD);
    /* OPMDC 110 = power down: no link. */
    t_wr8(T_COMMON, R_PHYCFGR, 0xF0);
    assert_int_equal(t_rd8(T_COMMON, R_PHYCFGR), 0xF0);
}

static void test_open_close_states(void **state)
{
    (void)state;
    t_netcfg();
    t_open(0, 0x01, 5000, S_INIT);
    t_cmd(0, C_LISTEN);
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_LISTEN);
    t_cmd(0, C_CLOSE);
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_CLOSED);
    t_open(1, 0x02, 3000, S_UDP);
    t_open(0, 0x04, 0, S_MACRAW);         /* MACRAW: socket 0 only */
    t_open(2, 0x04, 0, S_CLOSED);
    t_open(3, 0x03, 0, S_CLOSED);         /* IPRAW is not a W5500 mode */
    t_open(4, 0x00, 0, S_CLOSED);
    /* LISTEN/CONNECT only from SOCK_INIT of a TCP socket. */
    t_cmd(1, C_LISTEN);
    assert_int_equal(t_rd8(T_SREG(1), RS_SR), S_UDP);
    t_cmd(1, C_CONNECT);
    assert_int_equal(t_rd8(T_SREG(1), RS_SR), S_UDP);
    t_cmd(5, C_LISTEN);
    assert_int_equal(t_rd8(T_SREG(5), RS_SR), S_CLOSED);
    /* OPEN of an open socket reopens it with fresh pointers. */
    uint8_t junk[16] = {1, 2, 3};
    t_send(1, junk, sizeof(junk)); /* UDP to DIPR 0.0.0.0: routed via the gateway, lost */
    assert_int_equal(t_rd16(T_SREG(1), RS_TX_RD), 16);
    t_open(1, 0x02, 3001, S_UDP);
    assert_int_equal(t_rd16(T_SREG(1), RS_TX_RD), 0);
    assert_int_equal(t_rd16(T_SREG(1), RS_TX_WR), 0);
    /* Unknown command: accepted, no effect. */
    t_cmd(1, 0x7F);
    assert_int_equal(t_rd8(T_SREG(1), RS_SR), S_UDP);
}

static void test_cr_accepted_at_frame_end(void **state)
{
    (void)state;
    t_wr8(T_SREG(0), RS_MR, 0x01);
    /* Write CR and, in the same VDM frame, continue into Sn_IR (W1C 0) and read nothing:
     * the command is accepted only when SCSn rises. */
    w5500_model_set_scsn(tm, false);
    (void)w5500_model_spi_byte(tm, 0x00);
    (void)w5500_model_spi_byte(tm, RS_CR);
    (void)w5500_model_spi_byte(tm, (uint8_t)((T_SREG(0) << 3) | 4));
    (void)w5500_model_spi_byte(tm, C_OPEN);
    w5500_model_set_scsn(tm, true);
    assert_int_equal(t_rd8(T_SREG(0), RS_CR), 0);
    assert_int_equal(t_rd8(T_SREG(0), RS_SR), S_INIT);
    /* In FDM with SCSn held low, a frame ends after its bytes: the 1-byte CR write frame. */
    w5500_model_set_scsn(tm, false);
    const uint8_t f[] = {0x00, RS_CR, (uint8_t)((T_SREG(0) << 3) | 4 | 1), C_LISTEN};
    for (unsigned i = 0; i < sizeof(f); i++) {
        (void)w5500_model_spi_byte(tm, f[i]);
    }
    const uint8_t r[] = {0x00, RS_SR, (uint8_t)((T_SREG(0) << 3) | 1)};
    for (unsigned i = 0; i < sizeof(r); i++) {
        (void)w5500_model_spi_byte(tm, r[i]);
    }
    assert_int_equal(w5500_model_spi_byte(tm, 0), S_LISTEN);
    w5500_model_set_scsn(tm, true);
}

static void test_cr_busy_reads(void **state)
{
    (void)state;
    t_model_free();
    struct w5500_model_config cfg;
    w5500_model_config_default(&cfg);
    cfg.cr_busy_reads = 2;
    t_model_new(&cfg);
    t_wr8(T_SREG(4), RS_MR, 0x01);
    t_wr8(T_SREG(4), RS_CR, C_OPEN);
    assert_int_equal(t_rd8(T_SREG(4), RS_SR), S_INIT); /* effect visible already */
    assert_int_equal(t_rd8(T_SREG(4), RS_CR), C_OPEN);
    assert_int_equal(t_rd8(T_SREG(4), RS_CR), C_OPEN);
    assert_int_equal(t_rd8(T_SREG(4), RS_CR), 0x00);
    assert_int_equal(t_rd8(T_SREG(4), RS_CR), 0x00);
}

static void test_fsr_follows_tx_wr(void **state)
{
    (void)state;
    t_netcfg();
    t_open(2, 0x02, 3000, S_UDP);
    t_wr32(T_SREG(2), RS_DIPR, 0xFFFFFFFF);
    t_wr16(T_SREG(2), RS_DPORT, 9);
    /* FSR = size - (TX_WR - TX_RD) for UDP [DS p.54]: it drops when TX_WR moves, before SEND. */
    t_wr16(T_SREG(2), RS_TX_WR, 100);
    assert_int_equal(t_rd16(T_SREG(2), RS_TX_FSR), 0x0800 - 100);
    t_cmd(2, C_SEND);
    assert_int_equal(t_rd16(T_SREG(2), RS_TX_RD), 100);
    assert_int_equal(t_rd16(T_SREG(2), RS_TX_FSR), 0x0800);
    /* Across the 16-bit wrap. */
    t_wr16(T_SREG(2), RS_TX_WR, 0xFFF0);
    t_cmd(2, C_SEND);
    t_wr16(T_SREG(2), RS_TX_WR, 0x0010);
    assert_int_equal(t_rd16(T_SREG(2), RS_TX_FSR), 0x0800 - 0x20);
}

static void test_sn_ir_w1c_and_sir(void **state)
{
    (void)state;
    t_netcfg();
    t_open(2, 0x02, 3000, S_UDP);
    t_wr32(T_SREG(2), RS_DIPR, 0xFFFFFFFF);
    t_wr16(T_SREG(2), RS_DPORT, 9);
    const uint8_t d[4] = {1, 2, 3, 4};
    t_send(2, d, sizeof(d)); /* broadcast: no ARP, SEND_OK at once */
    assert_int_equal(t_rd8(T_SREG(2), RS_IR), I_SEND_OK);
    assert_int_equal(t_rd8(T_COMMON, R_SIR), 0x04);
    /* Writing 0 clears nothing; writing SIR clears nothing; writing the bit clears it. */
    t_wr8(T_SREG(2), RS_IR, 0x00);
    assert_int_equal(t_rd8(T_SREG(2), RS_IR), I_SEND_OK);
    t_wr8(T_COMMON, R_SIR, 0xFF);
    assert_int_equal(t_rd8(T_COMMON, R_SIR), 0x04);
    t_wr8(T_SREG(2), RS_IR, I_TIMEOUT);
    assert_int_equal(t_rd8(T_SREG(2), RS_IR), I_SEND_OK);
    t_wr8(T_SREG(2), RS_IR, I_SEND_OK);
    assert_int_equal(t_rd8(T_SREG(2), RS_IR), 0x00);
    assert_int_equal(t_rd8(T_COMMON, R_SIR), 0x00);
    /* Common IR: W1C on bits 7..4, nothing sets them here; writes never set them. */
    t_wr8(T_COMMON, R_IR, 0xFF);
    assert_int_equal(t_rd8(T_COMMON, R_IR), 0x00);
}

static void test_intn_gating(void **state)
{
    (void)state;
    t_netcfg();
    t_open(1, 0x02, 3000, S_UDP);
    t_wr32(T_SREG(1), RS_DIPR, 0xFFFFFFFF);
    t_wr16(T_SREG(1), RS_DPORT, 9);
    const uint8_t d[1] = {0x42};
    t_send(1, d, 1);
    assert_int_equal(t_rd8(T_SREG(1), RS_IR), I_SEND_OK);
    assert_true(w5500_model_intn(tm)); /* SIMR = 0: pin stays high */
    t_wr8(T_COMMON, R_SIMR, 0x01);     /* another socket enabled */
    assert_true(w5500_model_intn(tm));
    t_wr8(T_COMMON, R_SIMR, 0x02);
    assert_false(w5500_model_intn(tm));
    t_wr8(T_SREG(1), RS_IR, I_SEND_OK);
    assert_true(w5500_model_intn(tm));
    /* Sn_IMR gates the flag itself (datasheet wording): SEND_OK masked, never set. */
    t_wr8(T_SREG(1), RS_IMR, I_RECV);
    t_send(1, d, 1);
    assert_int_equal(t_rd8(T_SREG(1), RS_IR), 0x00);
    assert_true(w5500_model_intn(tm));
    t_wr8(T_SREG(1), RS_IMR, 0xFF);
    t_send(1, d, 1);
    assert_false(w5500_model_intn(tm));
    /* INTLEVEL = 0xFFFF: I_AWT = 65536 x 4 / 150 MHz = 1747.6 us before INTn re-asserts. */
    t_wr16(T_COMMON, R_INTLEVEL, 0xFFFF);
    t_wr8(T_SREG(1), RS_IR, I_SEND_OK);
    assert_true(w5500_model_intn(tm));
    t_send(1, d, 1);
    assert_int_equal(t_rd8(T_SREG(1), RS_IR), I_SEND_OK);
    assert_true(w5500_model_intn(tm));
    assert_int_equal(w5500_model_next_deadline(tm), tnow + 1748);
    t_advance(1746);
    assert_true(w5500_model_intn(tm));
    t_advance(2);
    assert_false(w5500_model_intn(tm));
}

static void test_imr_not_gating_when_configured_off(void **state)
{
    (void)state;
    t_model_free();
    struct w5500_model_config cfg;
    w5500_model_config_default(&cfg);
    cfg.imr_gates_sn_ir = false;
    t_model_new(&cfg);
    t_netcfg();
    t_open(1, 0x02, 3000, S_UDP);
    t_wr8(T_SREG(1), RS_IMR, 0x00);
    t_wr32(T_SREG(1), RS_DIPR, 0xFFFFFFFF);
    t_wr16(T_SREG(1), RS_DPORT, 9);
    const uint8_t d[1] = {0x42};
    t_send(1, d, 1);
    assert_int_equal(t_rd8(T_SREG(1), RS_IR), I_SEND_OK);
    t_wr8(T_COMMON, R_SIMR, 0x02);
    assert_false(w5500_model_intn(tm)); /* SIR follows Sn_IR, SIMR enables the pin */
}

static void test_buffer_sizes_and_wrap(void **state)
{
    (void)state;
    /* Socket 0 takes all 16 KB of TX memory; the others get none. */
    t_wr8(T_SREG(0), RS_TXBUF, 16);
    assert_int_equal(t_rd16(T_SREG(0), RS_TX_FSR), 0x4000);
    assert_int_equal(t_rd16(T_SREG(1), RS_TX_FSR), 0x0000);
    /* 64 KB offset space folded onto the 16 KB slice, wrapping inside one burst. */
    uint8_t pat[64];
    t_pattern(pat, sizeof(pat), 7);
    t_write(T_STX(0), 0xFFE0, pat, sizeof(pat)); /* 0xFFE0..0x001F */
    uint8_t back[32];
    t_read(T_STX(0), 0x3FE0, back, 32);
    assert_memory_equal(back, pat, 32);
    t_read(T_STX(0), 0x0000, back, 32);
    assert_memory_equal(back, pat + 32, 32);
    /* Inside one burst across the slice end as well. */
    uint8_t long_read[64];
    t_read(T_STX(0), 0x7FE0, long_read, 64);
    assert_memory_equal(long_read, pat, 64);
    /* Back to 2 KB each: socket 1's slice starts at 2 KB, offsets fold modulo 2 KB. */
    t_wr8(T_SREG(0), RS_TXBUF, 2);
    assert_int_equal(t_rd16(T_SREG(1), RS_TX_FSR), 0x0800);
    t_write(T_STX(1), 0x0800, pat, 8);
    t_read(T_STX(1), 0x0000, back, 8);
    assert_memory_equal(back, pat, 8);
    t_read(T_STX(0), 0x0800, back, 8); /* socket 0 at 2 KB folds to its own offset 0 */
    assert_memory_not_equal(back, pat, 8);
    /* Sizes summing past 16 KB: the socket that overflows gets no memory. */
    t_wr8(T_SREG(0), RS_RXBUF, 16);
    t_wr8(T_SREG(1), RS_RXBUF, 2);
    t_write(T_SRX(1), 0, pat, 4);
    t_read(T_SRX(1), 0, back, 4);
    const uint8_t zero4[4] = {0};
    assert_memory_equal(back, zero4, 4);
    /* An invalid size (3) is no memory either. */
    t_wr8(T_SREG(0), RS_TXBUF, 3);
    assert_int_equal(t_rd16(T_SREG(0), RS_TX_FSR), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_power_on_pll_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_values_common, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_values_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_bytes_and_deselected_miso, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vdm_auto_increment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fdm_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reserved_bsb_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_registers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_software_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rstn_pulse_timing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_phycfgr_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_close_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cr_accepted_at_frame_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cr_busy_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fsr_follows_tx_wr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sn_ir_w1c_and_sir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intn_gating, setup, teardown),
        cmocka_unit_test_setup_teardown(test_imr_not_gating_when_configured_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffer_sizes_and_wrap, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
