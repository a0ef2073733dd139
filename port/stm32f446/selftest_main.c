/*
 * port_selftest.elf: links every port and board function so the host tests
 * (tests/unit/firmware/test_port_unicorn.c) can call each one on Unicorn, including those the two
 * programs do not use yet. Never flashed; it has no behaviour of its own.
 */
#include "board.h"
#include "clock.h"
#include "exti.h"
#include "flash_port.h"
#include "flash_stm32.h"
#include "gpio.h"
#include "iwdg.h"
#include "spi.h"
#include "sys.h"
#include "systick.h"
#include "usart.h"

#include <stdint.h>

typedef void (*selftest_fn)(void);

/* volatile: the table is read at run time, so the linker keeps every function it names. */
static selftest_fn const volatile selftest_keep[] = {
    (selftest_fn)clock_init,           (selftest_fn)clock_deinit,
    (selftest_fn)clock_get,            (selftest_fn)systick_start,
    (selftest_fn)systick_stop,         (selftest_fn)systick_ms,
    (selftest_fn)systick_advance,      (selftest_fn)systick_delay_ms,
    (selftest_fn)gpio_clock_enable,    (selftest_fn)gpio_config,
    (selftest_fn)gpio_port_reset,      (selftest_fn)usart2_init,
    (selftest_fn)usart_brr,            (selftest_fn)usart2_write,
    (selftest_fn)usart2_flush,         (selftest_fn)usart2_deinit,
    (selftest_fn)spi1_init,            (selftest_fn)spi1_transfer,
    (selftest_fn)spi1_deinit,          (selftest_fn)exti_gpio_init,
    (selftest_fn)exti_take_pending,    (selftest_fn)exti_deinit,
    (selftest_fn)iwdg_start,           (selftest_fn)iwdg_started_by_hardware,
    (selftest_fn)iwdg_timeout_ms,      (selftest_fn)sys_reset,
    (selftest_fn)sys_reset_cause,      (selftest_fn)sys_reset_cause_name,
    (selftest_fn)sys_unique_id,        (selftest_fn)sys_vector_check,
    (selftest_fn)sys_jump,             (selftest_fn)flash_port_read,
    (selftest_fn)flash_port_program,   (selftest_fn)flash_port_erase_sector,
    (selftest_fn)flash_stm32_erase_max_ms, (selftest_fn)flash_stm32_sr_error,
    (selftest_fn)flash_stm32_flush_caches, (selftest_fn)board_led_init,
    (selftest_fn)board_led_set,        (selftest_fn)board_led_toggle,
    (selftest_fn)board_uart_init,      (selftest_fn)board_log,
    (selftest_fn)board_log_dec,        (selftest_fn)board_log_hex,
    (selftest_fn)board_button_init,    (selftest_fn)board_button_pressed,
    (selftest_fn)board_w5500_spi_init, (selftest_fn)board_w5500_select,
    (selftest_fn)board_w5500_deselect, (selftest_fn)board_w5500_reset_pin,
    (selftest_fn)board_w5500_transfer, (selftest_fn)board_deinit,
};

int main(void)
{
    uintptr_t sum = 0;
    for (uint32_t i = 0; i < sizeof selftest_keep / sizeof selftest_keep[0]; i++) {
        sum += (uintptr_t)selftest_keep[i];
    }
    return (int)(sum & 1u);
}
