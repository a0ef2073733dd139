/*
 * Power cut at a flash operation. First boot (sector 3 erased): RTC_BKP0R = 0x1234, program
 * four words of sector 3 (flash operations 1-4), then erase sector 3 (operation 5). Every boot
 * prints the reset flags, BKP0R and the four words, so the runner sees what the cut left.
 */
#include "t.h"

#define SEC3 0x0800C000u
#define F_SR 0x40023C0Cu
#define F_CR 0x40023C10u

static void wait_bsy(void)
{
    while (REG(F_SR) & (1u << 16)) {
    }
}

int main(void)
{
    t_puts("BOOT csr=");
    t_puthex(REG(0x40023874));
    t_puts(" bkp0=");
    t_puthex(REG(0x40002850));
    for (int i = 0; i < 4; i++) {
        t_puts(i == 0 ? " w0=" : (i == 1 ? " w1=" : (i == 2 ? " w2=" : " w3=")));
        t_puthex(REG(SEC3 + 4u * (uint32_t)i));
    }
    t_puts("\n");
    if (REG(SEC3) != 0xFFFFFFFFu) {
        t_puts("SECOND BOOT\n");
        for (;;) {
            t_wfi();
        }
    }
    REG(0x40023840) |= 1u << 28;
    (void)REG(0x40023840);
    REG(0x40007000) |= 1u << 8;
    REG(0x40002850) = 0x1234u;
    REG(0x40023C04) = 0x45670123u;
    REG(0x40023C04) = 0xCDEF89ABu;
    static const uint32_t words[4] = {0x11111111u, 0x22222222u, 0x00000000u, 0x44444444u};
    REG(F_CR) = (2u << 8) | 1u;
    for (int i = 0; i < 4; i++) {
        REG(SEC3 + 4u * (uint32_t)i) = words[i];
        wait_bsy();
    }
    t_puts("PROGRAMMED\n");
    REG(F_CR) = (2u << 8) | (3u << 3) | 2u;
    REG(F_CR) |= 1u << 16;
    wait_bsy();
    REG(F_CR) = 1u << 31;
    t_puts("ERASED\n");
    for (;;) {
        t_wfi();
    }
}
