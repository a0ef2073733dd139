/*
 * Clock tree for 180 MHz (sheet §3.3/§3.4, order of [CUBE-EX] SystemClock_Config) and its
 * reversal (sheet §5.1 step 6, what HAL_RCC_DeInit does).
 *
 * Timeouts are loop counts because no timer runs yet: each pass of wait_bits is at least four
 * cycles (load, and, compare, branch), so CLOCK_WAIT_LOOPS passes last at least 100 ms at
 * 16 MHz and 8.9 ms at 180 MHz: far above the HSE bypass start, the PLL lock and the
 * over-drive switch (microseconds), and short enough that a missing HSE costs ~0.1 s at boot.
 */
#include "clock.h"

#include "stm32f446.h"

#include <stdbool.h>

#define CLOCK_WAIT_LOOPS 400000u

#define CLOCK_PLL_HZ 180000000u
#define CLOCK_HSE_HZ 8000000u

/* M, N, P, Q, R of sheet §3.3: VCO input 1 MHz, VCO 360 MHz, SYSCLK 180 MHz. */
#define CLOCK_PLLCFGR_HSE RCC_PLLCFGR(8u, 360u, 2u, 1, 7u, 2u)
#define CLOCK_PLLCFGR_HSI RCC_PLLCFGR(16u, 360u, 2u, 0, 7u, 2u)
_Static_assert(CLOCK_PLLCFGR_HSE == 0x27405A08u, "sheet §3.3 HSE PLLCFGR word");
_Static_assert(CLOCK_PLLCFGR_HSI == 0x27005A10u, "sheet §3.3 HSI PLLCFGR word");
_Static_assert(CLOCK_HSE_HZ / 8u * 360u / 2u == CLOCK_PLL_HZ, "HSE PLL gives 180 MHz");
_Static_assert(STM32_HSI_HZ / 16u * 360u / 2u == CLOCK_PLL_HZ, "HSI PLL gives 180 MHz");
/* AHB /1, APB1 /4 (45 MHz, max 45), APB2 /2 (90 MHz, max 90), SW = PLL_P. */
#define CLOCK_CFGR_180 (RCC_CFGR_HPRE_DIV1 | RCC_CFGR_PPRE1_DIV4 | RCC_CFGR_PPRE2_DIV2)
_Static_assert((CLOCK_CFGR_180 | RCC_CFGR_SW_PLLP) == 0x9402u, "sheet §3.3 CFGR word");
/* 5 wait states: one per started 30 MHz at 2.7-3.6 V (sheet §2.8). */
#define CLOCK_LATENCY_180 5u
#define CLOCK_ACR_180 (FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN | CLOCK_LATENCY_180)

static struct clock_info clock_now = {CLOCK_SRC_HSI, STM32_HSI_HZ, STM32_HSI_HZ, STM32_HSI_HZ};

/* Wait until (*reg & mask) == want; false on timeout. */
static bool wait_bits(const volatile uint32_t *reg, uint32_t mask, uint32_t want)
{
    for (uint32_t n = 0; n < CLOCK_WAIT_LOOPS; n++) {
        if ((*reg & mask) == want) {
            return true;
        }
    }
    return false;
}

static void set_reset_info(void)
{
    clock_now.source = CLOCK_SRC_HSI;
    clock_now.hclk_hz = STM32_HSI_HZ;
    clock_now.pclk1_hz = STM32_HSI_HZ;
    clock_now.pclk2_hz = STM32_HSI_HZ;
}

/* Start the 8 MHz external clock in bypass mode; false (and HSE off) if it does not come up. */
static bool hse_start(void)
{
    struct stm32_rcc *rcc = STM32_RCC;
    /* HSEBYP may only change while HSE is off ([HAL-RCC] OscConfig notes). */
    rcc->CR &= ~RCC_CR_HSEON;
    if (!wait_bits(&rcc->CR, RCC_CR_HSERDY, 0)) {
        return false;
    }
    rcc->CR |= RCC_CR_HSEBYP;
    rcc->CR |= RCC_CR_HSEON;
    if (wait_bits(&rcc->CR, RCC_CR_HSERDY, RCC_CR_HSERDY)) {
        return true;
    }
    rcc->CR &= ~(RCC_CR_HSEON | RCC_CR_HSEBYP);
    return false;
}

