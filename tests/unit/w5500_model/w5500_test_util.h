/*
 * Test helpers for the W5500 model: SPI frames driven through the model's pins (written here from
 * the datasheet frame format, not from any driver), a fake clock, and loopback host peers.
 */
#ifndef W5500_TEST_UTIL_H
#define W5500_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "w5500_model.h"

/* Block select values (datasheet: common 0, socket n registers 4n+1, TX 4n+2, RX 4n+3). */
#define T_COMMON 0u
#define T_SREG(n) (uint8_t)(4u * (n) + 1u)
#define T_STX(n) (uint8_t)(4u * (n) + 2u)
#define T_SRX(n) (uint8_t)(4u * (n) + 3u)

/* Literal register offsets and values from ../shared/reference/w5500.md. */
#define R_MR 0x0000
#define R_GAR 0x0001
#define R_SUBR 0x0005
#define R_SHAR 0x0009
#define R_SIPR 0x000F
#define R_INTLEVEL 0x0013
#define R_IR 0x0015
#define R_IMR 0x0016
#define R_SIR 0x0017
#define R_SIMR 0x0018
#define R_RTR 0x0019
#define R_RCR 0x001B
#define R_PTIMER 0x001C
#define R_PMAGIC 0x001D
#define R_PMRU 0x0026
#define R_UIPR 0x0028
#define R_PHYCFGR 0x002E
#define R_VERSIONR 0x0039

#define RS_MR 0x0000
#define RS_CR 0x0001
#define RS_IR 0x0002
#define RS_SR 0x0003
#define RS_PORT 0x0004
#define RS_DHAR 0x0006
#define RS_DIPR 0x000C
#define RS_DPORT 0x0010
#define RS_MSSR 0x0012
#define RS_TOS 0x0015
#define RS_TTL 0x0016
#define RS_RXBUF 0x001E
#define RS_TXBUF 0x001F
#define RS_TX_FSR 0x0020
#define RS_TX_RD 0x0022
#define RS_TX_WR 0x0024
#define RS_RX_RSR 0x0026
#define RS_RX_RD 0x0028
#define RS_RX_WR 0x002A
#define RS_IMR 0x002C
#define RS_FRAG 0x002D
#define RS_KPALVTR 0x002F

#define C_OPEN 0x01
#define C_LISTEN 0x02
#define C_CONNECT 0x04
#define C_DISCON 0x08
#define C_CLOSE 0x10
#define C_SEND 0x20
#define C_SEND_MAC 0x21
#define C_SEND_KEEP 0x22
#define C_RECV 0x40

#define I_SEND_OK 0x10
#define I_TIMEOUT 0x08
#define I_RECV 0x04
#define I_DISCON 0x02
#define I_CON 0x01

#define S_CLOSED 0x00
#define S_INIT 0x13
#define S_LISTEN 0x14
#define S_SYNSENT 0x15
#define S_ESTABLISHED 0x17
#define S_FIN_WAIT 0x18
#define S_CLOSE_WAIT 0x1C
#define S_UDP 0x22
#define S_MACRAW 0x42

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

extern struct w5500_model *tm;
extern uint64_t tnow;

/* Fresh model (default config unless cfg given), advanced past the 1 ms PLL lock. */
void t_model_new(const struct w5500_model_config *cfg);
void t_model_free(void);
void t_advance(uint64_t us);

/* One VDM frame. */
void t_write(uint8_t bsb, uint16_t addr, const uint8_t *data, size_t len);
void t_read(uint8_t bsb, uint16_t addr, uint8_t *data, size_t len);
void t_wr8(uint8_t bsb, uint16_t addr, uint8_t v);
uint8_t t_rd8(uint8_t bsb, uint16_t addr);
/* 16-bit register in one 2-byte VDM frame, big-endian. */
void t_wr16(uint8_t bsb, uint16_t addr, uint16_t v);
uint16_t t_rd16(uint8_t bsb, uint16_t addr);
void t_wr32(uint8_t bsb, uint16_t addr, uint32_t v);
uint32_t t_rd32(uint8_t bsb, uint16_t addr);

/* Sn_CR = cmd, then CR must read back 0 (accepted) in the next frame. */
void t_cmd(unsigned sn, uint8_t cmd);
/* SIPR/SUBR/GAR for the default LAN (192.168.1.10/24, gateway .1). */
void t_netcfg(void);
/* Open socket sn with protocol mode and local port; asserts the expected Sn_SR. */
void t_open(unsigned sn, uint8_t mode, uint16_t port, uint8_t expect_sr);
/* Copy data into the TX buffer at TX_WR, advance TX_WR, SEND. */
void t_send(unsigned sn, const uint8_t *data, size_t len);
/* Read n bytes at RX_RD, advance RX_RD, RECV. */
void t_recv(unsigned sn, uint8_t *data, size_t len);
/* Advance in steps of step_us until Sn_IR & mask != 0 or limit_us passes; returns Sn_IR. */
uint8_t t_wait_ir(unsigned sn, uint8_t mask, uint64_t step_us, uint64_t limit_us);
/* Advance until Sn_SR == sr (or limit); returns the last Sn_SR. */
uint8_t t_wait_sr(unsigned sn, uint8_t sr, uint64_t step_us, uint64_t limit_us);

/* Loopback host peers. */
int h_tcp_listen(uint16_t *port);
int h_accept(int lfd);        /* waits up to 2 s (real time: host kernel) */
int h_tcp_connect(uint16_t port);
int h_udp_bind(uint16_t *port);
void h_write_all(int fd, const uint8_t *p, size_t n);
/* Read exactly n bytes while advancing the model between polls; false on EOF/error. */
bool h_read_n(int fd, uint8_t *p, size_t n);
/* True if the host socket sees EOF (or reset) within a short real-time poll. */
int h_read_status(int fd); /* >0 data, 0 EOF, -1 reset/error, -2 nothing yet */

void t_pattern(uint8_t *p, size_t n, uint32_t seed);
uint32_t t_fnv(const uint8_t *p, size_t n);

#endif
