/*
 * STM32F446 peripherals, register level, from ../shared/reference/stm32f446.md (section numbers
 * below refer to it): FLASH interface (§2), RCC/PWR (§3), GPIO (§4.1), SPI1 + W5500 (§4.2),
 * USART2 (§4.3), EXTI/SYSCFG (§4.4), CRC (§4.7), IWDG (§4.8), RTC backup registers and BKPSRAM
 * (§4.9), UID and flash size (§1.1). Any other register stops the run (vb_unmodelled).
 */
#include "vboard.h"

#include <errno.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#ifdef VB_HAVE_W5500
#include "w5500_model.h"
#endif

#define PS_PER_US 1000000ull
#define PS_PER_MS 1000000000ull

/* Peripheral bases (§1.3). */
#define RTC_BASE 0x40002800u
#define IWDG_BASE 0x40003000u
#define USART2_BASE 0x40004400u
#define PWR_BASE 0x40007000u
#define SPI1_BASE 0x40013000u
#define SYSCFG_BASE 0x40013800u
#define EXTI_BASE 0x40013C00u
#define GPIOA_BASE 0x40020000u
#define CRC_BASE 0x40023000u
#define RCC_BASE 0x40023800u
#define FLASH_IF_BASE 0x40023C00u
#define BKPSRAM_BASE 0x40024000u

/* FLASH_SR / FLASH_CR bits (§2.4, §2.5). */
#define SR_EOP (1u << 0)
#define SR_OPERR (1u << 1)
#define SR_WRPERR (1u << 4)
#define SR_PGAERR (1u << 5)
#define SR_PGPERR (1u << 6)
#define SR_PGSERR (1u << 7)
#define SR_RDERR (1u << 8)
#define SR_BSY (1u << 16)
#define SR_ERRORS (SR_WRPERR | SR_PGAERR | SR_PGPERR | SR_PGSERR)
#define CR_PG (1u << 0)
#define CR_SER (1u << 1)
#define CR_MER (1u << 2)
#define CR_STRT (1u << 16)
#define CR_EOPIE (1u << 24)
#define CR_ERRIE (1u << 25)
#define CR_LOCK (1u << 31)
#define FLASH_KEY1 0x45670123u
#define FLASH_KEY2 0xCDEF89ABu
#define FLASH_OPTKEY1 0x08192A3Bu
#define FLASH_OPTKEY2 0x4C5D6E7Fu

static const uint32_t sector_off[VB_FLASH_SECTORS + 1] = {
    0x00000, 0x04000, 0x08000, 0x0C000, 0x10000, 0x20000, 0x40000, 0x60000, 0x80000};

/* Unique ID: any fixed 96-bit value (a real part has its own). */
static const uint8_t uid_bytes[12] = {0x28, 0x00, 0x47, 0x00, 0x0D, 0x51, 0x31, 0x34,
                                      0x39, 0x36, 0x36, 0x30};

uint32_t vb_rand(struct vboard *vb)
{
    /* xorshift32: deterministic from --seed */
    uint32_t x = vb->rng ? vb->rng : 0x9E3779B9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    vb->rng = x;
    return x;
}

static uint32_t merge(uint32_t old, uint32_t v, uint32_t mask)
{
    return (old & ~mask) | (v & mask);
}

