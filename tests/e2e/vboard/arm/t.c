/* Start-up, vector table, USART2 output and checks for the vboard model tests. */
#include "t.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
volatile uint32_t t_failures;
volatile uint32_t t_checks;

void reset_handler(void);
void default_handler(void);
#define WEAK __attribute__((weak, alias("default_handler")))
void NMI_Handler(void) WEAK;
void HardFault_Handler(void) WEAK;
void MemManage_Handler(void) WEAK;
void BusFault_Handler(void) WEAK;
void UsageFault_Handler(void) WEAK;
void SVC_Handler(void) WEAK;
void PendSV_Handler(void) WEAK;
void SysTick_Handler(void) WEAK;
void IRQ_Handler(void) WEAK;
void FLASH_IRQHandler(void) WEAK;
void EXTI15_10_IRQHandler(void) WEAK;
void USART2_IRQHandler(void) WEAK;
void TIM2_IRQHandler(void) WEAK;   /* IRQ 28, used as a plain software IRQ */
void TIM3_IRQHandler(void) WEAK;   /* IRQ 29 */
void TIM4_IRQHandler(void) WEAK;   /* IRQ 30 */

typedef void (*vec_t)(void);
__attribute__((section(".vectors"), used)) static const vec_t vectors[16 + 97] = {
    [0] = (vec_t)&_estack,
    [1] = reset_handler,
    [2] = NMI_Handler,
    [3] = HardFault_Handler,
    [4] = MemManage_Handler,
    [5] = BusFault_Handler,
    [6] = UsageFault_Handler,
    [11] = SVC_Handler,
    [14] = PendSV_Handler,
    [15] = SysTick_Handler,
    [16 + 4] = FLASH_IRQHandler,
    [16 + 28] = TIM2_IRQHandler,
    [16 + 29] = TIM3_IRQHandler,
    [16 + 30] = TIM4_IRQHandler,
    [16 + 38] = USART2_IRQHandler,
    [16 + 40] = EXTI15_10_IRQHandler,
};

void reset_handler(void)
{
    uint32_t *s = &_sidata;
    for (uint32_t *d = &_sdata; d < &_edata;) {
        *d++ = *s++;
    }
    for (uint32_t *d = &_sbss; d < &_ebss;) {
        *d++ = 0;
    }
    REG(0xE000ED88) |= 0xFu << 20; /* CPACR: CP10/CP11 full access */
    t_dsb();
    t_uart_init();
    (void)main();
    for (;;) {
        t_wfi();
    }
}

void default_handler(void)
{
    uint32_t ipsr;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    t_puts("FAIL unexpected exception ");
    t_putdec(ipsr);
    t_puts("\n");
    __asm volatile("bkpt #1");
    for (;;) {
    }
}

void t_uart_init(void)
{
    REG(0x40023830) |= 1u << 0;  /* RCC_AHB1ENR.GPIOAEN */
    REG(0x40023840) |= 1u << 17; /* RCC_APB1ENR.USART2EN */
    (void)REG(0x40023840);
    REG(0x40020000) = (REG(0x40020000) & ~(3u << 4)) | (2u << 4); /* PA2 AF */
    REG(0x40020020) = (REG(0x40020020) & ~(0xFu << 8)) | (7u << 8); /* AF7 */
    REG(0x40004408) = 0x008B;    /* 115200 at 16 MHz */
    REG(0x4000440C) = (1u << 13) | (1u << 3) | (1u << 2); /* UE TE RE */
}

static void t_putc(char c)
{
    while (!(REG(0x40004400) & (1u << 7))) {
    }
    REG(0x40004404) = (uint8_t)c;
}

void t_puts(const char *s)
{
    while (*s) {
        t_putc(*s++);
    }
}

void t_puthex(uint32_t v)
{
    t_puts("0x");
    for (int i = 7; i >= 0; i--) {
        t_putc("0123456789abcdef"[(v >> (4 * i)) & 0xF]);
    }
}

void t_putdec(uint32_t v)
{
    char b[11];
    int i = 10;
    b[i] = 0;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    t_puts(&b[i]);
}

void t_check(const char *name, uint32_t got, uint32_t want)
{
    t_checks++;
    if (got == want) {
        t_puts("ok ");
        t_puts(name);
        t_puts("\n");
        return;
    }
    t_failures++;
    t_puts("FAIL ");
    t_puts(name);
    t_puts(": got ");
    t_puthex(got);
    t_puts(" want ");
    t_puthex(want);
    t_puts("\n");
}

void t_check_true(const char *name, int cond)
{
    t_check(name, cond ? 1u : 0u, 1u);
}

void t_done(void)
{
    if (t_failures == 0 && t_checks > 0) {
        t_puts("ALL PASS ");
        t_putdec(t_checks);
        t_puts("\n");
        return;
    }
    t_puts("TESTS FAILED ");
    t_putdec(t_failures);
    t_puts("\n");
    __asm volatile("bkpt #2");
}

void t_assert_clean(void)
{
    if (t_failures != 0) {
        t_puts("TESTS FAILED ");
        t_putdec(t_failures);
        t_puts("\n");
        __asm volatile("bkpt #2");
    }
}
