/* An access to an address no model covers (I2C1 at 0x40005400) must stop the run and report the
 * address, the access size and the PC of the instruction, which this program prints first. */
#include "t.h"

int main(void)
{
    uint32_t pc;
    __asm volatile("adr %0, 1f" : "=r"(pc));
    t_puts("BADPC=");
    t_puthex(pc);
    t_puts("\n");
    uint32_t v;
    __asm volatile(".align 2\n1: ldr %0, [%1]\n" : "=r"(v) : "r"(0x40005400u) : "memory");
    t_puts("FAIL the run went on after the access\n");
    t_check("never", v, 0xFFFFFFFFu);
    t_done();
    return 0;
}