PORT_ENTRY int clock_init(struct clock_info *info)
{
    struct stm32_rcc *rcc = STM32_RCC;
    struct stm32_pwr *pwr = STM32_PWR;
    int rc = CLOCK_OK;

    /* Start from the reset clocks whatever ran before (a second call, a jump). */
    int d = clock_deinit();
    if (d != CLOCK_OK) {
        rc = d;
        goto out;
    }

    rcc->APB1ENR |= RCC_APB1_PWR;
    (void)rcc->APB1ENR; /* let the enable take effect before touching PWR (sheet §2.7) */
    pwr->CR = (pwr->CR & ~PWR_CR_VOS_MASK) | PWR_CR_VOS_SCALE1;

    bool hse = hse_start();
    rcc->PLLCFGR = hse ? CLOCK_PLLCFGR_HSE : CLOCK_PLLCFGR_HSI;
    rcc->CR |= RCC_CR_PLLON;
    if (!wait_bits(&rcc->CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY)) {
        rc = CLOCK_ERR_PLL;
        goto fail;
    }

    /* Over-drive before SYSCLK goes above 168 MHz. */
    pwr->CR |= PWR_CR_ODEN;
    if (!wait_bits(&pwr->CSR, PWR_CSR_ODRDY, PWR_CSR_ODRDY)) {
        rc = CLOCK_ERR_OVERDRIVE;
        goto fail;
    }
    pwr->CR |= PWR_CR_ODSWEN;
    if (!wait_bits(&pwr->CSR, PWR_CSR_ODSWRDY, PWR_CSR_ODSWRDY)) {
        rc = CLOCK_ERR_OVERDRIVE;
        goto fail;
    }

    /* Raise the latency before raising HCLK, and read it back. */
    STM32_FLASH->ACR = CLOCK_ACR_180;
    if ((STM32_FLASH->ACR & FLASH_ACR_LATENCY_MASK) != CLOCK_LATENCY_180) {
        rc = CLOCK_ERR_LATENCY;
        goto fail;
    }

    /* APB dividers at /16 first so no bus ever sees more than its maximum during the switch. */
    rcc->CFGR = RCC_CFGR_PPRE1_DIV16 | RCC_CFGR_PPRE2_DIV16 | RCC_CFGR_SW_HSI;
    rcc->CFGR = RCC_CFGR_PPRE1_DIV16 | RCC_CFGR_PPRE2_DIV16 | RCC_CFGR_SW_PLLP;
    if (!wait_bits(&rcc->CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_PLLP)) {
        rc = CLOCK_ERR_SWITCH;
        goto fail;
    }
    rcc->CFGR = CLOCK_CFGR_180 | RCC_CFGR_SW_PLLP;

    clock_now.source = hse ? CLOCK_SRC_HSE_PLL : CLOCK_SRC_HSI_PLL;
    clock_now.hclk_hz = CLOCK_PLL_HZ;
    clock_now.pclk1_hz = CLOCK_PLL_HZ / 4u;
    clock_now.pclk2_hz = CLOCK_PLL_HZ / 2u;
    goto out;

fail:
    /* The error reported is the first one; de-init is best effort on the way out. */
    (void)clock_deinit();
out:
    if (info != 0) {
        *info = clock_now;
    }
    return rc;
}

PORT_ENTRY int clock_deinit(void)
{
    struct stm32_rcc *rcc = STM32_RCC;
    struct stm32_pwr *pwr = STM32_PWR;

    rcc->CR |= RCC_CR_HSION;
    if (!wait_bits(&rcc->CR, RCC_CR_HSIRDY, RCC_CR_HSIRDY)) {
        return CLOCK_ERR_HSI;
    }
    rcc->CR = (rcc->CR & ~RCC_CR_HSITRIM_MASK) | RCC_CR_HSITRIM_RESET;

    /* SYSCLK = HSI with all prescalers /1 before anything it may run from is stopped. */
    rcc->CFGR = 0;
    if (!wait_bits(&rcc->CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_HSI)) {
        return CLOCK_ERR_SWITCH;
    }
    set_reset_info();

    rcc->CR &= ~(RCC_CR_PLLON | RCC_CR_CSSON);
    if (!wait_bits(&rcc->CR, RCC_CR_PLLRDY, 0)) {
        return CLOCK_ERR_PLL;
    }
    rcc->CR &= ~RCC_CR_HSEON;
    (void)wait_bits(&rcc->CR, RCC_CR_HSERDY, 0); /* HSE absent: already 0 */
    rcc->CR &= ~RCC_CR_HSEBYP;
    rcc->PLLCFGR = RCC_PLLCFGR_RESET;
    rcc->CIR = RCC_CIR_CLEAR_ALL; /* enables 0, pending ready flags cleared */

    /* Over-drive off (PWR clock needed to write PWR_CR), then the PWR clock back off. */
    rcc->APB1ENR |= RCC_APB1_PWR;
    (void)rcc->APB1ENR;
    pwr->CR &= ~(PWR_CR_ODSWEN | PWR_CR_ODEN);
    (void)wait_bits(&pwr->CSR, PWR_CSR_ODSWRDY, 0);
    rcc->APB1ENR &= ~RCC_APB1_PWR;

    /* HCLK is 16 MHz now: 0 wait states is enough; caches off and reset (flushes them). */
    STM32_FLASH->ACR = 0;
    STM32_FLASH->ACR = FLASH_ACR_ICRST | FLASH_ACR_DCRST;
    STM32_FLASH->ACR = 0;
    return CLOCK_OK;
}

const struct clock_info *clock_get(void)
{
    return &clock_now;
}
