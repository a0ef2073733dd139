/*
 * Reset values and addresses of registers, ready flags, clock switch to 180 MHz, CRC known
 * answers, UID and flash size. Every expected value is a literal from stm32f446.md.
 */
#include "t.h"

int main(void)
{
    /* §3.1 reset state (the USART set-up only touched AHB1ENR/APB1ENR). */
    t_check("RCC_CR HSION|HSIRDY|HSITRIM=16", REG(0x40023800) & 0xFFu, 0x83u);
    t_check("RCC_PLLCFGR reset", REG(0x40023804), 0x24003010u);
    t_check("RCC_CFGR reset", REG(0x40023808), 0x00000000u);
    t_check("RCC_CSR after power-on", REG(0x40023874), 0x0E000000u);
    t_check("RCC_PLLI2SCFGR reset", REG(0x40023884), 0x24003010u);
    t_check("RCC_PLLSAICFGR reset", REG(0x40023888), 0x04003010u);
    t_check("FLASH_ACR reset", REG(0x40023C00), 0u);
    t_check("FLASH_SR reset", REG(0x40023C0C), 0u);
    t_check("FLASH_CR reset (LOCK)", REG(0x40023C10), 0x80000000u);
    t_check("FLASH_OPTCR default", REG(0x40023C14), 0x0FFFAAEDu);
    t_check("GPIOB_MODER reset", (REG(0x40023830) |= 2u, REG(0x40020400)), 0x00000280u);
    t_check("GPIOB_PUPDR reset", REG(0x4002040C), 0x00000100u);
    t_check("GPIOA_PUPDR reset", REG(0x4002000C), 0x64000000u);
    t_check("GPIOA_OSPEEDR reset", REG(0x40020008), 0x0C000000u);
    t_check("USART2_SR reset TXE|TC", REG(0x40004400), 0x000000C0u);
    REG(0x40023844) |= 1u << 12; /* SPI1EN */
    t_check("SPI1_SR reset TXE", REG(0x40013008), 0x0002u);
    t_check("SPI1_CRCPR reset", REG(0x40013010), 7u);
    REG(0x40023840) |= 1u << 28; /* PWREN */
    (void)REG(0x40023840);
    t_check("PWR_CR reset VOS=11", REG(0x40007000), 0x0000C000u);
    t_check("IWDG_RLR reset", REG(0x40003008), 0xFFFu);
    t_check("SCB CPUID Cortex-M4 r0p1", REG(0xE000ED00), 0x410FC241u);
    t_check("SCB AIRCR reads VECTKEYSTAT", REG(0xE000ED0C), 0xFA050000u);
    t_check("SCB CCR STKALIGN", REG(0xE000ED14), 0x200u);
    t_check("SCB VTOR reset", REG(0xE000ED08), 0u);
    t_check("FPU FPCCR ASPEN|LSPEN", REG(0xE000EF34), 0xC0000000u);
    t_check("SysTick CALIB", REG(0xE000E01C) & 0xFFFFFFu, 18750u);
    t_check("flash size register", REG16(0x1FFF7A22), 0x0200u);
    uint32_t uid0 = REG(0x1FFF7A10), uid1 = REG(0x1FFF7A14), uid2 = REG(0x1FFF7A18);
    t_check_true("UID readable and not blank", (uid0 | uid1 | uid2) != 0 &&
                                                   (uid0 & uid1 & uid2) != 0xFFFFFFFFu);
    t_check("UID stable", REG(0x1FFF7A10), uid0);

    /* AIRCR without the key is ignored. */
    REG(0xE000ED0C) = 0x00000300u;
    t_check("AIRCR write without VECTKEY ignored", REG(0xE000ED0C), 0xFA050000u);
    REG(0xE000ED0C) = 0x05FA0300u;
    t_check("AIRCR PRIGROUP with VECTKEY", REG(0xE000ED0C), 0xFA050300u);
    REG(0xE000ED0C) = 0x05FA0000u;

    /* HSE without bypass: no crystal on the Nucleo -> HSERDY stays 0. */
    REG(0x40023800) |= 1u << 16;
    uint32_t n = 0;
    while (!(REG(0x40023800) & (1u << 17)) && n < 1000) {
        n++;
    }
    t_check("HSERDY stays 0 without bypass", (REG(0x40023800) >> 17) & 1u, 0u);
    REG(0x40023800) &= ~(1u << 16);
    REG(0x40023800) |= 1u << 18; /* HSEBYP */
    REG(0x40023800) |= 1u << 16;
    while (!(REG(0x40023800) & (1u << 17))) {
    }
    t_check("HSERDY with bypass", (REG(0x40023800) >> 17) & 1u, 1u);

    /* 180 MHz from HSE bypass (§3.3, §3.4). */
    REG(0x40023804) = 0x27405A08u;
    t_check("PLLCFGR written", REG(0x40023804), 0x27405A08u);
    REG(0x40023800) |= 1u << 24;
    REG(0x40007000) |= 1u << 16; /* ODEN */
    while (!(REG(0x40007004) & (1u << 16))) {
    }
    REG(0x40007000) |= 1u << 17; /* ODSWEN */
    while (!(REG(0x40007004) & (1u << 17))) {
    }
    while (!(REG(0x40023800) & (1u << 25))) {
    }
    t_check("PWR_CSR VOSRDY|ODRDY|ODSWRDY", REG(0x40007004) & 0x34000u, 0x34000u);
    REG(0x40023C00) = (1u << 8) | (1u << 9) | (1u << 10) | 5u;
    t_check("FLASH_ACR latency read-back", REG(0x40023C00), 0x705u);
    REG8(0x40023C00) = 6u; /* byte write (HAL style) */
    t_check("FLASH_ACR byte write keeps the other bytes", REG(0x40023C00), 0x706u);
    REG8(0x40023C00) = 5u;
    REG(0x40023808) = 0x00009400u;
    REG(0x40023808) |= 2u;
    while ((REG(0x40023808) & 0xCu) != 0x8u) {
    }
    t_check("RCC_CFGR SWS follows SW=PLL", REG(0x40023808), 0x0000940Au);
    REG(0x40004408) = 0x0187; /* 115200 at 45 MHz */
    /* Turning the PLL off while it is SYSCLK is refused. */
    REG(0x40023800) &= ~(1u << 24);
    t_check("PLLON kept while SYSCLK", (REG(0x40023800) >> 24) & 1u, 1u);

    /* CRC unit (§4.7). */
    REG(0x40023830) |= 1u << 12;
    (void)REG(0x40023830);
    t_check("CRC_DR reset", REG(0x40023000), 0xFFFFFFFFu);
    REG(0x40023000) = 0x12345678u;
    t_check("CRC(0x12345678)", REG(0x40023000), 0xDF8A8A2Bu);
    REG(0x40023008) = 1;
    REG(0x40023000) = 0x12345678u;
    REG(0x40023000) = 0x9ABCDEF0u;
    t_check("CRC(0x12345678, 0x9ABCDEF0)", REG(0x40023000), 0x7D24A31Bu);
    REG(0x40023008) = 1;
    REG(0x40023000) = 0;
    t_check("CRC(0)", REG(0x40023000), 0xC704DD7Bu);
    REG(0x40023004) = 0x1A5;
    REG(0x40023008) = 1;
    t_check("CRC_IDR 8 bits, kept by RESET", REG(0x40023004), 0xA5u);

    /* Bit-band alias (§1.1): PWR_CR.DBP at 0x420E0020. */
    REG(0x420E0020) = 1;
    t_check("bit-band write PWR_CR.DBP", (REG(0x40007000) >> 8) & 1u, 1u);
    t_check("bit-band read", REG(0x420E0020), 1u);

    /* DWT cycle counter follows the core clock. */
    REG(0xE000EDFC) |= 1u << 24;
    REG(0xE0001004) = 0;
    REG(0xE0001000) |= 1u;
    uint32_t c0 = REG(0xE0001004);
    for (volatile int i = 0; i < 100; i++) {
    }
    t_check_true("DWT_CYCCNT counts", REG(0xE0001004) - c0 >= 100u);
    t_done();
    return 0;
}
