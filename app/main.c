/*
 * Application for the STM32F446: banner with its version on USART2, status LED toggled every
 * APP_LED_PERIOD_MS from the SysTick tick, button (EXTI13) requests an update, watchdog fed.
 *
 * The OTA client (lib/ota) plugs in at app_update_requested() and app_poll() below; nothing
 * else in this file needs to change for it.
 */
#include "app_config.h"
#include "app_info.h"

#include "board.h"
#include "clock.h"
#include "exti.h"
#include "iwdg.h"
#include "sys.h"
#include "systick.h"

#include <stdbool.h>
#include <stdint.h>

/* VERSIONR of every W5500 (../shared/reference/w5500.md register table). */
#define APP_W5500_VERSION 0x04u

#if !defined(APP_VERSION_MAJOR) || !defined(APP_VERSION_MINOR) || !defined(APP_VERSION_REVISION) ||  \
    !defined(APP_VERSION_BUILD) || !defined(APP_VERSION_STRING)
#error "APP_VERSION_* come from the build (top-level CMakeLists.txt APP_VERSION)"
#endif
_Static_assert(APP_VERSION_MAJOR <= 255 && APP_VERSION_MINOR <= 255, "8-bit major/minor");
_Static_assert(APP_VERSION_REVISION <= 65535, "16-bit revision");

/* Read by tools at APP_ADDR + APP_INFO_OFFSET (app_info.h); placed by app.ld. */
__attribute__((section(".app_info"), used)) const struct app_info app_info = {
    .ai_magic = APP_INFO_MAGIC,
    .ai_version = APP_INFO_VERSION(APP_VERSION_MAJOR, APP_VERSION_MINOR, APP_VERSION_REVISION),
    .ai_build = APP_VERSION_BUILD,
    .ai_reserved = 0xFFFFFFFFu,
};

/* Set by the button interrupt, consumed by the main loop. */
static volatile bool app_button_flag;

void EXTI15_10_IRQHandler(void)
{
    if (exti_take_pending(BOARD_BUTTON_PIN)) {
        app_button_flag = true;
    }
}

static void app_log_line(const char *s)
{
    if (board_log(s) == 0) {
        (void)board_log("\r\n");
    }
}

/*
 * Bring-up check of the Ethernet chip: pulse RSTn (>= 500 us low, then 1 ms for its PLL; w5500.md
 * §reset) and read VERSIONR (common register 0x0039, always 0x04) in one variable-length frame.
 * Returns true when the chip answers. The OTA client's w5500 driver resets and configures the
 * chip again on its own; this only tells the log whether the wiring works.
 */
static bool app_w5500_probe(uint8_t *version)
{
    static const uint8_t frame[4] = {0x00, 0x39, 0x00 /* common block, read, VDM */, 0x00};
    uint8_t rx[4] = {0};
    if (board_w5500_spi_init() != 0) {
        return false;
    }
    board_w5500_reset_pin(false);
    systick_delay_ms(1u);
    board_w5500_reset_pin(true);
    systick_delay_ms(2u);
    board_w5500_select();
    int rc = board_w5500_transfer(frame, rx, sizeof frame);
    board_w5500_deselect();
    *version = rx[3];
    return rc == 0 && rx[3] == APP_W5500_VERSION;
}

/* The update request. The OTA client integration replaces the body of this function. */
static void app_update_requested(void)
{
    app_log_line("app: update requested");
}

/* Called on every pass of the main loop; the OTA client's poll goes here. */
static void app_poll(uint32_t now_ms)
{
    (void)now_ms;
}

int main(void)
{
    /* The bootloader started the watchdog; refresh it before anything slow. */
    int wdg_rc = iwdg_start();

    struct clock_info ci;
    int clock_rc = clock_init(&ci);
    if (systick_start(ci.hclk_hz) != SYSTICK_OK) {
        sys_reset();
    }
    /* The bootloader leaves the sticky flags: the cause seen here is this boot's; clear them. */
    enum sys_reset_cause cause = sys_reset_cause(true);
    board_led_init();
    if (board_uart_init(ci.pclk1_hz) == 0) {
        app_log_line("");
        app_log_line("app: stm32-ota application v" APP_VERSION_STRING);
        (void)board_log("app: reset cause: ");
        app_log_line(sys_reset_cause_name(cause));
        if (clock_rc != CLOCK_OK) {
            app_log_line("app: clock setup failed, running on HSI 16 MHz");
        } else if (ci.source == CLOCK_SRC_HSI_PLL) {
            app_log_line("app: no HSE, PLL from HSI");
        }
        if (wdg_rc != IWDG_OK) {
            app_log_line("app: watchdog did not take the new period");
        }
    }
    uint8_t w5500_version = 0;
    if (app_w5500_probe(&w5500_version)) {
        app_log_line("app: W5500 answers (VERSIONR 0x04)");
    } else {
        (void)board_log("app: W5500 not answering, VERSIONR ");
        (void)board_log_hex(w5500_version);
        app_log_line("");
    }
    if (board_button_init(APP_BUTTON_IRQ_PRIO) != 0) {
        app_log_line("app: button interrupt not available");
    }

    app_log_line("app: running");
    uint32_t last_toggle = systick_ms();
    uint32_t last_press = last_toggle - APP_BUTTON_DEBOUNCE_MS;
    for (;;) {
        iwdg_refresh();
        uint32_t now = systick_ms();
        if (now - last_toggle >= APP_LED_PERIOD_MS) {
            last_toggle = now;
            board_led_toggle();
        }
        if (app_button_flag) {
            app_button_flag = false;
            if (now - last_press >= APP_BUTTON_DEBOUNCE_MS) {
                app_update_requested();
            }
            last_press = now;
        }
        app_poll(now);
    }
}
