/*
 * Bootloader for the STM32F446: clocks, log on USART2, watchdog, then the portable core
 * (boot/core/boot_core.h) decides; jump to the application or stay here, log why and blink.
 */
#include "boot_config.h"
#include "boot_core.h"

#include "board.h"
#include "clock.h"
#include "iwdg.h"
#include "sys.h"
#include "systick.h"

#include <stdbool.h>
#include <stddef.h>

/* The log line is best effort: a dead UART must not stop the boot. */
static void boot_log_line(const char *s)
{
    if (board_log(s) == 0) {
        (void)board_log("\r\n");
    }
}

static void hook_log(void *ctx, const char *line)
{
    (void)ctx;
    boot_log_line(line);
}

static void hook_kick(void *ctx)
{
    (void)ctx;
    iwdg_refresh();
}

static void hook_progress(void *ctx, uint32_t done, uint32_t total)
{
    (void)ctx;
    (void)done;
    (void)total;
    board_led_toggle(); /* visible sign of life during a long copy */
}

static const char *clock_name(enum clock_source src)
{
    switch (src) {
    case CLOCK_SRC_HSE_PLL:
        return BOOT_MSG("HSE-PLL 180 MHz", "HSE-PLL");
    case CLOCK_SRC_HSI_PLL:
        return BOOT_MSG("HSI-PLL 180 MHz (no HSE)", "HSI-PLL");
    case CLOCK_SRC_HSI:
    default:
        return BOOT_MSG("HSI 16 MHz", "HSI");
    }
}

static void boot_log_startup(enum sys_reset_cause cause, int clock_rc, const struct clock_info *ci)
{
    (void)board_log("\r\nboot: stm32-ota bootloader, reset: ");
    boot_log_line(sys_reset_cause_name(cause));
    (void)board_log("boot: clock: ");
    boot_log_line(clock_name(ci->source));
    if (clock_rc != CLOCK_OK) {
        /* The clock line above already names what runs instead (HSI after a failure). */
        (void)board_log("boot: clock error ");
        (void)board_log_dec((uint32_t)-clock_rc);
        boot_log_line("");
    }
    boot_log_line(iwdg_started_by_hardware()
                      ? BOOT_MSG("boot: watchdog: hardware (WDG_SW=0)", "boot: watchdog: hw")
                      : BOOT_MSG("boot: watchdog: software", "boot: watchdog: sw"));
}

static void boot_log_reason(int reason)
{
    boot_log_line(boot_reason_line("staying in the bootloader: ", reason));
}

/* Sleep-free wait that keeps the watchdog fed. */
static void boot_wait_ms(uint32_t ms)
{
    uint32_t start = systick_ms();
    while (systick_ms() - start < ms) {
        iwdg_refresh();
    }
}

/* No application: log the reason and blink it on the LED forever. */
__attribute__((noreturn)) static void boot_stay(int reason)
{
    uint32_t blinks = reason > 0 ? (uint32_t)reason : 1u;
    for (uint32_t cycle = 0;; cycle++) {
        if (cycle % BOOT_RELOG_CYCLES == 0) {
            boot_log_reason(reason);
        }
        for (uint32_t i = 0; i < blinks; i++) {
            board_led_set(true);
            boot_wait_ms(BOOT_BLINK_MS);
            board_led_set(false);
            boot_wait_ms(BOOT_BLINK_MS);
        }
        boot_wait_ms(BOOT_BLINK_PAUSE_MS);
    }
}

int main(void)
{
    /* First: the watchdog may already run from reset with ~0.5 s; give it the policy period. */
    int wdg_rc = iwdg_start();
    enum sys_reset_cause cause = sys_reset_cause(BOOT_CLEAR_RESET_FLAGS != 0);

    struct clock_info ci;
    int clock_rc = clock_init(&ci);
    if (systick_start(ci.hclk_hz) != SYSTICK_OK) {
        /* hclk is 16 or 180 MHz, both fit SysTick: only a broken clock_info gets here. */
        sys_reset();
    }
    board_led_init();
    int uart_rc = board_uart_init(ci.pclk1_hz);
    if (uart_rc == 0) {
        boot_log_startup(cause, clock_rc, &ci);
    }
    if (wdg_rc != IWDG_OK) {
        boot_log_line(BOOT_MSG("boot: watchdog period not set (LSI?)", "boot: watchdog not set"));
    }

    const struct boot_hooks hooks = {
        .ctx = NULL, .log = hook_log, .kick = hook_kick, .progress = hook_progress};
    struct boot_outcome out;
    int rc = boot_run(&hooks, &out);
    iwdg_refresh();
    if (rc != BOOT_ERR_NONE) {
        board_led_set(false);
        boot_stay(out.reason);
    }
    if (sys_vector_check(out.jump_addr, APP_ADDR + APP_SIZE) != SYS_OK) {
        boot_stay(BOOT_R_VECTOR);
    }

    (void)board_log("boot: starting application at ");
    (void)board_log_hex(out.jump_addr);
    boot_log_line("");
    board_deinit();
    int jump_rc = sys_jump(out.jump_addr, APP_ADDR + APP_SIZE);

    /* Only a table that changed under our feet gets here: bring the log back and say so. */
    board_led_init();
    if (board_uart_init(ci.pclk1_hz) == 0) {
        (void)board_log("boot: jump refused: ");
        (void)board_log_dec((uint32_t)-jump_rc);
        boot_log_line("");
    }
    boot_stay(BOOT_R_VECTOR);
}
