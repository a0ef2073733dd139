/*
 * W5500 register map (private to the driver). Values from ../shared/reference/w5500.md,
 * sections 1-3, which were cross-checked against datasheet v1.0.9/v1.1.0.
 */
#ifndef W5500_REGS_H
#define W5500_REGS_H

/* Control byte: BSB[4:0] RWB OM[1:0]; we always use VDM (OM = 00) and frame with SCSn. */
#define W5500_CTRL_READ 0x00u
#define W5500_CTRL_WRITE 0x04u
#define W5500_BSB_COMMON 0x00u
#define W5500_BSB_SREG(n) ((uint8_t)(((n) * 4u + 1u) << 3))
#define W5500_BSB_STX(n) ((uint8_t)(((n) * 4u + 2u) << 3))
#define W5500_BSB_SRX(n) ((uint8_t)(((n) * 4u + 3u) << 3))

/* Common block */
#define W5500_MR 0x0000u
#define W5500_GAR 0x0001u /* GAR, SUBR, SHAR, SIPR are contiguous: 0x0001..0x0012 */
#define W5500_SUBR 0x0005u
#define W5500_SHAR 0x0009u
#define W5500_SIPR 0x000Fu
#define W5500_RTR 0x0019u
#define W5500_RCR 0x001Bu
#define W5500_PHYCFGR 0x002Eu
#define W5500_VERSIONR 0x0039u

#define W5500_MR_RST 0x80u
#define W5500_PHYCFGR_LNK 0x01u
#define W5500_VERSION 0x04u

/* Socket block */
#define W5500_Sn_MR 0x0000u
#define W5500_Sn_CR 0x0001u
#define W5500_Sn_IR 0x0002u
#define W5500_Sn_SR 0x0003u
#define W5500_Sn_PORT 0x0004u
#define W5500_Sn_DIPR 0x000Cu /* DIPR then DPORT: 0x000C..0x0011 */
#define W5500_Sn_DPORT 0x0010u
#define W5500_Sn_RXBUF_SIZE 0x001Eu
#define W5500_Sn_TXBUF_SIZE 0x001Fu
#define W5500_Sn_TX_FSR 0x0020u /* FSR, TX_RD, TX_WR, RSR, RX_RD, RX_WR: 0x0020..0x002B */
#define W5500_Sn_TX_RD 0x0022u
#define W5500_Sn_TX_WR 0x0024u
#define W5500_Sn_RX_RSR 0x0026u
#define W5500_Sn_RX_RD 0x0028u
#define W5500_Sn_RX_WR 0x002Au
#define W5500_Sn_KPALVTR 0x002Fu

#define W5500_Sn_MR_TCP 0x01u
#define W5500_Sn_MR_UDP 0x02u

#define W5500_CR_OPEN 0x01u
#define W5500_CR_CONNECT 0x04u
#define W5500_CR_DISCON 0x08u
#define W5500_CR_CLOSE 0x10u
#define W5500_CR_SEND 0x20u
#define W5500_CR_RECV 0x40u

#define W5500_IR_SEND_OK 0x10u
#define W5500_IR_TIMEOUT 0x08u
#define W5500_IR_RECV 0x04u
#define W5500_IR_DISCON 0x02u
#define W5500_IR_CON 0x01u
#define W5500_IR_ALL 0x1Fu

#define W5500_SR_CLOSED 0x00u
#define W5500_SR_INIT 0x13u
#define W5500_SR_LISTEN 0x14u
#define W5500_SR_SYNSENT 0x15u
#define W5500_SR_SYNRECV 0x16u
#define W5500_SR_ESTABLISHED 0x17u
#define W5500_SR_FIN_WAIT 0x18u
#define W5500_SR_CLOSING 0x1Au
#define W5500_SR_TIME_WAIT 0x1Bu
#define W5500_SR_CLOSE_WAIT 0x1Cu
#define W5500_SR_LAST_ACK 0x1Du
#define W5500_SR_UDP 0x22u

#define W5500_UDP_HDR_LEN 8u

#endif /* W5500_REGS_H */
