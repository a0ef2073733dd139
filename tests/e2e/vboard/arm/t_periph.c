/*
 * GPIO/LED, EXTI13 from the button (run with --press-button-at 5), USART2 RX and TXE interrupt,
 * RTC backup registers (DBP gate, kept over system resets), AIRCR.SYSRESETREQ and IWDG resets
 * with their RCC_CSR flags. Phases are kept in RTC_BKP1R across the resets.
 */
#include "t.h"

#define BKP0R 0x40002850u
#define BKP1R 0x40002854u
#define RCC_CSR 0x40023874u
#define PWR_CR 0x40007000u
#define EXTI_PR 0x40013C14u

static volatile uint32_t ms;
static volatile uint32_t exti_count, exti_idr, exti_pr;
static volatile uint32_t usart_irqs;

void SysTick_Handler(void)
{
    ms++;
}

void EXTI15_10_IRQHandler(void)
{
    exti_count++;
    exti_pr = REG(EXTI_PR);
    exti_idr = REG(0x40020810);
    REG(EXTI_PR) = 1u << 13;
}

void USART2_IRQHandler(void)
{
    usart_irqs++;
    REG(0x4000440C) &= ~(1u << 7); /* TXEIE off */
}

static void wait_ms(uint32_t n)
{
    uint32_t t0 = ms;
    while (ms - t0 < n) {
        t_wfi();
    }
}

static void phase0(void)
{
    t_check("RCC_CSR after power-on", REG(RCC_CSR), 0x0E000000u);
    /* LED on PA0 */
    REG(0x40020000) = (REG(0x40020000) & ~3u) | 1u;
    REG(0x40020018) = 1u; /* BSRR set PA0 */
    t_check("ODR PA0 set", REG(0x40020014) & 1u, 1u);
    t_check("IDR follows an output", REG(0x40020010) & 1u, 1u);
    REG(0x40020018) = 1u << 16; /* reset PA0 */
    REG(0x40020018) = 1u | (1u << 16); /* both: set wins */
    t_check("BSRR set wins", REG(0x40020014) & 1u, 1u);
    REG(0x40020018) = 1u << 16;

    /* Button PC13 -> EXTI13 -> IRQ 40 on the falling edge. */
    REG(0x40023830) |= 1u << 2;  /* GPIOC */
    REG(0x40023844) |= 1u << 14; /* SYSCFG */
    t_check("PC13 released reads 1", (REG(0x40020810) >> 13) & 1u, 1u);
    REG(0x40013814) = 0x0020u; /* EXTICR4: EXTI13 = PC */
    REG(0x40013C0C) |= 1u << 13; /* FTSR */
    REG(0x40013C00) |= 1u << 13; /* IMR */
    REG8(0xE000E428) = 0x80;
    REG(0xE000E104) = 1u << 8; /* ISER1 bit 8 = IRQ 40 */
    t_puts("waiting for the button\n");
    while (exti_count == 0) {
        t_wfi();
    }
    t_check("EXTI13 interrupt on press", exti_count, 1);
    t_check("EXTI_PR bit 13 was set", exti_pr & (1u << 13), 1u << 13);
    t_check("PC13 reads 0 while pressed", (exti_idr >> 13) & 1u, 0u);
    t_check("EXTI_PR cleared by the handler", REG(EXTI_PR), 0u);
    while (!((REG(0x40020810) >> 13) & 1u)) {
        t_wfi();
    }
    t_check("release: no interrupt (no rising edge enabled)", exti_count, 1);
    REG(0x40013C10) = 1u << 13; /* SWIER */
    t_dsb();
    t_check("SWIER raises the line", exti_count, 2);

    /* USART2: TXE interrupt, then bytes from stdin */
    REG8(0xE000E426) = 0x80;
    REG(0xE000E104) = 1u << 6; /* IRQ 38 */
    REG(0x4000440C) |= 1u << 7;
    t_dsb();
    t_check("USART2 TXE interrupt", usart_irqs, 1);
    char rx[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        uint32_t t0 = ms;
        while (!(REG(0x40004400) & (1u << 5)) && ms - t0 < 100) {
            t_wfi();
        }
        rx[i] = (char)REG(0x40004404);
    }
    t_check("USART2 RX from stdin", ((uint32_t)rx[0] << 8) | (uint32_t)rx[1], ('h' << 8) | 'i');
    t_check("RXNE cleared by reading DR", (REG(0x40004400) >> 5) & 1u, 0u);

    /* Backup registers need PWR_CR.DBP. */
    REG(0x40023840) |= 1u << 28;
    (void)REG(0x40023840);
    REG(BKP0R) = 0x11111111u;
    t_check("BKP0R write ignored with DBP=0", REG(BKP0R), 0u);
    REG(PWR_CR) |= 1u << 8;
    REG(BKP0R) = 0xCAFEBABEu;
    t_check("BKP0R written with DBP=1", REG(BKP0R), 0xCAFEBABEu);
    REG(BKP1R) = 1;
    t_assert_clean();
    t_dsb();
    REG(0xE000ED0C) = 0x05FA0004u;
    for (;;) {
    }
}

static void phase1(void)
{
    t_check("RCC_CSR after software reset (sticky POR flags kept)", REG(RCC_CSR), 0x1E000000u);
    t_check("BKP0R kept over a system reset", REG(BKP0R), 0xCAFEBABEu);
    REG(RCC_CSR) |= 1u << 24; /* RMVF */
    t_check("RMVF clears the flags", REG(RCC_CSR) & 0xFF000000u, 0u);
    REG(0x40023840) |= 1u << 28;
    REG(PWR_CR) |= 1u << 8;
    REG(BKP1R) = 2;
    /* IWDG: PR 7 divides by 256 like PR 6 (not 4 << 7), reload 1 -> 256 * 2 / 32 kHz = 16 ms */
    REG(0x40003000) = 0xCCCC;
    REG(0x40003000) = 0x5555;
    REG(0x40003004) = 7;
    REG(0x40003008) = 1;
    while (REG(0x4000300C) != 0) {
    }
    REG(0x40003000) = 0xAAAA;
    t_assert_clean();
    for (int i = 0; i < 5; i++) {
        wait_ms(10);
        REG(0x40003000) = 0xAAAA;
    }
    t_puts("ok IWDG refreshed every 10 ms for 50 ms\n");
    for (;;) {
        t_wfi();
    }
}

static void phase2(void)
{
    t_check("RCC_CSR after IWDG reset", REG(RCC_CSR), 0x24000000u);
    t_check("BKP0R kept over the IWDG reset", REG(BKP0R), 0xCAFEBABEu);
    wait_ms(100);
    t_puts("ok IWDG stopped by the reset\n");
    REG(0x40023840) |= 1u << 28;
    REG(PWR_CR) |= 1u << 8;
    REG(BKP1R) = 3;
    t_done();
}

int main(void)
{
    REG(0x40023830) |= 1u; /* GPIOA */
    REG(0xE000E014) = 16000 - 1;
    REG(0xE000E018) = 0;
    REG(0xE000E010) = 7;
    t_cpsie();
    uint32_t phase = REG(BKP1R);
    if (phase == 0) {
        phase0();
    } else if (phase == 1) {
        phase1();
    } else if (phase == 2) {
        phase2();
    } else {
        t_check("unexpected phase", phase, 0);
        t_done();
    }
    return 0;
}
