/*
 * System clock: 180 MHz from the Nucleo's 8 MHz HSE bypass (ST-LINK MCO) with over-drive, or
 * from HSI 16 MHz when the HSE does not start; and the way back to the reset clocks before the
 * bootloader jumps (sheet §3.3, §3.4, §5.1 step 6).
 */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>

enum clock_err {
    CLOCK_OK = 0,
    CLOCK_ERR_PLL = -1,       /* PLL did not lock: still on HSI 16 MHz */
    CLOCK_ERR_OVERDRIVE = -2, /* over-drive not ready: still on HSI 16 MHz */
    CLOCK_ERR_LATENCY = -3,   /* FLASH_ACR did not read back: still on HSI 16 MHz */
    CLOCK_ERR_SWITCH = -4,    /* SYSCLK did not switch: back on HSI 16 MHz */
    CLOCK_ERR_HSI = -5        /* HSI not ready (de-init only) */
};

enum clock_source {
    CLOCK_SRC_HSI = 0,     /* reset clocks, 16 MHz */
    CLOCK_SRC_HSE_PLL = 1, /* 8 MHz HSE bypass -> PLL 180 MHz */
    CLOCK_SRC_HSI_PLL = 2  /* HSI 16 MHz -> PLL 180 MHz (HSE missing) */
};

struct clock_info {
    enum clock_source source;
    uint32_t hclk_hz;
    uint32_t pclk1_hz; /* APB1: USART2 */
    uint32_t pclk2_hz; /* APB2: SPI1 */
};

/*
 * Go to 180 MHz. Every wait is bounded; on failure the clocks are put back to HSI 16 MHz and the
 * error says which step failed. *info always describes the clocks actually running.
 */
int clock_init(struct clock_info *info);

/* Back to the reset clocks: HSI 16 MHz, PLL/HSE/over-drive off, 0 wait states, caches reset. */
int clock_deinit(void);

/* The clocks currently running (as set by the last clock_init/clock_deinit). */
const struct clock_info *clock_get(void);

#endif /* CLOCK_H */