static int sector_of(uint32_t addr)
{
    uint32_t off = addr - VB_FLASH_BASE;
    for (int s = 0; s < VB_FLASH_SECTORS; s++) {
        if (off >= sector_off[s] && off < sector_off[s + 1]) {
            return s;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------- clocks */

void vb_update_clocks(struct vboard *vb)
{
    uint64_t hsi = 16000000u;
    uint64_t hse = 8000000u; /* ST-LINK MCO, bypass mode (§3.3) */
    uint32_t pllm = vb->rcc_pllcfgr & 0x3Fu;
    uint32_t plln = (vb->rcc_pllcfgr >> 6) & 0x1FFu;
    uint32_t pllp = (((vb->rcc_pllcfgr >> 16) & 3u) + 1u) * 2u;
    uint32_t pllr = (vb->rcc_pllcfgr >> 28) & 7u;
    uint64_t src = (vb->rcc_pllcfgr & (1u << 22)) ? hse : hsi;
    uint64_t vco = (pllm >= 2) ? src / pllm * plln : 0;
    uint64_t sys;
    switch ((vb->rcc_cfgr >> 2) & 3u) {
    case 0:
        sys = hsi;
        break;
    case 1:
        sys = hse;
        break;
    case 2:
        sys = vco / pllp;
        break;
    default:
        sys = pllr >= 2 ? vco / pllr : 0;
        break;
    }
    if (sys == 0) {
        sys = hsi;
    }
    static const unsigned hpre_div[8] = {2, 4, 8, 16, 64, 128, 256, 512};
    uint32_t hpre = (vb->rcc_cfgr >> 4) & 0xFu;
    uint64_t hclk = (hpre & 8u) ? sys / hpre_div[hpre & 7u] : sys;
    uint32_t p1 = (vb->rcc_cfgr >> 10) & 7u;
    uint32_t p2 = (vb->rcc_cfgr >> 13) & 7u;
    vb->hclk_hz = hclk;
    vb->pclk1_hz = (p1 & 4u) ? hclk >> ((p1 & 3u) + 1u) : hclk;
    vb->pclk2_hz = (p2 & 4u) ? hclk >> ((p2 & 3u) + 1u) : hclk;
    vb->cycle_ps = (1000000000000ull + hclk / 2u) / hclk;
}

static bool src_ready(const struct vboard *vb, uint32_t sw)
{
    switch (sw) {
    case 0:
        return (vb->rcc_cr & (1u << 1)) != 0;
    case 1:
        return (vb->rcc_cr & (1u << 17)) != 0;
    default:
        return (vb->rcc_cr & (1u << 25)) != 0;
    }
}

/* Ready flags follow their enables at once; HSE is ready only in bypass (no crystal on X3). */
static void rcc_settle(struct vboard *vb)
{
    uint32_t sws = (vb->rcc_cfgr >> 2) & 3u;
    if (sws == 0) {
        vb->rcc_cr |= 1u; /* HSI cannot be stopped while it is SYSCLK */
    } else if (sws == 1) {
        vb->rcc_cr |= 1u << 16;
    } else {
        vb->rcc_cr |= 1u << 24;
    }
    uint32_t cr = vb->rcc_cr & ~((1u << 1) | (1u << 17) | (1u << 25) | (1u << 27) | (1u << 29));
    if (cr & 1u) {
        cr |= 1u << 1;
    }
    if ((cr & (1u << 16)) && (cr & (1u << 18))) {
        cr |= 1u << 17;
    }
    bool pll_src_ok = (vb->rcc_pllcfgr & (1u << 22)) ? (cr & (1u << 17)) != 0 : (cr & (1u << 1)) != 0;
    if ((cr & (1u << 24)) && pll_src_ok) {
        cr |= 1u << 25;
    }
    if (cr & (1u << 26)) {
        cr |= 1u << 27;
    }
    if (cr & (1u << 28)) {
        cr |= 1u << 29;
    }
    vb->rcc_cr = cr;
    uint32_t sw = vb->rcc_cfgr & 3u;
    if (src_ready(vb, sw)) {
        vb->rcc_cfgr = (vb->rcc_cfgr & ~0xCu) | (sw << 2);
    }
    uint64_t old_h = vb->hclk_hz, old_p1 = vb->pclk1_hz, old_p2 = vb->pclk2_hz;
    vb_update_clocks(vb);
    if (old_h != vb->hclk_hz || old_p1 != vb->pclk1_hz || old_p2 != vb->pclk2_hz) {
        vb_log(vb, "HCLK %llu Hz (PCLK1 %llu, PCLK2 %llu)", (unsigned long long)vb->hclk_hz,
               (unsigned long long)vb->pclk1_hz, (unsigned long long)vb->pclk2_hz);
    }
}

/* ---------------------------------------------------------------- GPIO, EXTI, pins */

static uint16_t gpio_level(const struct vb_gpio *g)
{
    uint16_t lvl = 0;
    for (int n = 0; n < 16; n++) {
        uint32_t mode = (g->moder >> (2 * n)) & 3u;
        bool v;
        if (mode == 1u) {
            v = (g->odr >> n) & 1u;
        } else if (g->ext_mask & (1u << n)) {
            v = (g->ext_level >> n) & 1u;
        } else {
            v = ((g->pupdr >> (2 * n)) & 3u) == 1u;
        }
        if (v) {
            lvl |= (uint16_t)(1u << n);
        }
    }
    return lvl;
}

static void exti_update_irqs(struct vboard *vb)
{
    uint32_t p = vb->exti_pr & vb->exti_imr;
    for (int l = 0; l < 5; l++) {
        vb_set_irq_level(vb, VB_IRQ_EXTI0 + l, (p >> l) & 1u);
    }
    vb_set_irq_level(vb, VB_IRQ_EXTI9_5, (p & 0x3E0u) != 0);
    vb_set_irq_level(vb, VB_IRQ_EXTI15_10, (p & 0xFC00u) != 0);
    vb_set_irq_level(vb, 1, (p >> 16) & 1u);
    vb_set_irq_level(vb, 41, (p >> 17) & 1u);
    vb_set_irq_level(vb, 42, (p >> 18) & 1u);
    vb_set_irq_level(vb, 3, (p >> 22) & 1u);
}

static void w5500_pins(struct vboard *vb, bool cs_high, bool rst_high)
{
#ifdef VB_HAVE_W5500
    if (vb->w5500 != NULL) {
        w5500_model_advance(vb->w5500, vb->now_ps / PS_PER_US);
        w5500_model_set_rstn(vb->w5500, rst_high);
        w5500_model_set_scsn(vb->w5500, cs_high);
    }
#else
    (void)rst_high;
#endif
    vb->w5500_cs_low = !cs_high;
}

/* Recompute pin levels: EXTI edges, LED and W5500 pins. */
static void pins_changed(struct vboard *vb)
{
    for (int p = 0; p < 3; p++) {
        struct vb_gpio *g = &vb->gpio[p];
        uint16_t lvl = gpio_level(g);
        uint16_t diff = lvl ^ g->last_level;
        for (int n = 0; n < 16 && diff; n++) {
            if (!(diff & (1u << n))) {
                continue;
            }
            uint32_t port = (vb->syscfg_exticr[n / 4] >> (4 * (n % 4))) & 0xFu;
            if (port != (uint32_t)p) {
                continue;
            }
            bool rising = (lvl >> n) & 1u;
            if ((rising && (vb->exti_rtsr & (1u << n))) || (!rising && (vb->exti_ftsr & (1u << n)))) {
                vb->exti_pr |= 1u << n;
            }
        }
        g->last_level = lvl;
    }
    exti_update_irqs(vb);
    bool led = (vb->gpio[0].moder & 3u) == 1u && (vb->gpio[0].odr & 1u);
    if (led != vb->led_level) {
        vb->led_level = led;
        vb->led_changes++;
        vb_log(vb, "LED PA0 %s", led ? "on" : "off");
    }
    bool cs_high = ((vb->gpio[1].moder >> 12) & 3u) != 1u || ((vb->gpio[1].odr >> 6) & 1u);
    bool rst_high = ((vb->gpio[2].moder >> 14) & 3u) != 1u || ((vb->gpio[2].odr >> 7) & 1u);
    w5500_pins(vb, cs_high, rst_high);
}

void vb_button(struct vboard *vb, bool pressed)
{
    vb->button_pressed = pressed;
    /* B1 is active low with a board pull-up (§4.1). */
    if (pressed) {
        vb->gpio[2].ext_level &= (uint16_t)~(1u << 13);
    } else {
        vb->gpio[2].ext_level |= (uint16_t)(1u << 13);
    }
    vb_log(vb, "button PC13 %s", pressed ? "pressed" : "released");
    pins_changed(vb);
}

static void gpio_reset(struct vboard *vb, int p)
{
    struct vb_gpio *g = &vb->gpio[p];
    uint16_t ext_level = g->ext_level;
    uint16_t ext_mask = g->ext_mask;
    memset(g, 0, sizeof *g);
    g->ext_level = ext_level;
    g->ext_mask = ext_mask;
    if (p == 0) {
        g->moder = 0xA8000000u;
        g->ospeedr = 0x0C000000u;
        g->pupdr = 0x64000000u;
    } else if (p == 1) {
        g->moder = 0x00000280u;
        g->ospeedr = 0x000000C0u;
        g->pupdr = 0x00000100u;
    }
    g->last_level = gpio_level(g);
}

static uint32_t gpio_read(struct vboard *vb, int p, uint32_t off)
{
    struct vb_gpio *g = &vb->gpio[p];
    switch (off) {
    case 0x00:
        return g->moder;
    case 0x04:
        return g->otyper;
    case 0x08:
        return g->ospeedr;
    case 0x0C:
        return g->pupdr;
    case 0x10:
        return gpio_level(g);
    case 0x14:
        return g->odr;
    case 0x18:
        return 0; /* BSRR is write-only */
    case 0x20:
        return g->afr[0];
    case 0x24:
        return g->afr[1];
    default:
        vb_unmodelled(vb, GPIOA_BASE + 0x400u * (uint32_t)p + off, 4, false);
        return 0;
    }
}

static void gpio_write(struct vboard *vb, int p, uint32_t off, uint32_t v, uint32_t mask)
{
    struct vb_gpio *g = &vb->gpio[p];
    switch (off) {
    case 0x00:
        g->moder = merge(g->moder, v, mask);
        break;
    case 0x04:
        g->otyper = merge(g->otyper, v, mask) & 0xFFFFu;
        break;
    case 0x08:
        g->ospeedr = merge(g->ospeedr, v, mask);
        break;
    case 0x0C:
        g->pupdr = merge(g->pupdr, v, mask);
        break;
    case 0x10:
        return; /* IDR is read-only */
    case 0x14:
        g->odr = merge(g->odr, v, mask) & 0xFFFFu;
        break;
    case 0x18: {
        uint32_t w = v & mask;
        g->odr &= ~(w >> 16);
        g->odr |= w & 0xFFFFu; /* set wins */
        break;
    }
    case 0x20:
        g->afr[0] = merge(g->afr[0], v, mask);
        break;
    case 0x24:
        g->afr[1] = merge(g->afr[1], v, mask);
        break;
    default:
        vb_unmodelled(vb, GPIOA_BASE + 0x400u * (uint32_t)p + off, 4, true);
        return;
    }
    pins_changed(vb);
}

/* ---------------------------------------------------------------- USART2, SPI1 */

static void usart_irq(struct vboard *vb)
{
    uint32_t sr = vb->usart_sr;
    uint32_t cr1 = vb->usart_cr1;
    bool lvl = ((sr & 0x20u) && (cr1 & 0x20u)) || ((sr & 0x80u) && (cr1 & 0x80u)) ||
               ((sr & 0x40u) && (cr1 & 0x40u));
    vb_set_irq_level(vb, VB_IRQ_USART2, lvl);
}

static void usart_rx_poll(struct vboard *vb)
{
    if (vb->stdin_eof || !(vb->usart_cr1 & (1u << 13)) || !(vb->usart_cr1 & (1u << 2)) ||
        (vb->usart_sr & 0x20u)) {
        return;
    }
    uint8_t c;
    ssize_t n = read(STDIN_FILENO, &c, 1);
    if (n == 1) {
        vb->usart_rdr = c;
        vb->usart_sr |= 0x20u;
        usart_irq(vb);
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        vb->stdin_eof = true;
    }
}

static void spi_irq(struct vboard *vb)
{
    uint32_t sr = vb->spi_sr;
    uint32_t cr2 = vb->spi_cr2;
    bool lvl = ((sr & 1u) && (cr2 & 0x40u)) || ((sr & 2u) && (cr2 & 0x80u)) ||
               ((sr & 0x60u) && (cr2 & 0x20u));
    vb_set_irq_level(vb, VB_IRQ_SPI1, lvl);
}

static void spi_check_modf(struct vboard *vb)
{
    /* Master with software NSS low (SSM=1, SSI=0): mode fault clears SPE and MSTR (§4.2). */
    if ((vb->spi_cr1 & 4u) && (vb->spi_cr1 & (1u << 9)) && !(vb->spi_cr1 & (1u << 8))) {
        vb->spi_sr |= 0x20u;
        vb->spi_cr1 &= ~((1u << 6) | (1u << 2));
    }
}

static uint8_t spi_exchange(struct vboard *vb, uint8_t mosi)
{
#ifdef VB_HAVE_W5500
    if (vb->w5500 != NULL && vb->w5500_cs_low) {
        vb->w5500_last_spi_ps = vb->now_ps;
        if (!vb->pace_active && !vb->opt.no_pace) {
            vb->pace_active = true;
            vb->pace_v0_ps = vb->now_ps;
            vb->pace_r0_ns = vb_real_ns();
        }
        return w5500_model_spi_byte(vb->w5500, mosi);
    }
#endif
    (void)vb;
    (void)mosi;
    return 0xFF; /* MISO pulled up, nobody driving it */
}

static void spi_dr_write(struct vboard *vb, uint32_t v)
{
    if (!(vb->spi_cr1 & (1u << 6)) || !(vb->spi_cr1 & 4u)) {
        return; /* not an enabled master: nothing is clocked */
    }
    bool dff = (vb->spi_cr1 & (1u << 11)) != 0;
    uint16_t rx;
    if (dff) {
        uint8_t hi = spi_exchange(vb, (uint8_t)(v >> 8));
        uint8_t lo = spi_exchange(vb, (uint8_t)v);
        rx = (uint16_t)((hi << 8) | lo);
    } else {
        rx = spi_exchange(vb, (uint8_t)v);
    }
    if (vb->spi_sr & 1u) {
        vb->spi_sr |= 0x40u; /* OVR: previous byte not read */
    } else {
        vb->spi_rdr = rx;
    }
    vb->spi_sr |= 1u;
    uint64_t f = vb->pclk2_hz >> (((vb->spi_cr1 >> 3) & 7u) + 1u);
    uint64_t bits = dff ? 16u : 8u;
    if (f > 0) {
        vb_advance_to(vb, vb->now_ps + bits * 1000000000000ull / f, VB_T_SPI);
    }
    spi_irq(vb);
}

/* ---------------------------------------------------------------- flash interface */

static uint64_t erase_time_ps(const struct vboard *vb, int sector)
{
    uint32_t psize = (vb->fl.cr >> 8) & 3u;
    uint32_t size = sector_off[sector + 1] - sector_off[sector];
    /* Typical times of §2.9 in ms: [psize][16K, 64K, 128K]; x64 uses the x32 figures. */
    static const uint32_t ms[4][3] = {{400, 1200, 2000}, {300, 700, 1300}, {250, 550, 1000},
                                      {250, 550, 1000}};
    int k = size == 0x4000u ? 0 : (size == 0x10000u ? 1 : 2);
    return (uint64_t)ms[psize][k] * PS_PER_MS;
}

static void flash_irq(struct vboard *vb)
{
    bool lvl = ((vb->fl.sr & SR_EOP) && (vb->fl.cr & CR_EOPIE)) ||
               ((vb->fl.sr & SR_OPERR) && (vb->fl.cr & CR_ERRIE));
    vb_set_irq_level(vb, VB_IRQ_FLASH, lvl);
}

static void flash_error(struct vboard *vb, uint32_t flags)
{
    vb->fl.sr |= flags;
    if (vb->fl.cr & CR_ERRIE) {
        vb->fl.sr |= SR_OPERR;
    }
    flash_irq(vb);
}

static void damage_range(struct vboard *vb, uint32_t off, uint32_t len, bool arbitrary)
{
    uint8_t *m = vb->fl.mem + off;
    if (arbitrary) {
        for (uint32_t i = 0; i < len; i++) {
            uint32_t r = vb_rand(vb);
            switch (r % 3u) {
            case 0:
                m[i] = 0xFF;
                break;
            case 1:
                break;
            default:
                m[i] = (uint8_t)(r >> 8);
                break;
            }
        }
    } else {
        uint32_t k = vb_rand(vb) % (len + 1u);
        memset(m, 0xFF, k); /* erased up to the cut, old content after */
    }
}

static void flash_apply(struct vboard *vb, bool cut)
{
    struct vb_flash *f = &vb->fl;
    enum vb_cut_mode mode = vb->opt.cut_mode;
    if (f->op == 1) {
        uint32_t off = f->op_addr - VB_FLASH_BASE;
        for (uint32_t i = 0; i < f->op_size; i++) {
            uint8_t nb = (uint8_t)(f->op_data >> (8u * i));
            if (cut) {
                if (mode == VB_CUT_CLEAN) {
                    continue;
                }
                nb |= (uint8_t)vb_rand(vb); /* torn: each bit either old or new */
            }
            f->mem[off + i] &= nb; /* programming can only clear bits */
        }
        vb_flush_code(vb, f->op_addr, f->op_size);
        if (!cut) {
            f->programs++;
        }
    } else if (f->op == 2 || f->op == 3) {
        int first = f->op == 2 ? (int)f->op_addr : 0;
        int last = f->op == 2 ? (int)f->op_addr : VB_FLASH_SECTORS - 1;
        for (int s = first; s <= last; s++) {
            uint32_t off = sector_off[s];
            uint32_t len = sector_off[s + 1] - off;
            if (!cut) {
                memset(f->mem + off, 0xFF, len);
            } else if (mode != VB_CUT_CLEAN) {
                damage_range(vb, off, len, mode == VB_CUT_PARTIAL_ERASE);
            }
            vb_flush_code(vb, VB_FLASH_BASE + off, len);
            if (!cut && f->op == 2) {
                f->erases[s]++;
            }
        }
        if (!cut && f->op == 3) {
            f->mass_erases++;
        }
    }
}

/* End of the running operation (cut: the power failed during it). */
void vb_flash_complete(struct vboard *vb, bool cut)
{
    struct vb_flash *f = &vb->fl;
    if (!f->busy) {
        return;
    }
    if (cut && f->busy_end_ps > vb->now_ps) {
        f->busy_ps -= f->busy_end_ps - vb->now_ps; /* the operation ended early */
    }
    flash_apply(vb, cut);
    f->busy = false;
    f->op = 0;
    f->cr &= ~CR_STRT;
    if (!cut && (f->cr & CR_EOPIE)) {
        f->sr |= SR_EOP; /* EOP only with EOPIE (§2.4) */
    }
    flash_irq(vb);
}

static const char *cut_mode_name(enum vb_cut_mode m)
{
    return m == VB_CUT_CLEAN ? "clean" : (m == VB_CUT_TORN ? "torn" : "partial-erase");
}

/* Counts a flash operation; true if the power is cut at it (the caller then stops). */
static bool flash_op_start(struct vboard *vb, int op, uint32_t addr, uint32_t data, uint32_t size,
                           uint64_t duration_ps)
{
    struct vb_flash *f = &vb->fl;
    f->ops_total++;
    f->op = op;
    f->op_addr = addr;
    f->op_data = data;
    f->op_size = size;
    f->busy = true;
    f->busy_end_ps = vb->now_ps + duration_ps;
    f->busy_ps += duration_ps;
    if (vb->opt.trace_flash) {
        if (op == 1) {
            vb_log(vb, "flash op %llu: program 0x%08x <- 0x%08x", (unsigned long long)f->ops_total,
                   addr, data);
        } else {
            vb_log(vb, "flash op %llu: %s %u", (unsigned long long)f->ops_total,
                   op == 2 ? "erase sector" : "mass erase", addr);
        }
    }
    if (vb->opt.cut_at_flash_op >= 0 && (uint64_t)vb->opt.cut_at_flash_op == f->ops_total &&
        !vb->cut_done) {
        vb->cut_done = true;
        if (op == 1) {
            vb_log(vb, "power cut at flash op %llu (program 0x%08x <- 0x%08x), mode %s",
                   (unsigned long long)f->ops_total, addr, data, cut_mode_name(vb->opt.cut_mode));
        } else {
            vb_log(vb, "power cut at flash op %llu (%s %u), mode %s",
                   (unsigned long long)f->ops_total, op == 2 ? "erase sector" : "mass erase", addr,
                   cut_mode_name(vb->opt.cut_mode));
        }
        vb_flash_complete(vb, true);
        vb_request_reset(vb, VB_RESET_POWER_CUT);
        return true;
    }
    return false;
}

void vb_flash_restore(struct vboard *vb)
{
    struct vb_flash *f = &vb->fl;
    memcpy(f->mem + f->restore_off, f->restore_bytes, f->restore_len);
    f->restore_pending = false;
    vb_flush_code(vb, VB_FLASH_BASE + f->restore_off, f->restore_len);
}

bool vb_flash_store(struct vboard *vb, uint32_t addr, unsigned size, uint32_t value)
{
    struct vb_flash *f = &vb->fl;
    if (f->busy) {
        /* The bus stalls until BSY clears: the core cannot reach the W5500 meanwhile. */
        vb_pace_exempt(vb, f->busy_end_ps);
        vb_advance_to(vb, f->busy_end_ps, VB_T_FLASH);
    }
    if ((f->cr & CR_LOCK) || !(f->cr & CR_PG)) {
        flash_error(vb, SR_PGSERR);
        return false;
    }
    if (f->sr & SR_ERRORS) {
        flash_error(vb, SR_PGSERR); /* stale error flags block programming (§2.4) */
        return false;
    }
    uint32_t psize = (f->cr >> 8) & 3u;
    unsigned want = psize == 3u ? 4u : (1u << psize); /* x64 = pairs of word stores */
    if (size != want) {
        flash_error(vb, SR_PGPERR);
        return false;
    }
    if (addr % size != 0) {
        flash_error(vb, SR_PGAERR);
        return false;
    }
    int s = sector_of(addr);
    if (s < 0 || !(f->optcr & (1u << (16 + s)))) {
        flash_error(vb, SR_WRPERR);
        return false;
    }
    uint32_t mask = size == 4 ? 0xFFFFFFFFu : ((1u << (8u * size)) - 1u);
    (void)flash_op_start(vb, 1, addr, value & mask, size, 16u * PS_PER_US);
    return true;
}

static void flash_strt(struct vboard *vb)
{
    struct vb_flash *f = &vb->fl;
    bool ser = (f->cr & CR_SER) != 0;
    bool mer = (f->cr & CR_MER) != 0;
    if (ser == mer || (f->sr & SR_ERRORS)) {
        f->cr &= ~CR_STRT;
        flash_error(vb, SR_PGSERR);
        return;
    }
    if (ser) {
        uint32_t snb = (f->cr >> 3) & 0x1Fu;
        if (snb >= VB_FLASH_SECTORS) {
            f->cr &= ~CR_STRT;
            flash_error(vb, SR_PGSERR);
            return;
        }
        if (!(f->optcr & (1u << (16 + snb)))) {
            f->cr &= ~CR_STRT;
            flash_error(vb, SR_WRPERR);
            return;
        }
        (void)flash_op_start(vb, 2, snb, 0, 0, erase_time_ps(vb, (int)snb));
        return;
    }
    if ((f->optcr & 0x00FF0000u) != 0x00FF0000u) {
        f->cr &= ~CR_STRT;
        flash_error(vb, SR_WRPERR);
        return;
    }
    static const uint32_t mass_ms[4] = {16000, 11000, 8000, 8000};
    (void)flash_op_start(vb, 3, 0, 0, 0, (uint64_t)mass_ms[(f->cr >> 8) & 3u] * PS_PER_MS);
}

static void flash_reset(struct vboard *vb)
{
    struct vb_flash *f = &vb->fl;
    f->acr = 0;
    f->sr = 0;
    f->cr = CR_LOCK;
    /* factory default (§2.1): nWRP all 1, RDP level 0, WDG_SW; --wrp-sectors clears nWRP bits */
    f->optcr = 0x0FFFAAEDu & ~((vb->opt.wrp_sectors & 0xFFu) << 16);
    f->key_state = 0;
    f->key_lockout = false;
    f->optkey_state = 0;
}

static uint32_t flash_read(struct vboard *vb, uint32_t off)
{
    struct vb_flash *f = &vb->fl;
    switch (off) {
    case 0x00:
        return f->acr;
    case 0x04:
    case 0x08:
        return 0;
    case 0x0C:
        if (f->busy) {
            vb_ff_flash_sr_read(vb); /* may jump over passes of a polling loop */
        }
        return f->sr | (f->busy ? SR_BSY : 0u);
    case 0x10:
        return f->cr;
    case 0x14:
        return f->optcr;
    default:
        vb_unmodelled(vb, FLASH_IF_BASE + off, 4, false);
        return 0;
    }
}

static void flash_write(struct vboard *vb, uint32_t off, uint32_t v, uint32_t mask)
{
    struct vb_flash *f = &vb->fl;
    switch (off) {
    case 0x00:
        f->acr = merge(f->acr, v, mask) & 0x1F0Fu;
        return;
    case 0x04: /* KEYR */
        if (f->key_lockout) {
            vb_bus_fault(vb, FLASH_IF_BASE + off, false);
            return;
        }
        if (f->key_state == 0 && v == FLASH_KEY1 && mask == 0xFFFFFFFFu) {
            f->key_state = 1;
        } else if (f->key_state == 1 && v == FLASH_KEY2 && mask == 0xFFFFFFFFu) {
            f->key_state = 2;
            f->cr &= ~CR_LOCK;
        } else {
            /* Wrong value, wrong order, or keys while unlocked: locked until reset + bus error. */
            f->key_lockout = true;
            f->key_state = 0;
            f->cr |= CR_LOCK;
            vb_log(vb, "FLASH_KEYR: wrong key sequence (0x%08x): FLASH_CR locked until reset", v);
            vb_bus_fault(vb, FLASH_IF_BASE + off, false);
        }
        return;
    case 0x08: /* OPTKEYR */
        if (f->optkey_state == 0 && v == FLASH_OPTKEY1) {
            f->optkey_state = 1;
        } else if (f->optkey_state == 1 && v == FLASH_OPTKEY2) {
            f->optkey_state = 2;
            f->optcr &= ~1u;
        } else {
            f->optkey_state = 0;
            vb_bus_fault(vb, FLASH_IF_BASE + off, false);
        }
        return;
    case 0x0C: /* SR: write 1 to clear */
        f->sr &= ~(v & mask & (SR_EOP | SR_OPERR | SR_ERRORS | SR_RDERR));
        flash_irq(vb);
        return;
    case 0x10: {
        if (f->cr & CR_LOCK) {
            return; /* writes to a locked CR are ignored */
        }
        uint32_t nv = merge(f->cr, v, mask) & 0x830103FFu;
        if (nv & CR_LOCK) {
            f->key_state = 0;
        }
        bool strt = (nv & CR_STRT) && !(f->cr & CR_STRT);
        f->cr = nv;
        if (strt && !f->busy) {
            flash_strt(vb);
        }
        flash_irq(vb);
        return;
    }
    case 0x14: {
        uint32_t nv = merge(f->optcr, v, mask);
        if ((f->optcr & 1u) || (nv & ~1u) != (f->optcr & ~1u)) {
            if (f->optcr & 1u) {
                return; /* locked: ignored */
            }
            vb_unmodelled(vb, FLASH_IF_BASE + off, 4, true); /* option bytes are not modelled */
            return;
        }
        f->optcr = nv;
        if (nv & 1u) {
            f->optkey_state = 0;
        }
        return;
    }
    default:
        vb_unmodelled(vb, FLASH_IF_BASE + off, 4, true);
        return;
    }
}

/* ---------------------------------------------------------------- RCC, PWR */

static void usart_reset(struct vboard *vb)
{
    vb->usart_sr = 0xC0u;
    vb->usart_brr = vb->usart_cr1 = vb->usart_cr2 = vb->usart_cr3 = vb->usart_gtpr = 0;
    vb->usart_rdr = 0;
}

static void spi_reset(struct vboard *vb)
{
    vb->spi_cr1 = vb->spi_cr2 = 0;
    vb->spi_sr = 0x0002u;
    vb->spi_crcpr = 7u;
    vb->spi_i2scfgr = 0;
    vb->spi_i2spr = 2u;
    vb->spi_rdr = 0;
}

static void backup_domain_reset(struct vboard *vb)
{
    memset(vb->bkp, 0, sizeof vb->bkp);
    vb->rcc_bdcr = 0;
}

static uint32_t rcc_read(struct vboard *vb, uint32_t off)
{
    switch (off) {
    case 0x00:
        return vb->rcc_cr;
    case 0x04:
        return vb->rcc_pllcfgr;
    case 0x08:
        return vb->rcc_cfgr;
    case 0x0C:
        return vb->rcc_cir;
    case 0x10:
        return vb->rcc_ahb1rstr;
    case 0x14:
        return vb->rcc_ahb2rstr;
    case 0x18:
        return vb->rcc_ahb3rstr;
    case 0x20:
        return vb->rcc_apb1rstr;
    case 0x24:
        return vb->rcc_apb2rstr;
    case 0x30:
        return vb->rcc_ahb1enr;
    case 0x34:
        return vb->rcc_ahb2enr;
    case 0x38:
        return vb->rcc_ahb3enr;
    case 0x40:
        return vb->rcc_apb1enr;
    case 0x44:
        return vb->rcc_apb2enr;
    case 0x70:
        return vb->rcc_bdcr;
    case 0x74:
        return vb->rcc_csr;
    case 0x80:
        return vb->rcc_sscgr;
    case 0x84:
        return vb->rcc_plli2scfgr;
    case 0x88:
        return vb->rcc_pllsaicfgr;
    case 0x8C:
        return vb->rcc_dckcfgr;
    case 0x90:
        return vb->rcc_ckgatenr;
    case 0x94:
        return vb->rcc_dckcfgr2;
    default:
        vb_unmodelled(vb, RCC_BASE + off, 4, false);
        return 0;
    }
}

static void rcc_write(struct vboard *vb, uint32_t off, uint32_t v, uint32_t mask)
{
    switch (off) {
    case 0x00: {
        uint32_t writable = 0x150D00F9u;
        if (vb->rcc_cr & (1u << 16)) {
            writable &= ~(1u << 18); /* HSEBYP only changes while HSE is off */
        }
        vb->rcc_cr = merge(vb->rcc_cr, v, mask & writable);
        break;
    }
    case 0x04:
        if (vb->rcc_cr & (1u << 24)) {
            vb_warn(vb, "RCC_PLLCFGR written while the PLL is on: ignored");
            return;
        }
        vb->rcc_pllcfgr = merge(vb->rcc_pllcfgr, v, mask) & 0x7F437FFFu;
        break;
    case 0x08:
        vb->rcc_cfgr = merge(vb->rcc_cfgr, v, mask & ~0xCu);
        break;
    case 0x0C:
        vb->rcc_cir = merge(vb->rcc_cir, v, mask) & 0x00007F00u;
        return;
    case 0x10:
        vb->rcc_ahb1rstr = merge(vb->rcc_ahb1rstr, v, mask);
        for (int p = 0; p < 3; p++) {
            if (vb->rcc_ahb1rstr & (1u << p)) {
                gpio_reset(vb, p);
            }
        }
        if (vb->rcc_ahb1rstr & (1u << 12)) {
            vb->crc_dr = 0xFFFFFFFFu;
            vb->crc_idr = 0;
        }
        pins_changed(vb);
        return;
    case 0x14:
        vb->rcc_ahb2rstr = merge(vb->rcc_ahb2rstr, v, mask);
        return;
    case 0x18:
        vb->rcc_ahb3rstr = merge(vb->rcc_ahb3rstr, v, mask);
        return;
    case 0x20:
        vb->rcc_apb1rstr = merge(vb->rcc_apb1rstr, v, mask);
        if (vb->rcc_apb1rstr & (1u << 17)) {
            usart_reset(vb);
            usart_irq(vb);
        }
        return;
    case 0x24:
        vb->rcc_apb2rstr = merge(vb->rcc_apb2rstr, v, mask);
        if (vb->rcc_apb2rstr & (1u << 12)) {
            spi_reset(vb);
            spi_irq(vb);
        }
        return;
    case 0x30:
        vb->rcc_ahb1enr = merge(vb->rcc_ahb1enr, v, mask);
        return;
    case 0x34:
        vb->rcc_ahb2enr = merge(vb->rcc_ahb2enr, v, mask);
        return;
    case 0x38:
        vb->rcc_ahb3enr = merge(vb->rcc_ahb3enr, v, mask);
        return;
    case 0x40:
        vb->rcc_apb1enr = merge(vb->rcc_apb1enr, v, mask);
        return;
    case 0x44:
        vb->rcc_apb2enr = merge(vb->rcc_apb2enr, v, mask);
        return;
    case 0x70: {
        if (!(vb->pwr_cr & (1u << 8))) {
            vb_warn(vb, "RCC_BDCR written with PWR_CR.DBP=0: ignored");
            return;
        }
        uint32_t nv = merge(vb->rcc_bdcr, v, mask) & 0x0001830Du;
        if (nv & (1u << 16)) {
            backup_domain_reset(vb);
            vb->rcc_bdcr = 1u << 16;
            return;
        }
        nv &= ~2u;
        if (nv & 1u) {
            nv |= 2u; /* LSE crystal (X2) fitted on the Nucleo: LSERDY follows LSEON */
        }
        vb->rcc_bdcr = nv;
        return;
    }
    case 0x74: {
        uint32_t w = v & mask;
        if (w & (1u << 24)) {
            vb->rcc_csr &= 0x00FFFFFFu; /* RMVF clears every reset flag */
        }
        vb->rcc_csr = (vb->rcc_csr & ~1u) | (w & 1u);
        vb->rcc_csr = (vb->rcc_csr & ~2u) | ((vb->rcc_csr & 1u) << 1);
        return;
    }
    case 0x80:
        vb->rcc_sscgr = merge(vb->rcc_sscgr, v, mask);
        return;
    case 0x84:
        vb->rcc_plli2scfgr = merge(vb->rcc_plli2scfgr, v, mask);
        return;
    case 0x88:
        vb->rcc_pllsaicfgr = merge(vb->rcc_pllsaicfgr, v, mask);
        return;
    case 0x8C:
        vb->rcc_dckcfgr = merge(vb->rcc_dckcfgr, v, mask);
        return;
    case 0x90:
        vb->rcc_ckgatenr = merge(vb->rcc_ckgatenr, v, mask);
        return;
    case 0x94:
        vb->rcc_dckcfgr2 = merge(vb->rcc_dckcfgr2, v, mask);
        return;
    default:
        vb_unmodelled(vb, RCC_BASE + off, 4, true);
        return;
    }
    rcc_settle(vb);
}

static uint32_t pwr_csr_read(const struct vboard *vb)
{
    uint32_t v = vb->pwr_csr & ((1u << 8) | (1u << 9) | (1u << 7));
    if (v & (1u << 9)) {
        v |= 1u << 3; /* BRR follows BRE */
    }
    if (vb->rcc_cr & (1u << 25)) {
        v |= 1u << 14; /* VOSRDY once the PLL runs (§3.4) */
    }
    if (vb->pwr_cr & (1u << 16)) {
        v |= 1u << 16; /* ODRDY follows ODEN */
        if (vb->pwr_cr & (1u << 17)) {
            v |= 1u << 17; /* ODSWRDY follows ODSWEN */
        }
    }
    return v;
}

/* ---------------------------------------------------------------- dispatch */

static bool clock_on(struct vboard *vb, const char *name, uint32_t reg, uint32_t bit)
{
    if (reg & (1u << bit)) {
        return true;
    }
    vb_warn(vb, "%s accessed with its clock disabled at pc 0x%08x: write ignored, reads 0", name,
            vb->pc);
    return false;
}

static uint32_t crc_feed(uint32_t crc, uint32_t w)
{
    crc ^= w;
    for (int i = 0; i < 32; i++) {
        crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04C11DB7u : (crc << 1);
    }
    return crc;
}

static uint64_t iwdg_timeout_ps(const struct vboard *vb)
{
    uint32_t pr = vb->iwdg_pr > 6u ? 6u : vb->iwdg_pr;
    uint64_t ticks = (4ull << pr) * (uint64_t)(vb->iwdg_rlr + 1u);
    return ticks * 1000000000000ull / 32000u; /* LSI 32 kHz typical */
}

uint32_t vb_periph_read(struct vboard *vb, uint32_t a, unsigned size)
{
    (void)size;
    if (a >= GPIOA_BASE && a < GPIOA_BASE + 0xC00u) {
        int p = (int)((a - GPIOA_BASE) / 0x400u);
        if (!clock_on(vb, "GPIO", vb->rcc_ahb1enr, (uint32_t)p)) {
            return 0;
        }
        return gpio_read(vb, p, (a - GPIOA_BASE) % 0x400u);
    }
    if (a >= RCC_BASE && a < RCC_BASE + 0x400u) {
        return rcc_read(vb, a - RCC_BASE);
    }
    if (a >= FLASH_IF_BASE && a < FLASH_IF_BASE + 0x400u) {
        return flash_read(vb, a - FLASH_IF_BASE);
    }
    if (a >= BKPSRAM_BASE && a < BKPSRAM_BASE + 0x1000u) {
        if (!clock_on(vb, "BKPSRAM", vb->rcc_ahb1enr, 18)) {
            return 0;
        }
        uint32_t w;
        memcpy(&w, vb->bkpsram + (a - BKPSRAM_BASE), 4);
        return w;
    }
    if (a >= RTC_BASE + 0x50u && a <= RTC_BASE + 0x9Cu) {
        return vb->bkp[(a - RTC_BASE - 0x50u) / 4u];
    }
    switch (a) {
    case IWDG_BASE + 0x00:
        return 0;
    case IWDG_BASE + 0x04:
        return vb->iwdg_pr;
    case IWDG_BASE + 0x08:
        return vb->iwdg_rlr;
    case IWDG_BASE + 0x0C:
        return 0; /* updates complete at once */
    case PWR_BASE + 0x00:
        return clock_on(vb, "PWR", vb->rcc_apb1enr, 28) ? vb->pwr_cr : 0;
    case PWR_BASE + 0x04:
        return clock_on(vb, "PWR", vb->rcc_apb1enr, 28) ? pwr_csr_read(vb) : 0;
    case USART2_BASE + 0x00:
        return clock_on(vb, "USART2", vb->rcc_apb1enr, 17) ? vb->usart_sr : 0;
    case USART2_BASE + 0x04: {
        if (!clock_on(vb, "USART2", vb->rcc_apb1enr, 17)) {
            return 0;
        }
        vb->usart_sr &= ~0x20u;
        usart_irq(vb);
        return vb->usart_rdr;
    }
    case USART2_BASE + 0x08:
        return vb->usart_brr;
    case USART2_BASE + 0x0C:
        return vb->usart_cr1;
    case USART2_BASE + 0x10:
        return vb->usart_cr2;
    case USART2_BASE + 0x14:
        return vb->usart_cr3;
    case USART2_BASE + 0x18:
        return vb->usart_gtpr;
    case SPI1_BASE + 0x00:
        return vb->spi_cr1;
    case SPI1_BASE + 0x04:
        return vb->spi_cr2;
    case SPI1_BASE + 0x08:
        return clock_on(vb, "SPI1", vb->rcc_apb2enr, 12) ? vb->spi_sr : 0;
    case SPI1_BASE + 0x0C:
        if (!clock_on(vb, "SPI1", vb->rcc_apb2enr, 12)) {
            return 0;
        }
        vb->spi_sr &= ~0x41u; /* RXNE; OVR (DR read then SR read, simplified) */
        spi_irq(vb);
        return vb->spi_rdr;
    case SPI1_BASE + 0x10:
        return vb->spi_crcpr;
    case SPI1_BASE + 0x14:
    case SPI1_BASE + 0x18:
        return 0;
    case SPI1_BASE + 0x1C:
        return vb->spi_i2scfgr;
    case SPI1_BASE + 0x20:
        return vb->spi_i2spr;
    case SYSCFG_BASE + 0x00:
        return vb->syscfg_memrmp;
    case SYSCFG_BASE + 0x04:
        return vb->syscfg_pmc;
    case SYSCFG_BASE + 0x08:
    case SYSCFG_BASE + 0x0C:
    case SYSCFG_BASE + 0x10:
    case SYSCFG_BASE + 0x14:
        return vb->syscfg_exticr[(a - SYSCFG_BASE - 0x08u) / 4u];
    case SYSCFG_BASE + 0x20:
        return vb->syscfg_cmpcr | ((vb->syscfg_cmpcr & 1u) << 8);
    case SYSCFG_BASE + 0x2C:
        return vb->syscfg_cfgr;
    case EXTI_BASE + 0x00:
        return vb->exti_imr;
    case EXTI_BASE + 0x04:
        return vb->exti_emr;
    case EXTI_BASE + 0x08:
        return vb->exti_rtsr;
    case EXTI_BASE + 0x0C:
        return vb->exti_ftsr;
    case EXTI_BASE + 0x10:
        return 0; /* SWIER bits clear with PR; kept 0 */
    case EXTI_BASE + 0x14:
        return vb->exti_pr;
    case CRC_BASE + 0x00:
        return clock_on(vb, "CRC", vb->rcc_ahb1enr, 12) ? vb->crc_dr : 0;
    case CRC_BASE + 0x04:
        return vb->crc_idr;
    case CRC_BASE + 0x08:
        return 0;
    default:
        vb_unmodelled(vb, a, size, false);
        return 0;
    }
}

void vb_periph_write(struct vboard *vb, uint32_t a, uint32_t v, uint32_t mask, unsigned size)
{
    if (a >= GPIOA_BASE && a < GPIOA_BASE + 0xC00u) {
        int p = (int)((a - GPIOA_BASE) / 0x400u);
        if (clock_on(vb, "GPIO", vb->rcc_ahb1enr, (uint32_t)p)) {
            gpio_write(vb, p, (a - GPIOA_BASE) % 0x400u, v, mask);
        }
        return;
    }
    if (a >= RCC_BASE && a < RCC_BASE + 0x400u) {
        rcc_write(vb, a - RCC_BASE, v, mask);
        return;
    }
    if (a >= FLASH_IF_BASE && a < FLASH_IF_BASE + 0x400u) {
        flash_write(vb, a - FLASH_IF_BASE, v, mask);
        return;
    }
    if (a >= BKPSRAM_BASE && a < BKPSRAM_BASE + 0x1000u) {
        if (!clock_on(vb, "BKPSRAM", vb->rcc_ahb1enr, 18)) {
            return;
        }
        if (!(vb->pwr_cr & (1u << 8))) {
            vb_warn(vb, "BKPSRAM written with PWR_CR.DBP=0: ignored");
            return;
        }
        uint32_t w;
        memcpy(&w, vb->bkpsram + (a - BKPSRAM_BASE), 4);
        w = merge(w, v, mask);
        memcpy(vb->bkpsram + (a - BKPSRAM_BASE), &w, 4);
        return;
    }
    if (a >= RTC_BASE + 0x50u && a <= RTC_BASE + 0x9Cu) {
        if (!(vb->pwr_cr & (1u << 8))) {
            vb_warn(vb, "RTC_BKP%uR written with PWR_CR.DBP=0: ignored",
                    (a - RTC_BASE - 0x50u) / 4u);
            return;
        }
        uint32_t i = (a - RTC_BASE - 0x50u) / 4u;
        vb->bkp[i] = merge(vb->bkp[i], v, mask);
        return;
    }
    switch (a) {
    case IWDG_BASE + 0x00: {
        uint32_t key = v & mask & 0xFFFFu;
        if (key == 0xCCCCu) {
            if (!vb->iwdg_running) {
                vb_log(vb, "IWDG started");
            }
            vb->iwdg_running = true;
            vb->iwdg_expire_ps = vb->now_ps + iwdg_timeout_ps(vb);
        } else if (key == 0xAAAAu) {
            if (vb->iwdg_running) {
                vb->iwdg_expire_ps = vb->now_ps + iwdg_timeout_ps(vb);
            }
        } else {
            vb->iwdg_unlocked = key == 0x5555u;
        }
        return;
    }
    case IWDG_BASE + 0x04:
        if (vb->iwdg_unlocked) {
            vb->iwdg_pr = merge(vb->iwdg_pr, v, mask) & 7u;
        }
        return;
    case IWDG_BASE + 0x08:
        if (vb->iwdg_unlocked) {
            vb->iwdg_rlr = merge(vb->iwdg_rlr, v, mask) & 0xFFFu;
        }
        return;
    case IWDG_BASE + 0x0C:
        return;
    case PWR_BASE + 0x00:
        if (clock_on(vb, "PWR", vb->rcc_apb1enr, 28)) {
            vb->pwr_cr = merge(vb->pwr_cr, v, mask) & 0x003FEFF3u;
        }
        return;
    case PWR_BASE + 0x04:
        if (clock_on(vb, "PWR", vb->rcc_apb1enr, 28)) {
            vb->pwr_csr = merge(vb->pwr_csr, v, mask & ((1u << 8) | (1u << 9) | (1u << 7)));
        }
        return;
    case USART2_BASE + 0x00:
        if (clock_on(vb, "USART2", vb->rcc_apb1enr, 17)) {
            vb->usart_sr &= ~(~v & mask & 0x360u); /* RXNE, TC, LBD, CTS: write 0 to clear */
            vb->usart_sr |= 0xC0u & ~(~v & mask & 0x40u);
            usart_irq(vb);
        }
        return;
    case USART2_BASE + 0x04:
        if (clock_on(vb, "USART2", vb->rcc_apb1enr, 17)) {
            if ((vb->usart_cr1 & (1u << 13)) && (vb->usart_cr1 & (1u << 3))) {
                vb_uart_tx(vb, (uint8_t)(v & mask));
            }
            vb->usart_sr |= 0xC0u; /* TXE and TC stay set: transmission takes no time */
            usart_irq(vb);
        }
        return;
    case USART2_BASE + 0x08:
        vb->usart_brr = merge(vb->usart_brr, v, mask) & 0xFFFFu;
        return;
    case USART2_BASE + 0x0C:
        if (clock_on(vb, "USART2", vb->rcc_apb1enr, 17)) {
            vb->usart_cr1 = merge(vb->usart_cr1, v, mask) & 0xBFFFu;
            usart_irq(vb);
        }
        return;
    case USART2_BASE + 0x10:
        vb->usart_cr2 = merge(vb->usart_cr2, v, mask) & 0x7F7Fu;
        return;
    case USART2_BASE + 0x14:
        vb->usart_cr3 = merge(vb->usart_cr3, v, mask) & 0xFFFu;
        return;
    case USART2_BASE + 0x18:
        vb->usart_gtpr = merge(vb->usart_gtpr, v, mask) & 0xFFFFu;
        return;
    case SPI1_BASE + 0x00:
        if (clock_on(vb, "SPI1", vb->rcc_apb2enr, 12)) {
            vb->spi_cr1 = merge(vb->spi_cr1, v, mask) & 0xFFFFu;
            spi_check_modf(vb);
            spi_irq(vb);
        }
        return;
    case SPI1_BASE + 0x04:
        if (clock_on(vb, "SPI1", vb->rcc_apb2enr, 12)) {
            vb->spi_cr2 = merge(vb->spi_cr2, v, mask) & 0xF7u;
            spi_irq(vb);
        }
        return;
    case SPI1_BASE + 0x08:
        if (clock_on(vb, "SPI1", vb->rcc_apb2enr, 12)) {
            vb->spi_sr &= ~(~v & mask & 0x10u); /* CRCERR: write 0 to clear */
        }
        return;
    case SPI1_BASE + 0x0C:
        if (clock_on(vb, "SPI1", vb->rcc_apb2enr, 12)) {
            spi_dr_write(vb, v & mask);
        }
        return;
    case SPI1_BASE + 0x10:
        vb->spi_crcpr = merge(vb->spi_crcpr, v, mask) & 0xFFFFu;
        return;
    case SPI1_BASE + 0x1C:
        vb->spi_i2scfgr = merge(vb->spi_i2scfgr, v, mask) & 0xFBFu;
        if (vb->spi_i2scfgr & (1u << 11)) {
            vb_unmodelled(vb, a, size, true); /* I2S mode */
        }
        return;
    case SPI1_BASE + 0x20:
        vb->spi_i2spr = merge(vb->spi_i2spr, v, mask) & 0x3FFu;
        return;
    case SYSCFG_BASE + 0x00:
        if ((v & mask & 3u) != 0) {
            vb_unmodelled(vb, a, size, true); /* only flash at 0 is modelled */
        }
        return;
    case SYSCFG_BASE + 0x04:
        if (clock_on(vb, "SYSCFG", vb->rcc_apb2enr, 14)) {
            vb->syscfg_pmc = merge(vb->syscfg_pmc, v, mask) & 0x00830000u;
        }
        return;
    case SYSCFG_BASE + 0x08:
    case SYSCFG_BASE + 0x0C:
    case SYSCFG_BASE + 0x10:
    case SYSCFG_BASE + 0x14:
        if (clock_on(vb, "SYSCFG", vb->rcc_apb2enr, 14)) {
            uint32_t i = (a - SYSCFG_BASE - 0x08u) / 4u;
            vb->syscfg_exticr[i] = merge(vb->syscfg_exticr[i], v, mask) & 0xFFFFu;
        }
        return;
    case SYSCFG_BASE + 0x20:
        if (clock_on(vb, "SYSCFG", vb->rcc_apb2enr, 14)) {
            vb->syscfg_cmpcr = merge(vb->syscfg_cmpcr, v, mask) & 1u;
        }
        return;
    case SYSCFG_BASE + 0x2C:
        if (clock_on(vb, "SYSCFG", vb->rcc_apb2enr, 14)) {
            vb->syscfg_cfgr = merge(vb->syscfg_cfgr, v, mask) & 3u;
        }
        return;
    case EXTI_BASE + 0x00:
        vb->exti_imr = merge(vb->exti_imr, v, mask) & 0x7FFFFFu;
        exti_update_irqs(vb);
        return;
    case EXTI_BASE + 0x04:
        vb->exti_emr = merge(vb->exti_emr, v, mask) & 0x7FFFFFu;
        return;
    case EXTI_BASE + 0x08:
        vb->exti_rtsr = merge(vb->exti_rtsr, v, mask) & 0x7FFFFFu;
        return;
    case EXTI_BASE + 0x0C:
        vb->exti_ftsr = merge(vb->exti_ftsr, v, mask) & 0x7FFFFFu;
        return;
    case EXTI_BASE + 0x10:
        vb->exti_pr |= v & mask & vb->exti_imr & 0x7FFFFFu; /* software trigger */
        exti_update_irqs(vb);
        return;
    case EXTI_BASE + 0x14:
        vb->exti_pr &= ~(v & mask);
        exti_update_irqs(vb);
        return;
    case CRC_BASE + 0x00:
        if (mask != 0xFFFFFFFFu) {
            vb_unmodelled(vb, a, size, true); /* the F4 CRC unit takes 32-bit words only */
            return;
        }
        if (clock_on(vb, "CRC", vb->rcc_ahb1enr, 12)) {
            vb->crc_dr = crc_feed(vb->crc_dr, v);
        }
        return;
    case CRC_BASE + 0x04:
        if (clock_on(vb, "CRC", vb->rcc_ahb1enr, 12)) {
            vb->crc_idr = merge(vb->crc_idr, v, mask) & 0xFFu;
        }
        return;
    case CRC_BASE + 0x08:
        if (clock_on(vb, "CRC", vb->rcc_ahb1enr, 12) && (v & mask & 1u)) {
            vb->crc_dr = 0xFFFFFFFFu;
        }
        return;
    default:
        vb_unmodelled(vb, a, size, true);
        return;
    }
}

uint32_t vb_sysmem_read(struct vboard *vb, uint32_t addr, unsigned size)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint32_t a = addr + i;
        uint8_t b;
        if (a >= 0x1FFF7A10u && a < 0x1FFF7A1Cu) {
            b = uid_bytes[a - 0x1FFF7A10u];
        } else if (a == 0x1FFF7A22u) {
            b = 0x00; /* flash size 0x0200 = 512 KB */
        } else if (a == 0x1FFF7A23u) {
            b = 0x02;
        } else {
            vb_unmodelled(vb, addr, size, false);
            return 0;
        }
        v |= (uint32_t)b << (8u * i);
    }
    return v;
}

/* ---------------------------------------------------------------- reset and events */

void vb_periph_reset(struct vboard *vb, enum vb_reset_cause cause)
{
    if (vb->fl.busy) {
        vb_flash_complete(vb, true);
    }
    flash_reset(vb);
    vb->rcc_cr = 0x00000483u;
    vb->rcc_pllcfgr = 0x24003010u;
    vb->rcc_cfgr = 0;
    vb->rcc_cir = 0;
    vb->rcc_ahb1rstr = vb->rcc_ahb2rstr = vb->rcc_ahb3rstr = 0;
    vb->rcc_apb1rstr = vb->rcc_apb2rstr = 0;
    vb->rcc_ahb1enr = 0x00100000u;
    vb->rcc_ahb2enr = vb->rcc_ahb3enr = vb->rcc_apb1enr = vb->rcc_apb2enr = 0;
    vb->rcc_sscgr = 0;
    vb->rcc_plli2scfgr = 0x24003010u;
    vb->rcc_pllsaicfgr = 0x04003010u;
    vb->rcc_dckcfgr = vb->rcc_ckgatenr = vb->rcc_dckcfgr2 = 0;
    /* RCC_CSR: reset flags are sticky; LSI is off after any reset. */
    uint32_t flags = vb->rcc_csr & 0xFF000000u;
    switch (cause) {
    case VB_RESET_POWER_ON:
    case VB_RESET_POWER_CUT:
        flags = 0x0E000000u; /* PORRSTF | PINRSTF | BORRSTF */
        break;
    case VB_RESET_SOFTWARE:
        flags |= (1u << 28) | (1u << 26);
        break;
    case VB_RESET_IWDG:
        flags |= (1u << 29) | (1u << 26);
        break;
    default:
        break;
    }
    vb->rcc_csr = flags;
    if (cause == VB_RESET_POWER_ON || cause == VB_RESET_POWER_CUT) {
        if (!vb->opt.vbat) {
            backup_domain_reset(vb);
            memset(vb->bkpsram, 0, sizeof vb->bkpsram);
        }
    }
    vb->rcc_bdcr &= 0x0001830Du;
    vb->pwr_cr = 0x0000C000u;
    vb->pwr_csr = 0;
    for (int p = 0; p < 3; p++) {
        vb->gpio[p].ext_mask = p == 2 ? (uint16_t)(1u << 13) : 0;
        vb->gpio[p].ext_level = p == 2 ? (uint16_t)(vb->button_pressed ? 0u : (1u << 13)) : 0;
        gpio_reset(vb, p);
    }
    vb->exti_imr = vb->exti_emr = vb->exti_rtsr = vb->exti_ftsr = vb->exti_pr = 0;
    vb->syscfg_memrmp = 0;
    vb->syscfg_pmc = 0;
    memset(vb->syscfg_exticr, 0, sizeof vb->syscfg_exticr);
    vb->syscfg_cmpcr = vb->syscfg_cfgr = 0;
    usart_reset(vb);
    spi_reset(vb);
    vb->crc_dr = 0xFFFFFFFFu;
    vb->crc_idr = 0;
    vb->iwdg_running = false;
    vb->iwdg_unlocked = false;
    vb->iwdg_pr = 0;
    vb->iwdg_rlr = 0xFFFu;
    vb->led_level = false;
    vb_update_clocks(vb);
    /* Pins after reset: CS and RSTn float (pulled high on the module). */
    w5500_pins(vb, true, true);
}

/* Earliest peripheral event; without the W5500 poll (with_w5500 false) only events that change
 * something the core can see without talking to the W5500. */
uint64_t vb_periph_next_event(struct vboard *vb, bool with_w5500)
{
    uint64_t next = UINT64_MAX;
#define VB_MIN(x)                                                                                  \
    do {                                                                                           \
        if ((x) < next) {                                                                          \
            next = (x);                                                                            \
        }                                                                                          \
    } while (0)
    if (vb->fl.busy) {
        VB_MIN(vb->fl.busy_end_ps);
    }
    if (vb->iwdg_running) {
        VB_MIN(vb->iwdg_expire_ps);
    }
    if (vb->opt.press_at_ms >= 0 && !vb->press_at_done) {
        VB_MIN((uint64_t)vb->opt.press_at_ms * PS_PER_MS);
    }
    if (vb->button_pressed) {
        VB_MIN(vb->button_release_ps);
    }
    if (vb->opt.cut_at_ms >= 0 && !vb->cut_done) {
        VB_MIN((uint64_t)vb->opt.cut_at_ms * PS_PER_MS);
    }
    if (vb->w5500 != NULL && with_w5500) {
        VB_MIN(vb->next_w5500_ps);
    }
    if (!vb->stdin_eof && (vb->usart_cr1 & (1u << 13)) && (vb->usart_cr1 & (1u << 2))) {
        VB_MIN(vb->next_rx_poll_ps);
    }
#undef VB_MIN
    return next;
}

/* While the network is in use, virtual time since it started never runs ahead of real time. */
static void pace(struct vboard *vb)
{
    if (!vb->pace_active) {
        return;
    }
    if (vb->now_ps - vb->w5500_last_spi_ps > 500u * PS_PER_MS) {
        vb->pace_active = false; /* no SPI traffic for 500 ms of virtual time */
        return;
    }
#ifdef VB_HAVE_W5500
    if (vb->opt.pace_host_only && !w5500_model_host_open(vb->w5500)) {
        /* No real peer to wait for (DHCP, DNS and ARP are the model's): the window starts again. */
        vb->pace_v0_ps = vb->now_ps;
        vb->pace_r0_ns = vb_real_ns();
        return;
    }
#endif
    for (;;) {
        uint64_t real = vb_real_ns() - vb->pace_r0_ns;
        uint64_t virt_ns = (vb->now_ps - vb->pace_v0_ps) / 1000u;
        if (virt_ns <= real) {
            return;
        }
        uint64_t d = virt_ns - real;
        if (d > 2000000u) {
            d = 2000000u;
        }
        struct timespec ts = {0, (long)d};
        (void)nanosleep(&ts, NULL);
        vb->paced_ns += d;
#ifdef VB_HAVE_W5500
        w5500_model_advance(vb->w5500, vb->now_ps / PS_PER_US);
#endif
    }
}

void vb_periph_events(struct vboard *vb)
{
    uint64_t now = vb->now_ps;
    if (vb->fl.busy && now >= vb->fl.busy_end_ps) {
        vb_flash_complete(vb, false);
    }
    if (vb->iwdg_running && now >= vb->iwdg_expire_ps) {
        vb_log(vb, "IWDG expired (PR %u, RLR %u: timeout %llu us)", vb->iwdg_pr, vb->iwdg_rlr,
               (unsigned long long)(iwdg_timeout_ps(vb) / PS_PER_US));
        vb_request_reset(vb, VB_RESET_IWDG);
        return;
    }
    if (vb->opt.cut_at_ms >= 0 && !vb->cut_done && now >= (uint64_t)vb->opt.cut_at_ms * PS_PER_MS) {
        vb->cut_done = true;
        if (vb->fl.busy) {
            vb_log(vb, "power cut at %lld ms during a flash operation, mode %s",
                   (long long)vb->opt.cut_at_ms, cut_mode_name(vb->opt.cut_mode));
            vb_flash_complete(vb, true);
        } else {
            vb_log(vb, "power cut at %lld ms", (long long)vb->opt.cut_at_ms);
        }
        vb_request_reset(vb, VB_RESET_POWER_CUT);
        return;
    }
    if (vb->button_pressed && now >= vb->button_release_ps) {
        vb_button(vb, false);
    }
    if (vb->opt.press_at_ms >= 0 && !vb->press_at_done &&
        now >= (uint64_t)vb->opt.press_at_ms * PS_PER_MS) {
        vb->press_at_done = true;
        vb->button_release_ps = now + (uint64_t)vb->opt.press_hold_ms * PS_PER_MS;
        vb_button(vb, true);
    }
    if (now >= vb->next_rx_poll_ps) {
        usart_rx_poll(vb);
        vb->next_rx_poll_ps = now + PS_PER_MS;
    }
#ifdef VB_HAVE_W5500
    if (vb->w5500 != NULL && now >= vb->next_w5500_ps) {
        pace(vb);
        w5500_model_advance(vb->w5500, now / PS_PER_US);
        vb->next_w5500_ps = now + 200u * PS_PER_US;
    }
#else
    (void)pace;
#endif
}
