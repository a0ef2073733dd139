/*
 * STM32F446 register map: only the blocks and bits this port uses, as volatile structs whose
 * layout is checked with _Static_assert against the reference-manual offsets (TinyUSB style).
 *
 * Source of every address, offset and bit: ../shared/reference/stm32f446.md (tags [CMSIS],
 * [CORE], [HAL-*]); section numbers below refer to that sheet. Peripheral pointers carry an STM32_
 * prefix so they never collide with the layout header's FLASH_* constants.
 */
#ifndef STM32F446_H
#define STM32F446_H

#include <stddef.h>
#include <stdint.h>

#define STM32_REG_CHECK(type, member, off)                                                         \
    _Static_assert(offsetof(type, member) == (off), #type "." #member " offset")

/* ---- RCC (0x40023800, sheet §3) ---------------------------------------------------------- */
struct stm32_rcc {
    volatile uint32_t CR;         /* 0x00 */
    volatile uint32_t PLLCFGR;    /* 0x04 */
    volatile uint32_t CFGR;       /* 0x08 */
    volatile uint32_t CIR;        /* 0x0C */
    volatile uint32_t AHB1RSTR;   /* 0x10 */
    volatile uint32_t AHB2RSTR;   /* 0x14 */
    volatile uint32_t AHB3RSTR;   /* 0x18 */
    uint32_t reserved0;           /* 0x1C */
    volatile uint32_t APB1RSTR;   /* 0x20 */
    volatile uint32_t APB2RSTR;   /* 0x24 */
    uint32_t reserved1[2];        /* 0x28 */
    volatile uint32_t AHB1ENR;    /* 0x30 */
    volatile uint32_t AHB2ENR;    /* 0x34 */
    volatile uint32_t AHB3ENR;    /* 0x38 */
    uint32_t reserved2;           /* 0x3C */
    volatile uint32_t APB1ENR;    /* 0x40 */
    volatile uint32_t APB2ENR;    /* 0x44 */
    uint32_t reserved3[2];        /* 0x48 */
    volatile uint32_t AHB1LPENR;  /* 0x50 */
    volatile uint32_t AHB2LPENR;  /* 0x54 */
    volatile uint32_t AHB3LPENR;  /* 0x58 */
    uint32_t reserved4;           /* 0x5C */
    volatile uint32_t APB1LPENR;  /* 0x60 */
    volatile uint32_t APB2LPENR;  /* 0x64 */
    uint32_t reserved5[2];        /* 0x68 */
    volatile uint32_t BDCR;       /* 0x70 */
    volatile uint32_t CSR;        /* 0x74 */
};
STM32_REG_CHECK(struct stm32_rcc, PLLCFGR, 0x04);
STM32_REG_CHECK(struct stm32_rcc, CFGR, 0x08);
STM32_REG_CHECK(struct stm32_rcc, CIR, 0x0C);
STM32_REG_CHECK(struct stm32_rcc, AHB1RSTR, 0x10);
STM32_REG_CHECK(struct stm32_rcc, APB1RSTR, 0x20);
STM32_REG_CHECK(struct stm32_rcc, APB2RSTR, 0x24);
STM32_REG_CHECK(struct stm32_rcc, AHB1ENR, 0x30);
STM32_REG_CHECK(struct stm32_rcc, APB1ENR, 0x40);
STM32_REG_CHECK(struct stm32_rcc, APB2ENR, 0x44);
STM32_REG_CHECK(struct stm32_rcc, BDCR, 0x70);
STM32_REG_CHECK(struct stm32_rcc, CSR, 0x74);
_Static_assert(sizeof(struct stm32_rcc) == 0x78, "RCC size");
#define STM32_RCC ((struct stm32_rcc *)0x40023800u)

#define RCC_CR_HSION (1u << 0)
#define RCC_CR_HSIRDY (1u << 1)
#define RCC_CR_HSITRIM_MASK (0x1Fu << 3)
#define RCC_CR_HSITRIM_RESET (16u << 3)
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_HSEBYP (1u << 18)
#define RCC_CR_CSSON (1u << 19)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)

/* PLLCFGR fields (§3.2): M 5:0, N 14:6, P 17:16 encoded P/2-1, SRC 22, Q 27:24, R 30:28. */
#define RCC_PLLCFGR(m, n, p, hse, q, r)                                                            \
    ((uint32_t)(m) | ((uint32_t)(n) << 6) | ((uint32_t)((p) / 2u - 1u) << 16) |                    \
     ((hse) ? (1u << 22) : 0u) | ((uint32_t)(q) << 24) | ((uint32_t)(r) << 28))
#define RCC_PLLCFGR_RESET 0x24003010u

#define RCC_CFGR_SW_MASK (3u << 0)
#define RCC_CFGR_SW_HSI (0u << 0)
#define RCC_CFGR_SW_PLLP (2u << 0)
#define RCC_CFGR_SWS_MASK (3u << 2)
#define RCC_CFGR_SWS_HSI (0u << 2)
#define RCC_CFGR_SWS_PLLP (2u << 2)
#define RCC_CFGR_HPRE_DIV1 (0u << 4)
#define RCC_CFGR_PPRE1_MASK (7u << 10)
#define RCC_CFGR_PPRE1_DIV4 (5u << 10)
#define RCC_CFGR_PPRE1_DIV16 (7u << 10)
#define RCC_CFGR_PPRE2_MASK (7u << 13)
#define RCC_CFGR_PPRE2_DIV2 (4u << 13)
#define RCC_CFGR_PPRE2_DIV16 (7u << 13)

/* CIR: ready-interrupt enables 8..13 (cleared by writing 0), flag clear bits 16..23 (W1). */
#define RCC_CIR_CLEAR_ALL 0x00FF0000u

#define RCC_AHB1_GPIOA (1u << 0)
#define RCC_AHB1_GPIOB (1u << 1)
#define RCC_AHB1_GPIOC (1u << 2)
#define RCC_AHB1_CRC (1u << 12)
#define RCC_APB1_USART2 (1u << 17)
#define RCC_APB1_PWR (1u << 28)
#define RCC_APB2_SPI1 (1u << 12)
#define RCC_APB2_SYSCFG (1u << 14)

#define RCC_CSR_LSION (1u << 0)
#define RCC_CSR_LSIRDY (1u << 1)
#define RCC_CSR_RMVF (1u << 24)
#define RCC_CSR_BORRSTF (1u << 25)
#define RCC_CSR_PINRSTF (1u << 26)
#define RCC_CSR_PORRSTF (1u << 27)
#define RCC_CSR_SFTRSTF (1u << 28)
#define RCC_CSR_IWDGRSTF (1u << 29)
#define RCC_CSR_WWDGRSTF (1u << 30)
#define RCC_CSR_LPWRRSTF (1u << 31)

/* ---- PWR (0x40007000, §3.4) --------------------------------------------------------------- */
struct stm32_pwr {
    volatile uint32_t CR;  /* 0x00 */
    volatile uint32_t CSR; /* 0x04 */
};
STM32_REG_CHECK(struct stm32_pwr, CSR, 0x04);
_Static_assert(sizeof(struct stm32_pwr) == 0x08, "PWR size");
#define STM32_PWR ((struct stm32_pwr *)0x40007000u)

#define PWR_CR_VOS_MASK (3u << 14)
#define PWR_CR_VOS_SCALE1 (3u << 14)
#define PWR_CR_ODEN (1u << 16)
#define PWR_CR_ODSWEN (1u << 17)
#define PWR_CSR_VOSRDY (1u << 14)
#define PWR_CSR_ODRDY (1u << 16)
#define PWR_CSR_ODSWRDY (1u << 17)

/* ---- FLASH interface (0x40023C00, §2) ----------------------------------------------------- */
struct stm32_flash {
    volatile uint32_t ACR;     /* 0x00 */
    volatile uint32_t KEYR;    /* 0x04 */
    volatile uint32_t OPTKEYR; /* 0x08 */
    volatile uint32_t SR;      /* 0x0C */
    volatile uint32_t CR;      /* 0x10 */
    volatile uint32_t OPTCR;   /* 0x14 */
};
STM32_REG_CHECK(struct stm32_flash, KEYR, 0x04);
STM32_REG_CHECK(struct stm32_flash, OPTKEYR, 0x08);
STM32_REG_CHECK(struct stm32_flash, SR, 0x0C);
STM32_REG_CHECK(struct stm32_flash, CR, 0x10);
STM32_REG_CHECK(struct stm32_flash, OPTCR, 0x14);
_Static_assert(sizeof(struct stm32_flash) == 0x18, "FLASH size");
#define STM32_FLASH ((struct stm32_flash *)0x40023C00u)

#define FLASH_ACR_LATENCY_MASK (0xFu << 0)
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ICEN (1u << 9)
#define FLASH_ACR_DCEN (1u << 10)
#define FLASH_ACR_ICRST (1u << 11)
#define FLASH_ACR_DCRST (1u << 12)

#define FLASH_KEY1 0x45670123u
#define FLASH_KEY2 0xCDEF89ABu

#define FLASH_SR_EOP (1u << 0)
#define FLASH_SR_OPERR (1u << 1) /* CMSIS name SOP */
#define FLASH_SR_WRPERR (1u << 4)
#define FLASH_SR_PGAERR (1u << 5)
#define FLASH_SR_PGPERR (1u << 6)
#define FLASH_SR_PGSERR (1u << 7)
#define FLASH_SR_RDERR (1u << 8)
#define FLASH_SR_BSY (1u << 16)
/* Every write-1-to-clear flag: 0x1F3 (§2.6). */
#define FLASH_SR_ALL_FLAGS                                                                         \
    (FLASH_SR_EOP | FLASH_SR_OPERR | FLASH_SR_WRPERR | FLASH_SR_PGAERR | FLASH_SR_PGPERR |         \
     FLASH_SR_PGSERR | FLASH_SR_RDERR)
_Static_assert(FLASH_SR_ALL_FLAGS == 0x1F3u, "FLASH_SR flag mask");

#define FLASH_CR_PG (1u << 0)
#define FLASH_CR_SER (1u << 1)
#define FLASH_CR_MER (1u << 2)
#define FLASH_CR_SNB_POS 3u
#define FLASH_CR_SNB_MASK (0x1Fu << FLASH_CR_SNB_POS)
#define FLASH_CR_PSIZE_MASK (3u << 8)
#define FLASH_CR_PSIZE_X32 (2u << 8)
#define FLASH_CR_STRT (1u << 16)
#define FLASH_CR_EOPIE (1u << 24)
#define FLASH_CR_ERRIE (1u << 25)
#define FLASH_CR_LOCK (1u << 31)

#define FLASH_OPTCR_WDG_SW (1u << 5) /* 0: the IWDG starts by hardware at reset */

/* ---- GPIO (A 0x40020000, B 0x40020400, C 0x40020800; §4.1) -------------------------------- */
struct stm32_gpio {
    volatile uint32_t MODER;   /* 0x00 */
    volatile uint32_t OTYPER;  /* 0x04 */
    volatile uint32_t OSPEEDR; /* 0x08 */
    volatile uint32_t PUPDR;   /* 0x0C */
    volatile uint32_t IDR;     /* 0x10 */
    volatile uint32_t ODR;     /* 0x14 */
    volatile uint32_t BSRR;    /* 0x18 */
    volatile uint32_t LCKR;    /* 0x1C */
    volatile uint32_t AFR[2];  /* 0x20 */
};
STM32_REG_CHECK(struct stm32_gpio, OTYPER, 0x04);
STM32_REG_CHECK(struct stm32_gpio, OSPEEDR, 0x08);
STM32_REG_CHECK(struct stm32_gpio, PUPDR, 0x0C);
STM32_REG_CHECK(struct stm32_gpio, IDR, 0x10);
STM32_REG_CHECK(struct stm32_gpio, ODR, 0x14);
STM32_REG_CHECK(struct stm32_gpio, BSRR, 0x18);
STM32_REG_CHECK(struct stm32_gpio, AFR, 0x20);
_Static_assert(sizeof(struct stm32_gpio) == 0x28, "GPIO size");
#define STM32_GPIOA ((struct stm32_gpio *)0x40020000u)
#define STM32_GPIOB ((struct stm32_gpio *)0x40020400u)
#define STM32_GPIOC ((struct stm32_gpio *)0x40020800u)

/* ---- USART (USART2 0x40004400; §4.3) ------------------------------------------------------ */
struct stm32_usart {
    volatile uint32_t SR;   /* 0x00 */
    volatile uint32_t DR;   /* 0x04 */
    volatile uint32_t BRR;  /* 0x08 */
    volatile uint32_t CR1;  /* 0x0C */
    volatile uint32_t CR2;  /* 0x10 */
    volatile uint32_t CR3;  /* 0x14 */
    volatile uint32_t GTPR; /* 0x18 */
};
STM32_REG_CHECK(struct stm32_usart, DR, 0x04);
STM32_REG_CHECK(struct stm32_usart, BRR, 0x08);
STM32_REG_CHECK(struct stm32_usart, CR1, 0x0C);
STM32_REG_CHECK(struct stm32_usart, CR2, 0x10);
STM32_REG_CHECK(struct stm32_usart, CR3, 0x14);
_Static_assert(sizeof(struct stm32_usart) == 0x1C, "USART size");
#define STM32_USART2 ((struct stm32_usart *)0x40004400u)

#define USART_SR_RXNE (1u << 5)
#define USART_SR_TC (1u << 6)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_UE (1u << 13)

/* ---- SPI (SPI1 0x40013000; §4.2) ---------------------------------------------------------- */
struct stm32_spi {
    volatile uint32_t CR1;     /* 0x00 */
    volatile uint32_t CR2;     /* 0x04 */
    volatile uint32_t SR;      /* 0x08 */
    volatile uint32_t DR;      /* 0x0C */
    volatile uint32_t CRCPR;   /* 0x10 */
    volatile uint32_t RXCRCR;  /* 0x14 */
    volatile uint32_t TXCRCR;  /* 0x18 */
    volatile uint32_t I2SCFGR; /* 0x1C */
    volatile uint32_t I2SPR;   /* 0x20 */
};
STM32_REG_CHECK(struct stm32_spi, CR2, 0x04);
STM32_REG_CHECK(struct stm32_spi, SR, 0x08);
STM32_REG_CHECK(struct stm32_spi, DR, 0x0C);
STM32_REG_CHECK(struct stm32_spi, I2SPR, 0x20);
_Static_assert(sizeof(struct stm32_spi) == 0x24, "SPI size");
#define STM32_SPI1 ((struct stm32_spi *)0x40013000u)

#define SPI_CR1_CPHA (1u << 0)
#define SPI_CR1_CPOL (1u << 1)
#define SPI_CR1_MSTR (1u << 2)
#define SPI_CR1_BR_POS 3u
#define SPI_CR1_SPE (1u << 6)
#define SPI_CR1_SSI (1u << 8)
#define SPI_CR1_SSM (1u << 9)
#define SPI_SR_RXNE (1u << 0)
#define SPI_SR_TXE (1u << 1)
#define SPI_SR_MODF (1u << 5)
#define SPI_SR_OVR (1u << 6)
#define SPI_SR_BSY (1u << 7)

/* ---- EXTI (0x40013C00) and SYSCFG (0x40013800); §4.4 ------------------------------------- */
struct stm32_exti {
    volatile uint32_t IMR;   /* 0x00 */
    volatile uint32_t EMR;   /* 0x04 */
    volatile uint32_t RTSR;  /* 0x08 */
    volatile uint32_t FTSR;  /* 0x0C */
    volatile uint32_t SWIER; /* 0x10 */
    volatile uint32_t PR;    /* 0x14 */
};
STM32_REG_CHECK(struct stm32_exti, EMR, 0x04);
STM32_REG_CHECK(struct stm32_exti, RTSR, 0x08);
STM32_REG_CHECK(struct stm32_exti, FTSR, 0x0C);
STM32_REG_CHECK(struct stm32_exti, SWIER, 0x10);
STM32_REG_CHECK(struct stm32_exti, PR, 0x14);
_Static_assert(sizeof(struct stm32_exti) == 0x18, "EXTI size");
#define STM32_EXTI ((struct stm32_exti *)0x40013C00u)
/* Lines 0..22 exist; PR is write-1-to-clear. */
#define EXTI_ALL_LINES 0x007FFFFFu

struct stm32_syscfg {
    volatile uint32_t MEMRMP;    /* 0x00 */
    volatile uint32_t PMC;       /* 0x04 */
    volatile uint32_t EXTICR[4]; /* 0x08 */
    uint32_t reserved0[2];       /* 0x18 */
    volatile uint32_t CMPCR;     /* 0x20 */
    uint32_t reserved1[2];       /* 0x24 */
    volatile uint32_t CFGR;      /* 0x2C */
};
STM32_REG_CHECK(struct stm32_syscfg, PMC, 0x04);
STM32_REG_CHECK(struct stm32_syscfg, EXTICR, 0x08);
STM32_REG_CHECK(struct stm32_syscfg, CMPCR, 0x20);
STM32_REG_CHECK(struct stm32_syscfg, CFGR, 0x2C);
_Static_assert(sizeof(struct stm32_syscfg) == 0x30, "SYSCFG size");
#define STM32_SYSCFG ((struct stm32_syscfg *)0x40013800u)

/* ---- CRC unit (0x40023000; §4.7) ---------------------------------------------------------- */
struct stm32_crc {
    volatile uint32_t DR;  /* 0x00 */
    volatile uint32_t IDR; /* 0x04: 8 bits used */
    volatile uint32_t CR;  /* 0x08 */
};
STM32_REG_CHECK(struct stm32_crc, IDR, 0x04);
STM32_REG_CHECK(struct stm32_crc, CR, 0x08);
_Static_assert(sizeof(struct stm32_crc) == 0x0C, "CRC size");
#define STM32_CRC ((struct stm32_crc *)0x40023000u)
#define CRC_CR_RESET (1u << 0)

/* ---- IWDG (0x40003000; §4.8) -------------------------------------------------------------- */
struct stm32_iwdg {
    volatile uint32_t KR;  /* 0x00 */
    volatile uint32_t PR;  /* 0x04 */
    volatile uint32_t RLR; /* 0x08 */
    volatile uint32_t SR;  /* 0x0C */
};
STM32_REG_CHECK(struct stm32_iwdg, PR, 0x04);
STM32_REG_CHECK(struct stm32_iwdg, RLR, 0x08);
STM32_REG_CHECK(struct stm32_iwdg, SR, 0x0C);
_Static_assert(sizeof(struct stm32_iwdg) == 0x10, "IWDG size");
#define STM32_IWDG ((struct stm32_iwdg *)0x40003000u)

#define IWDG_KEY_START 0xCCCCu
#define IWDG_KEY_RELOAD 0xAAAAu
#define IWDG_KEY_UNLOCK 0x5555u
#define IWDG_SR_PVU (1u << 0)
#define IWDG_SR_RVU (1u << 1)

/* ---- DBGMCU (0xE0042000; §1.3) ------------------------------------------------------------ */
struct stm32_dbgmcu {
    volatile uint32_t IDCODE; /* 0x00 */
    volatile uint32_t CR;     /* 0x04 */
    volatile uint32_t APB1FZ; /* 0x08 */
    volatile uint32_t APB2FZ; /* 0x0C */
};
STM32_REG_CHECK(struct stm32_dbgmcu, APB1FZ, 0x08);
STM32_REG_CHECK(struct stm32_dbgmcu, APB2FZ, 0x0C);
#define STM32_DBGMCU ((struct stm32_dbgmcu *)0xE0042000u)
#define DBGMCU_APB1FZ_IWDG_STOP (1u << 12)

/* ---- Cortex-M4 core: SysTick, NVIC, SCB (CPACR), CoreDebug (§1.4, §4.5, §4.6, §4.10) ------- */
struct cm4_systick {
    volatile uint32_t CTRL;  /* 0x00 */
    volatile uint32_t LOAD;  /* 0x04 */
    volatile uint32_t VAL;   /* 0x08 */
    volatile uint32_t CALIB; /* 0x0C */
};
STM32_REG_CHECK(struct cm4_systick, LOAD, 0x04);
STM32_REG_CHECK(struct cm4_systick, VAL, 0x08);
STM32_REG_CHECK(struct cm4_systick, CALIB, 0x0C);
#define CM4_SYSTICK ((struct cm4_systick *)0xE000E010u)
#define SYSTICK_CTRL_ENABLE (1u << 0)
#define SYSTICK_CTRL_TICKINT (1u << 1)
#define SYSTICK_CTRL_CLKSOURCE (1u << 2) /* 1: HCLK, 0: HCLK/8 */
#define SYSTICK_CTRL_COUNTFLAG (1u << 16)
#define SYSTICK_LOAD_MAX 0x00FFFFFFu

struct cm4_nvic {
    volatile uint32_t ISER[8]; /* 0x000 */
    uint32_t reserved0[24];
    volatile uint32_t ICER[8]; /* 0x080 */
    uint32_t reserved1[24];
    volatile uint32_t ISPR[8]; /* 0x100 */
    uint32_t reserved2[24];
    volatile uint32_t ICPR[8]; /* 0x180 */
    uint32_t reserved3[24];
    volatile uint32_t IABR[8]; /* 0x200 */
    uint32_t reserved4[56];
    volatile uint8_t IP[240]; /* 0x300: one byte per IRQ, upper 4 bits implemented */
};
STM32_REG_CHECK(struct cm4_nvic, ICER, 0x080);
STM32_REG_CHECK(struct cm4_nvic, ISPR, 0x100);
STM32_REG_CHECK(struct cm4_nvic, ICPR, 0x180);
STM32_REG_CHECK(struct cm4_nvic, IABR, 0x200);
STM32_REG_CHECK(struct cm4_nvic, IP, 0x300);
#define CM4_NVIC ((struct cm4_nvic *)0xE000E100u)
#define NVIC_PRIO_BITS 4u

struct cm4_scb {
    volatile uint32_t CPUID;   /* 0x00 */
    volatile uint32_t ICSR;    /* 0x04 */
    volatile uint32_t VTOR;    /* 0x08 */
    volatile uint32_t AIRCR;   /* 0x0C */
    volatile uint32_t SCR;     /* 0x10 */
    volatile uint32_t CCR;     /* 0x14 */
    volatile uint8_t SHP[12];  /* 0x18: system handler priorities 4..15 */
    volatile uint32_t SHCSR;   /* 0x24 */
    volatile uint32_t CFSR;    /* 0x28 */
    volatile uint32_t HFSR;    /* 0x2C */
    volatile uint32_t DFSR;    /* 0x30 */
    volatile uint32_t MMFAR;   /* 0x34 */
    volatile uint32_t BFAR;    /* 0x38 */
    volatile uint32_t AFSR;    /* 0x3C */
    volatile uint32_t PFR[2];  /* 0x40 */
    volatile uint32_t DFR;     /* 0x48 */
    volatile uint32_t ADR;     /* 0x4C */
    volatile uint32_t MMFR[4]; /* 0x50 */
    volatile uint32_t ISAR[5]; /* 0x60 */
    uint32_t reserved0[5];     /* 0x74 */
    volatile uint32_t CPACR;   /* 0x88 */
};
STM32_REG_CHECK(struct cm4_scb, ICSR, 0x04);
STM32_REG_CHECK(struct cm4_scb, VTOR, 0x08);
STM32_REG_CHECK(struct cm4_scb, AIRCR, 0x0C);
STM32_REG_CHECK(struct cm4_scb, SHP, 0x18);
STM32_REG_CHECK(struct cm4_scb, SHCSR, 0x24);
STM32_REG_CHECK(struct cm4_scb, CFSR, 0x28);
STM32_REG_CHECK(struct cm4_scb, HFSR, 0x2C);
STM32_REG_CHECK(struct cm4_scb, BFAR, 0x38);
STM32_REG_CHECK(struct cm4_scb, CPACR, 0x88);
#define CM4_SCB ((struct cm4_scb *)0xE000ED00u)

#define SCB_ICSR_PENDSTCLR (1u << 25)
#define SCB_ICSR_PENDSVCLR (1u << 27)
#define SCB_AIRCR_VECTKEY (0x05FAu << 16)
#define SCB_AIRCR_PRIGROUP_MASK (7u << 8)
#define SCB_AIRCR_SYSRESETREQ (1u << 2)
#define SCB_CPACR_CP10_CP11_FULL (0xFu << 20)
/* SysTick priority byte: SHP[15 - 4]. */
#define SCB_SHP_SYSTICK 11u

#define CM4_DHCSR (*(volatile uint32_t *)0xE000EDF0u)
#define DHCSR_C_DEBUGEN (1u << 0)

/* IRQ numbers used by the port (§1.3). */
#define IRQ_SPI1 35u
#define IRQ_USART2 38u
#define IRQ_EXTI15_10 40u
#define IRQ_LAST 96u /* FMPI2C1_ER: the vector table has 16 + 97 = 113 entries */

/* Unique device ID and flash size register (§1.1). */
#define STM32_UID_ADDR 0x1FFF7A10u
#define STM32_FLASHSIZE_ADDR 0x1FFF7A22u

/* Clocks at reset: HSI 16 MHz for HCLK, PCLK1 and PCLK2 (§3.1). */
#define STM32_HSI_HZ 16000000u

/*
 * A port function the host tests call by name in bootloader.elf (tests/unit/firmware). The
 * bootloader is linked with LTO, which would otherwise inline such a function into its only
 * caller or clone it for constant arguments, leaving no symbol to call: this keeps one body
 * under its own name. Without LTO (the application) it changes nothing across files.
 */
#if defined(__clang__)
#define PORT_ENTRY __attribute__((noinline))
#else
#define PORT_ENTRY __attribute__((noipa))
#endif

/* Barriers and interrupt masking without CMSIS. */
static inline void cm4_dsb(void)
{
    __asm volatile("dsb sy" ::: "memory");
}

static inline void cm4_isb(void)
{
    __asm volatile("isb sy" ::: "memory");
}

static inline void cm4_irq_disable(void)
{
    __asm volatile("cpsid i" ::: "memory");
}

static inline void cm4_irq_enable(void)
{
    __asm volatile("cpsie i" ::: "memory");
}

/* Returns the previous PRIMASK and masks interrupts. */
static inline uint32_t cm4_irq_save(void)
{
    uint32_t primask;
    __asm volatile("mrs %0, primask" : "=r"(primask)::"memory");
    __asm volatile("cpsid i" ::: "memory");
    return primask;
}

static inline void cm4_irq_restore(uint32_t primask)
{
    __asm volatile("msr primask, %0" ::"r"(primask) : "memory");
}

static inline void cm4_nvic_enable(uint32_t irq, uint8_t prio)
{
    CM4_NVIC->IP[irq] = (uint8_t)(prio << (8u - NVIC_PRIO_BITS));
    CM4_NVIC->ISER[irq / 32u] = 1u << (irq % 32u);
}

static inline void cm4_nvic_disable(uint32_t irq)
{
    CM4_NVIC->ICER[irq / 32u] = 1u << (irq % 32u);
    cm4_dsb();
    cm4_isb();
}

#endif /* STM32F446_H */
