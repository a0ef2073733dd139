/*
 * Exception model: SysTick (both clock sources), PendSV, NVIC priorities with preemption and
 * tail-chaining, PRIMASK, the 8-word and 26-word (FP) frames with their EXC_RETURN values,
 * 8-byte frame alignment, SVC, and UDF -> HardFault (FORCED) or UsageFault when enabled.
 */
#include "t.h"

#define STIR 0xE000EF00u
#define ISER0 0xE000E100u
#define IABR0 0xE000E300u
#define IPR 0xE000E400u
#define ICSR 0xE000ED04u

static volatile uint32_t ticks;
static volatile uint32_t pendsv_vectactive;
static volatile char order[16];
static volatile uint32_t order_n;
static volatile uint32_t iabr_in_b, icsr_in_b, iabr_in_c;
static volatile uint32_t frame_sp, frame_lr, frame_xpsr;
static volatile uint32_t svc_seen;
static volatile uint32_t hf_count, uf_count, hf_cfsr, hf_hfsr;
static volatile uint32_t irq_mode; /* what TIM2_IRQHandler does */

void SysTick_Handler(void)
{
    ticks++;
}

void PendSV_Handler(void)
{
    pendsv_vectactive = REG(ICSR) & 0x1FFu;
}

static void log_char(char c)
{
    order[order_n++] = c;
}

void TIM3_IRQHandler(void) /* IRQ 29, high priority */
{
    log_char('B');
    iabr_in_b = REG(IABR0);
    icsr_in_b = REG(ICSR);
}

void TIM4_IRQHandler(void) /* IRQ 30, same priority as IRQ 28 */
{
    log_char('C');
    iabr_in_c = REG(IABR0);
}

void tim2_c(uint32_t *sp, uint32_t lr);
void tim2_c(uint32_t *sp, uint32_t lr)
{
    if (irq_mode == 3) {
        log_char('A');
        REG(STIR) = 29;
        t_dsb();
        log_char('a');
    } else if (irq_mode == 0) {
        log_char('A');
        REG(STIR) = 29;
        t_dsb();
        log_char('a');
        REG(STIR) = 30;
        t_dsb();
        log_char('b');
    } else {
        frame_sp = (uint32_t)sp;
        frame_lr = lr;
        frame_xpsr = sp[7];
        if (irq_mode == 2) {
            /* clobber the caller-saved FP registers the frame must restore */
            __asm volatile("vmov.f32 s0, #1.0\n vmov.f32 s1, #1.0\n vmov.f32 s15, #1.0\n"
                           "vmov.f32 s7, #1.0" ::: "s0", "s1", "s7", "s15");
        }
    }
}

__attribute__((naked)) void TIM2_IRQHandler(void)
{
    __asm volatile("mrs r0, msp\n mov r1, lr\n push {r4, lr}\n bl tim2_c\n pop {r4, pc}\n");
}

void SVC_Handler(void)
{
    svc_seen++;
}

void fault_c(uint32_t *sp, uint32_t which);
void fault_c(uint32_t *sp, uint32_t which)
{
    if (which == 3) {
        hf_count++;
    } else {
        uf_count++;
    }
    hf_cfsr = REG(0xE000ED28);
    hf_hfsr = REG(0xE000ED2C);
    REG(0xE000ED28) = hf_cfsr; /* write 1 to clear */
    REG(0xE000ED2C) = hf_hfsr;
    sp[6] += 2; /* skip the 16-bit UDF */
}

__attribute__((naked)) void HardFault_Handler(void)
{
    __asm volatile("mrs r0, msp\n movs r1, #3\n push {r4, lr}\n bl fault_c\n pop {r4, pc}\n");
}

__attribute__((naked)) void UsageFault_Handler(void)
{
    __asm volatile("mrs r0, msp\n movs r1, #6\n push {r4, lr}\n bl fault_c\n pop {r4, pc}\n");
}

/* Pends IRQ 28 with SP 4 bytes off 8-byte alignment; returns the misaligned SP. */
__attribute__((naked)) static uint32_t pend_misaligned(void)
{
    __asm volatile("push {r4, lr}\n"
                   "mov r4, sp\n"
                   "sub sp, #4\n"
                   "mov r0, sp\n"
                   "ldr r1, =0xE000EF00\n"
                   "movs r2, #28\n"
                   "str r2, [r1]\n"
                   "dsb\n isb\n nop\n nop\n"
                   "mov sp, r4\n"
                   "pop {r4, pc}\n");
}

/* Pends IRQ 28 from an 8-byte aligned SP; returns that SP. */
__attribute__((naked)) static uint32_t pend_aligned(void)
{
    __asm volatile("push {r4, lr}\n"
                   "mov r0, sp\n"
                   "ldr r1, =0xE000EF00\n"
                   "movs r2, #28\n"
                   "str r2, [r1]\n"
                   "dsb\n isb\n nop\n nop\n"
                   "pop {r4, pc}\n");
}

int main(void)
{
    t_cpsie();
    /* SysTick on the processor clock: 1 ms at 16 MHz. */
    REG(0xE000E014) = 16000 - 1;
    REG(0xE000E018) = 0;
    REG(0xE000E010) = 7;
    while (ticks < 10) {
        t_wfi();
    }
    REG(0xE000E010) = 0;
    t_check("SysTick 10 interrupts", ticks, 10);
    t_check("SysTick COUNTFLAG set then cleared by read", (REG(0xE000E010) >> 16) & 1u, 1u);
    t_check("SysTick COUNTFLAG cleared", (REG(0xE000E010) >> 16) & 1u, 0u);

    /* SysTick on HCLK/8: 5 ticks of 2000 counts = 80000 core cycles (DWT). */
    REG(0xE000EDFC) |= 1u << 24;
    REG(0xE0001000) |= 1u;
    ticks = 0;
    REG(0xE000E014) = 2000 - 1;
    REG(0xE000E018) = 0;
    uint32_t c0 = REG(0xE0001004);
    REG(0xE000E010) = 3;
    while (ticks < 5) {
        t_wfi();
    }
    uint32_t dc = REG(0xE0001004) - c0;
    REG(0xE000E010) = 0;
    t_check_true("SysTick HCLK/8: 5 periods ~ 80000 cycles", dc >= 79000u && dc <= 81000u);

    /* PendSV */
    REG(ICSR) = 1u << 28;
    t_dsb();
    t_check("PendSV ran with VECTACTIVE 14", pendsv_vectactive, 14);

    /* Priorities: IRQ 28 and 30 low (0xC0), IRQ 29 high (0x40). */
    REG8(IPR + 28) = 0xC0;
    REG8(IPR + 29) = 0x40;
    REG8(IPR + 30) = 0xC0;
    t_check("IPR keeps the upper 4 bits", REG(IPR + 28), 0x00C040C0u);
    REG(ISER0) = (1u << 28) | (1u << 29) | (1u << 30);
    t_check("ISER0 read-back", REG(ISER0), (1u << 28) | (1u << 29) | (1u << 30));
    irq_mode = 0;
    REG(STIR) = 28;
    t_dsb();
    order[order_n] = 0;
    t_check("nested then tail-chained order ABabC",
            order_n == 5 && order[0] == 'A' && order[1] == 'B' && order[2] == 'a' &&
                order[3] == 'b' && order[4] == 'C', 1);
    t_check("IABR inside the nested ISR: 28 and 29 active", iabr_in_b & (7u << 28),
            (1u << 28) | (1u << 29));
    t_check("ICSR inside nested ISR: VECTACTIVE 45, RETTOBASE 0", icsr_in_b & 0x9FFu, 45u);
    t_check("IABR in the tail-chained ISR: only 30", iabr_in_c & (7u << 28), 1u << 30);

    /* PRIMASK holds a pending IRQ until CPSIE. */
    order_n = 0;
    t_cpsid();
    REG(STIR) = 29;
    t_dsb();
    t_check("PRIMASK: not taken", order_n, 0);
    t_check("ISPR shows it pending", (REG(0xE000E200) >> 29) & 1u, 1u);
    t_cpsie();
    t_dsb();
    t_check("taken after CPSIE", order_n == 1 && order[0] == 'B', 1);

    /* PRIGROUP: IRQ 28 at 0xA0 running, IRQ 29 at 0x80 pended. Group bits 7:1 (PRIGROUP 0):
     * 0x80 preempts; PRIGROUP 5 (group bits 7:6): same group 0x80, no preemption. */
    irq_mode = 3;
    REG8(IPR + 28) = 0xA0;
    REG8(IPR + 29) = 0x80;
    order_n = 0;
    REG(STIR) = 28;
    t_dsb();
    t_check("PRIGROUP 0: 0x80 preempts 0xA0 (ABa)",
            order_n == 3 && order[0] == 'A' && order[1] == 'B' && order[2] == 'a', 1);
    REG(0xE000ED0C) = 0x05FA0500u;
    order_n = 0;
    REG(STIR) = 28;
    t_dsb();
    t_check("PRIGROUP 5: same group, no preemption (AaB)",
            order_n == 3 && order[0] == 'A' && order[1] == 'a' && order[2] == 'B', 1);
    REG(0xE000ED0C) = 0x05FA0000u;
    /* BASEPRI 0x40 masks priority 0x80 */
    order_n = 0;
    __asm volatile("msr basepri, %0\n isb" ::"r"(0x40u));
    REG(STIR) = 29;
    t_dsb();
    t_check("BASEPRI 0x40 holds priority 0x80", order_n, 0);
    __asm volatile("msr basepri, %0\n isb" ::"r"(0u));
    t_dsb();
    t_check("taken when BASEPRI is 0", order_n == 1 && order[0] == 'B', 1);

    /* Basic frame: CONTROL.FPCA clear -> 8 words, EXC_RETURN 0xFFFFFFF9. */
    __asm volatile("msr control, %0\n isb" ::"r"(0u));
    irq_mode = 1;
    uint32_t sp = pend_aligned();
    t_check("EXC_RETURN thread/MSP/no FP", frame_lr, 0xFFFFFFF9u);
    t_check("8-word frame below SP", sp - frame_sp, 0x20u);
    t_check("stacked xPSR: no realignment", (frame_xpsr >> 9) & 1u, 0u);

    /* Misaligned SP: frame 8-byte aligned, xPSR bit 9 set, SP restored on return. */
    sp = pend_misaligned();
    t_check("misaligned SP was 4 mod 8", sp & 7u, 4u);
    t_check("frame 8-byte aligned", frame_sp & 7u, 0u);
    t_check("frame placed 0x24 below", sp - frame_sp, 0x24u);
    t_check("stacked xPSR bit 9 (realigned)", (frame_xpsr >> 9) & 1u, 1u);

    /* FP context: 26-word frame, EXC_RETURN 0xFFFFFFE9, S0-S15 restored. */
    irq_mode = 2;
    float f0, f1, f7, f15;
    __asm volatile("vmov.f32 s0, #2.0\n vmov.f32 s1, #3.0\n vmov.f32 s7, #4.0\n"
                   "vmov.f32 s15, #5.0" ::: "s0", "s1", "s7", "s15");
    uint32_t control;
    __asm volatile("mrs %0, control" : "=r"(control));
    t_check("CONTROL.FPCA after an FP instruction", (control >> 2) & 1u, 1u);
    sp = pend_aligned();
    __asm volatile("vmov %0, s0\n vmov %1, s1\n vmov %2, s7\n vmov %3, s15"
                   : "=r"(f0), "=r"(f1), "=r"(f7), "=r"(f15));
    t_check("EXC_RETURN thread/MSP/FP", frame_lr, 0xFFFFFFE9u);
    t_check("26-word frame below SP", sp - frame_sp, 0x68u);
    t_check_true("S0,S1,S7,S15 restored", f0 == 2.0f && f1 == 3.0f && f7 == 4.0f && f15 == 5.0f);
    __asm volatile("mrs %0, control" : "=r"(control));
    t_check("CONTROL.FPCA restored", (control >> 2) & 1u, 1u);
    __asm volatile("msr control, %0\n isb" ::"r"(0u));

    /* SVC */
    __asm volatile("svc #5");
    t_check("SVC handler ran", svc_seen, 1);

    /* UDF with UsageFault disabled -> HardFault FORCED; enabled -> UsageFault. */
    __asm volatile(".short 0xDE00"); /* udf #0 */
    t_check("UDF -> HardFault", hf_count, 1);
    t_check("CFSR UNDEFINSTR", hf_cfsr, 1u << 16);
    t_check("HFSR FORCED", hf_hfsr, 1u << 30);
    REG(0xE000ED24) |= 1u << 18; /* USGFAULTENA */
    __asm volatile(".short 0xDE00");
    t_check("UDF -> UsageFault when enabled", uf_count, 1);
    t_check("no escalation then", hf_hfsr, 0u);
    t_done();
    return 0;
}
