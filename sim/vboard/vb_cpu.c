/*
 * Cortex-M4F core around Unicorn 2.0.1: memory map, our own NVIC/SCB/SysTick, exception entry
 * and return, WFI, and the virtual clock.
 *
 * Unicorn facts relied on (stm32f446.md §6.1, re-checked on this machine): UC_MODE_THUMB with
 * the CORTEX_M4 model (MCLASS would give an M33); no NVIC, so exceptions are entered from the
 * block hook and returned from the interrupt hook (intno 3 or 8 with PC in 0xFFFFFFE0..FF);
 * WFI ends uc_emu_start with UC_ERR_OK; translated code is not invalidated by flash writes; the
 * PC seen in memory callbacks is the block start, so a code hook tracks the exact PC.
 */
#include "vboard.h"

#include <string.h>
#include <time.h>

#define EXC_RETURN_PAGE 0xFFFFFFE0u
#define XPSR_T 0x01000000u
#define XPSR_ALIGN 0x00000200u
#define CONTROL_SPSEL 0x2u
#define CONTROL_FPCA 0x4u

/* SCB / NVIC addresses (stm32f446.md §1.4, §4.10). */
#define SCS_ICTR 0xE000E004u
#define ST_CTRL 0xE000E010u
#define ST_LOAD 0xE000E014u
#define ST_VAL 0xE000E018u
#define ST_CALIB 0xE000E01Cu
#define NVIC_ISER 0xE000E100u
#define NVIC_ICER 0xE000E180u
#define NVIC_ISPR 0xE000E200u
#define NVIC_ICPR 0xE000E280u
#define NVIC_IABR 0xE000E300u
#define NVIC_IPR 0xE000E400u
#define SCB_CPUID 0xE000ED00u
#define SCB_ICSR 0xE000ED04u
#define SCB_VTOR 0xE000ED08u
#define SCB_AIRCR 0xE000ED0Cu
#define SCB_SCR 0xE000ED10u
#define SCB_CCR 0xE000ED14u
#define SCB_SHPR1 0xE000ED18u
#define SCB_SHCSR 0xE000ED24u
#define SCB_CFSR 0xE000ED28u
#define SCB_HFSR 0xE000ED2Cu
#define SCB_DFSR 0xE000ED30u
#define SCB_MMFAR 0xE000ED34u
#define SCB_BFAR 0xE000ED38u
#define SCB_AFSR 0xE000ED3Cu
#define SCB_CPACR 0xE000ED88u
#define CD_DEMCR 0xE000EDFCu
#define NVIC_STIR 0xE000EF00u
#define FPU_FPCCR 0xE000EF34u
#define FPU_FPCAR 0xE000EF38u
#define FPU_FPDSCR 0xE000EF3Cu
#define DWT_CTRL 0xE0001000u
#define DWT_CYCCNT 0xE0001004u
#define DBGMCU_IDCODE 0xE0042000u
#define DBGMCU_CR 0xE0042004u
#define DBGMCU_APB1FZ 0xE0042008u
#define DBGMCU_APB2FZ 0xE004200Cu

#define FLASH_SR_ADDR 0x40023C0Cu
#define IWDG_KR_ADDR 0x40003000u

#define CPUID_M4_R0P1 0x410FC241u
#define AIRCR_VECTKEY 0x05FAu
#define AIRCR_VECTKEYSTAT 0xFA05u

uint64_t vb_real_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0;
    }
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t reg_get(struct vboard *vb, int reg)
{
    uint32_t v = 0;
    uc_err e = uc_reg_read(vb->uc, reg, &v);
    if (e != UC_ERR_OK) {
        vb_stop(vb, VB_STOP_CPU, "uc_reg_read(%d): %s", reg, uc_strerror(e));
    }
    return v;
}

static void reg_set(struct vboard *vb, int reg, uint32_t v)
{
    uc_err e = uc_reg_write(vb->uc, reg, &v);
    if (e != UC_ERR_OK) {
        vb_stop(vb, VB_STOP_CPU, "uc_reg_write(%d): %s", reg, uc_strerror(e));
    }
}

static bool mem_rd32(struct vboard *vb, uint32_t addr, uint32_t *v)
{
    uint8_t b[4];
    if (uc_mem_read(vb->uc, addr, b, 4) != UC_ERR_OK) {
        return false;
    }
    *v = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
    return true;
}

static bool mem_wr32(struct vboard *vb, uint32_t addr, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return uc_mem_write(vb->uc, addr, b, 4) == UC_ERR_OK;
}

/* ---------------------------------------------------------------- time */

void vb_add_time(struct vboard *vb, uint64_t ps, enum vb_tcat cat)
{
    vb->now_ps += ps;
    vb->tcat_ps[cat] += ps;
    vb->cycles += ps / vb->cycle_ps;
}

static uint64_t st_ticks_now(const struct vboard *vb)
{
    return (vb->st_ctrl & 4u) ? vb->cycles : vb->cycles / 8u;
}

static uint64_t st_tick_ps(const struct vboard *vb)
{
    return (vb->st_ctrl & 4u) ? vb->cycle_ps : vb->cycle_ps * 8u;
}

/* Tick (absolute) of the first counter 1->0 transition strictly after tick `after`. */
static uint64_t st_next_zero(const struct vboard *vb, uint64_t after)
{
    uint64_t l = vb->st_load & 0x00FFFFFFu;
    uint64_t first;
    if (vb->st_v0 > 0) {
        first = vb->st_t0 + vb->st_v0;
    } else {
        if (l == 0) {
            return UINT64_MAX;
        }
        first = vb->st_t0 + l + 1;
    }
    if (first > after) {
        return first;
    }
    if (l == 0) {
        return UINT64_MAX;
    }
    return first + ((after - first) / (l + 1) + 1) * (l + 1);
}

static uint32_t st_value(const struct vboard *vb)
{
    if (!(vb->st_ctrl & 1u)) {
        return vb->st_v0;
    }
    uint64_t k = st_ticks_now(vb) - vb->st_t0;
    uint64_t l = vb->st_load & 0x00FFFFFFu;
    if (k < vb->st_v0) {
        return (uint32_t)(vb->st_v0 - k);
    }
    k -= vb->st_v0;
    if (l == 0) {
        return 0;
    }
    uint64_t r = k % (l + 1);
    return r == 0 ? 0 : (uint32_t)(l + 1 - r);
}

static void st_anchor(struct vboard *vb, uint32_t value)
{
    vb->st_t0 = st_ticks_now(vb);
    vb->st_v0 = value;
    vb->st_seen_ticks = vb->st_t0;
}

static void st_events(struct vboard *vb)
{
    if (!(vb->st_ctrl & 1u)) {
        return;
    }
    uint64_t now = st_ticks_now(vb);
    uint64_t z = st_next_zero(vb, vb->st_seen_ticks);
    if (z <= now) {
        vb->st_ctrl |= 0x10000u; /* COUNTFLAG */
        if (vb->st_ctrl & 2u) {
            vb_pend_exception(vb, VB_EXC_SYSTICK);
        }
        vb->st_seen_ticks = now;
    }
}

/* Earliest event (SysTick underflow, peripherals, the time limit); with_w5500 false leaves out
 * the W5500 poll, which changes nothing the core sees without an SPI access. */
static uint64_t next_event(struct vboard *vb, bool with_w5500)
{
    uint64_t next = vb_periph_next_event(vb, with_w5500);
    if (vb->st_ctrl & 1u) {
        uint64_t now = st_ticks_now(vb);
        uint64_t z = st_next_zero(vb, vb->st_seen_ticks > now ? vb->st_seen_ticks : now);
        if (z != UINT64_MAX) {
            uint64_t t = vb->now_ps + (z - now) * st_tick_ps(vb);
            if (t < next) {
                next = t;
            }
        }
    }
    uint64_t limit = vb->opt.timeout_ms * 1000000000ull;
    if (limit < next) {
        next = limit;
    }
    return next;
}

void vb_reschedule(struct vboard *vb)
{
    vb->next_event_ps = next_event(vb, true);
}

static void process_events(struct vboard *vb)
{
    st_events(vb);
    vb_periph_events(vb);
    if (vb->now_ps >= vb->opt.timeout_ms * 1000000000ull && vb->stop == VB_RUNNING) {
        if (vb->opt.stop_on != NULL) {
            vb_stop(vb, VB_STOP_TIMEOUT,
                    "timeout: %llu ms of virtual time without \"%s\" (pc 0x%08x)",
                    (unsigned long long)vb->opt.timeout_ms, vb->opt.stop_on, vb->pc);
        } else {
            vb_stop(vb, VB_STOP_CONDITION, "ran for %llu ms of virtual time",
                    (unsigned long long)vb->opt.timeout_ms);
        }
    }
    vb_reschedule(vb);
}

void vb_advance_to(struct vboard *vb, uint64_t target_ps, enum vb_tcat cat)
{
    while (vb->now_ps < target_ps && !vb->halting) {
        uint64_t step_to = target_ps < vb->next_event_ps ? target_ps : vb->next_event_ps;
        if (step_to > vb->now_ps) {
            vb_add_time(vb, step_to - vb->now_ps, cat);
        }
        if (vb->now_ps >= vb->next_event_ps) {
            process_events(vb);
        }
    }
}

/*
 * Pacing exemption (docs/vboard.md "Pacing rule"): flash time during which the core cannot reach
 * the W5500 (a fetch or store stalled by BSY, or passes of a BSY polling loop jumped over) does not
 * count against real time. Called before advancing from now to until_ps.
 */
void vb_pace_exempt(struct vboard *vb, uint64_t until_ps)
{
    if (vb->pace_active && until_ps > vb->now_ps) {
        uint64_t ps = until_ps - vb->now_ps;
        vb->pace_v0_ps += ps;
        vb->pace_exempt_ps += ps;
    }
}

/*
 * BSY polling fast-forward (docs/vboard.md "Time model"). Called at a FLASH_SR read that sees BSY.
 * A loop is recognised when four such reads in a row come from the same instruction, the same
 * number of cycles and instructions apart, with no other device access in between except IWDG
 * reloads (KR = 0xAAAA) and SysTick CTRL reads. Until the next event the core can see (flash end,
 * SysTick underflow, IWDG expiry, button, power cut, UART RX poll, time limit; not the W5500 poll)
 * every pass reads the same values, so whole passes are skipped: time moves by a multiple of the
 * period, charged as cpu, and the pass that observes the event runs at the same virtual time as
 * without the jump. The loop's own counters in registers or RAM are not advanced.
 */
void vb_ff_flash_sr_read(struct vboard *vb)
{
    uint64_t cyc = vb->cycles + (vb->icount - vb->icount_accounted);
    if (vb->ffp_valid && vb->ffp_clean && vb->ffp_pc == vb->pc) {
        uint64_t period = cyc - vb->ffp_cyc;
        uint64_t insns = vb->icount - vb->ffp_icount;
        if (period == vb->ffp_period && insns == vb->ffp_insns) {
            vb->ffp_matches++;
        } else {
            vb->ffp_period = period;
            vb->ffp_insns = insns;
            vb->ffp_matches = 0;
        }
    } else {
        vb->ffp_matches = 0;
        vb->ffp_period = 0;
    }
    vb->ffp_valid = true;
    vb->ffp_clean = true;
    vb->ffp_pc = vb->pc;
    vb->ffp_cyc = cyc;
    vb->ffp_icount = vb->icount;
    if (vb->opt.no_ff || vb->halting || vb->ffp_matches < 2 || vb->ffp_period == 0) {
        return;
    }
    uint64_t horizon = next_event(vb, false);
    uint64_t per_ps = vb->ffp_period * vb->cycle_ps;
    if (horizon == UINT64_MAX || horizon <= vb->now_ps + 1u) {
        return;
    }
    /* Passes 0..k (this one and the k skipped) all end before the event. */
    uint64_t k = (horizon - 1u - vb->now_ps) / per_ps;
    if (k < 2) {
        return;
    }
    k -= 1;
    uint64_t skip = k * per_ps;
    vb->ff_ps += skip;
    vb->ff_jumps++;
    vb->ff_insns += k * vb->ffp_insns;
    vb->ffp_cyc += k * vb->ffp_period;
    vb_pace_exempt(vb, vb->now_ps + skip);
    uint64_t cycles_after = vb->cycles + k * vb->ffp_period;
    vb_advance_to(vb, vb->now_ps + skip, VB_T_CPU);
    if (!vb->halting) {
        /* vb_advance_to counts cycles per step between events, rounding each step down: the
         * passes jumped over are whole cycles, as if they had run. */
        vb->cycles = cycles_after;
        vb_reschedule(vb);
    }
}

/* ---------------------------------------------------------------- NVIC */

static int group_mask(const struct vboard *vb)
{
    /* PRIGROUP n: bits [n:0] are sub-priority. */
    return (int)(0xFFu & ~((2u << vb->aircr_prigroup) - 1u));
}

static int exc_prio(const struct vboard *vb, int exc)
{
    if (exc == 1) {
        return -3;
    }
    if (exc == VB_EXC_NMI) {
        return -2;
    }
    if (exc == VB_EXC_HARDFAULT) {
        return -1;
    }
    return vb->nv_prio[exc];
}

static int exc_group_prio(const struct vboard *vb, int exc)
{
    int p = exc_prio(vb, exc);
    return p < 0 ? p : (p & group_mask(vb));
}

/* Execution priority; with_primask=false gives the WFI wake-up threshold. */
static int exec_prio(struct vboard *vb, bool with_primask)
{
    int prio = 256;
    for (int e = 2; e < VB_NUM_EXC; e++) {
        if (vb->nv_active[e]) {
            int g = exc_group_prio(vb, e);
            if (g < prio) {
                prio = g;
            }
        }
    }
    uint32_t basepri = reg_get(vb, UC_ARM_REG_BASEPRI) & 0xF0u;
    if (basepri != 0 && (int)(basepri & (uint32_t)group_mask(vb)) < prio) {
        prio = (int)(basepri & (uint32_t)group_mask(vb));
    }
    if (with_primask) {
        if ((reg_get(vb, UC_ARM_REG_PRIMASK) & 1u) && prio > 0) {
            prio = 0;
        }
        if ((reg_get(vb, UC_ARM_REG_FAULTMASK) & 1u) && prio > -1) {
            prio = -1;
        }
    }
    return prio;
}

static bool exc_enabled(const struct vboard *vb, int exc)
{
    if (exc >= 16 && exc < VB_NUM_EXC) {
        return vb->nv_enabled[exc];
    }
    return true;
}

/* Highest-priority pending exception that is enabled, or 0. */
static int best_pending(struct vboard *vb)
{
    int best = 0;
    for (int e = 2; e < VB_NUM_EXC; e++) {
        if (!vb->nv_pending[e] || !exc_enabled(vb, e)) {
            continue;
        }
        if (best == 0 || exc_group_prio(vb, e) < exc_group_prio(vb, best) ||
            (exc_group_prio(vb, e) == exc_group_prio(vb, best) &&
             exc_prio(vb, e) < exc_prio(vb, best))) {
            best = e;
        }
    }
    return best;
}

void vb_set_irq_level(struct vboard *vb, int irq, bool level)
{
    if (irq < 0 || irq >= VB_NUM_IRQ) {
        return;
    }
    bool changed = vb->irq_level[irq] != level;
    vb->irq_level[irq] = level;
    if (level && !vb->nv_active[16 + irq] && !vb->nv_pending[16 + irq]) {
        vb->nv_pending[16 + irq] = true;
        changed = true;
    }
    if (changed) {
        vb->exc_dirty = true;
    }
}

void vb_pend_exception(struct vboard *vb, int exc)
{
    if (exc > 0 && exc < VB_NUM_EXC) {
        vb->nv_pending[exc] = true;
        vb->exc_dirty = true;
    }
}

/* A synchronous fault: its own handler if enabled and able to preempt, else HardFault (FORCED). */
static void raise_fault(struct vboard *vb, int exc, uint32_t cfsr_bits)
{
    vb->cfsr |= cfsr_bits;
    bool enabled = (exc == VB_EXC_MEMMANAGE && (vb->shcsr & (1u << 16))) ||
                   (exc == VB_EXC_BUSFAULT && (vb->shcsr & (1u << 17))) ||
                   (exc == VB_EXC_USAGEFAULT && (vb->shcsr & (1u << 18))) || exc == VB_EXC_SVCALL;
    int prio = exec_prio(vb, true);
    if (enabled && exc_group_prio(vb, exc) < prio) {
        vb_pend_exception(vb, exc);
        return;
    }
    if (prio <= -1) {
        vb_stop(vb, VB_STOP_CPU, "lockup: fault (exception %d) while in HardFault/NMI at pc 0x%08x",
                exc, vb->pc);
        return;
    }
    vb->hfsr |= 1u << 30; /* FORCED */
    vb_pend_exception(vb, VB_EXC_HARDFAULT);
}

void vb_bus_fault(struct vboard *vb, uint32_t addr, bool precise)
{
    if (precise) {
        vb->bfar = addr;
        raise_fault(vb, VB_EXC_BUSFAULT, (1u << 9) | (1u << 15)); /* PRECISERR, BFARVALID */
    } else {
        raise_fault(vb, VB_EXC_BUSFAULT, 1u << 10); /* IMPRECISERR */
    }
}

static void exc_enter(struct vboard *vb, int exc, uint32_t ret_addr)
{
    static const int core[8] = {UC_ARM_REG_R0, UC_ARM_REG_R1, UC_ARM_REG_R2, UC_ARM_REG_R3,
                                UC_ARM_REG_R12, UC_ARM_REG_LR, UC_ARM_REG_PC, UC_ARM_REG_XPSR};
    uint32_t frame[26];
    for (int i = 0; i < 8; i++) {
        frame[i] = (i == 6) ? (ret_addr & ~1u) : reg_get(vb, core[i]);
    }
    uint32_t control = reg_get(vb, UC_ARM_REG_CONTROL);
    uint32_t msp = reg_get(vb, UC_ARM_REG_MSP);
    uint32_t psp = reg_get(vb, UC_ARM_REG_PSP);
    bool thread = (frame[7] & 0x1FFu) == 0;
    bool use_psp = thread && (control & CONTROL_SPSEL);
    bool fp = (control & CONTROL_FPCA) != 0;
    uint32_t size = fp ? 0x68u : 0x20u;
    if (fp) {
        for (int i = 0; i < 16; i++) {
            frame[8 + i] = reg_get(vb, UC_ARM_REG_S0 + i);
        }
        frame[24] = reg_get(vb, UC_ARM_REG_FPSCR);
        frame[25] = 0;
    }
    uint32_t sp = use_psp ? psp : msp;
    uint32_t newsp = sp - size;
    if (newsp & 4u) { /* CCR.STKALIGN: 8-byte aligned frame, remembered in xPSR bit 9 */
        newsp -= 4u;
        frame[7] |= XPSR_ALIGN;
    } else {
        frame[7] &= ~XPSR_ALIGN;
    }
    for (uint32_t i = 0; i < size / 4u; i++) {
        if (!mem_wr32(vb, newsp + 4u * i, frame[i])) {
            vb_stop(vb, VB_STOP_CPU, "stacking for exception %d failed at 0x%08x (sp 0x%08x)", exc,
                    newsp + 4u * i, sp);
            return;
        }
    }
    uint32_t vector;
    if (!mem_rd32(vb, vb->vtor + 4u * (uint32_t)exc, &vector)) {
        vb_stop(vb, VB_STOP_UNMODELLED, "vector fetch for exception %d at 0x%08x is unmapped", exc,
                vb->vtor + 4u * (uint32_t)exc);
        return;
    }
    if (!(vector & 1u)) {
        vb_stop(vb, VB_STOP_CPU,
                "vector for exception %d (0x%08x at 0x%08x) has bit 0 clear (INVSTATE)", exc,
                vector, vb->vtor + 4u * (uint32_t)exc);
        return;
    }
    if (use_psp) {
        psp = newsp;
    } else {
        msp = newsp;
    }
    uint32_t exc_return = 0xFFFFFFE1u | (fp ? 0u : 0x10u) | (thread ? 0x8u : 0u) |
                          (use_psp ? 0x4u : 0u);
    vb->nv_pending[exc] = false;
    vb->nv_active[exc] = true;
    vb->ffp_valid = false;
    uint32_t xpsr = (frame[7] & 0xF80F0000u & ~0x0600FC00u) | XPSR_T | (uint32_t)exc;
    reg_set(vb, UC_ARM_REG_XPSR, xpsr);
    reg_set(vb, UC_ARM_REG_CONTROL, control & ~(CONTROL_SPSEL | CONTROL_FPCA));
    reg_set(vb, UC_ARM_REG_MSP, msp);
    reg_set(vb, UC_ARM_REG_PSP, psp);
    reg_set(vb, UC_ARM_REG_LR, exc_return);
    reg_set(vb, UC_ARM_REG_PC, vector);
    if (vb->opt.trace_irq) {
        vb_log(vb, "exception %d entered from 0x%08x (frame %u bytes at 0x%08x)", exc, ret_addr,
               size, newsp);
    }
}

static void exc_return(struct vboard *vb, uint32_t pc)
{
    uint32_t xpsr_now = reg_get(vb, UC_ARM_REG_XPSR);
    int exc = (int)(xpsr_now & 0x1FFu);
    uint32_t er = pc | 1u;
    if (exc == 0 || (er != 0xFFFFFFF1u && er != 0xFFFFFFF9u && er != 0xFFFFFFFDu &&
                     er != 0xFFFFFFE1u && er != 0xFFFFFFE9u && er != 0xFFFFFFEDu)) {
        vb_stop(vb, VB_STOP_CPU, "invalid exception return 0x%08x in mode %d (near pc 0x%08x)", er,
                exc, vb->pc);
        return;
    }
    if (!vb->nv_active[exc]) {
        vb_stop(vb, VB_STOP_CPU, "exception return from inactive exception %d", exc);
        return;
    }
    vb->nv_active[exc] = false;
    vb->ffp_valid = false;
    bool to_thread = (er & 0x8u) != 0;
    bool use_psp = (er & 0x4u) != 0;
    bool fp = (er & 0x10u) == 0;
    uint32_t msp = reg_get(vb, UC_ARM_REG_MSP);
    uint32_t psp = reg_get(vb, UC_ARM_REG_PSP);
    uint32_t sp = use_psp ? psp : msp;
    uint32_t size = fp ? 0x68u : 0x20u;
    uint32_t frame[26];
    for (uint32_t i = 0; i < size / 4u; i++) {
        if (!mem_rd32(vb, sp + 4u * i, &frame[i])) {
            vb_stop(vb, VB_STOP_CPU, "unstacking failed at 0x%08x", sp + 4u * i);
            return;
        }
    }
    if (frame[7] & XPSR_ALIGN) {
        size += 4u;
    }
    if (use_psp) {
        psp = sp + size;
    } else {
        msp = sp + size;
    }
    int new_mode = (int)(frame[7] & 0x1FFu);
    if (to_thread != (new_mode == 0)) {
        vb_stop(vb, VB_STOP_CPU, "exception return 0x%08x: stacked IPSR %d does not match", er,
                new_mode);
        return;
    }
    uint32_t control = reg_get(vb, UC_ARM_REG_CONTROL);
    control &= ~(CONTROL_SPSEL | CONTROL_FPCA);
    if (to_thread && use_psp) {
        control |= CONTROL_SPSEL;
    }
    if (fp) {
        control |= CONTROL_FPCA;
        for (int i = 0; i < 16; i++) {
            reg_set(vb, UC_ARM_REG_S0 + i, frame[8 + i]);
        }
        reg_set(vb, UC_ARM_REG_FPSCR, frame[24]);
    }
    reg_set(vb, UC_ARM_REG_XPSR, (frame[7] & ~XPSR_ALIGN) | XPSR_T);
    reg_set(vb, UC_ARM_REG_CONTROL, control);
    reg_set(vb, UC_ARM_REG_MSP, msp);
    reg_set(vb, UC_ARM_REG_PSP, psp);
    reg_set(vb, UC_ARM_REG_R0, frame[0]);
    reg_set(vb, UC_ARM_REG_R1, frame[1]);
    reg_set(vb, UC_ARM_REG_R2, frame[2]);
    reg_set(vb, UC_ARM_REG_R3, frame[3]);
    reg_set(vb, UC_ARM_REG_R12, frame[4]);
    reg_set(vb, UC_ARM_REG_LR, frame[5]);
    reg_set(vb, UC_ARM_REG_PC, frame[6] | 1u);
    /* A level-sensitive line still asserted pends again. */
    if (exc >= 16 && vb->irq_level[exc - 16]) {
        vb->nv_pending[exc] = true;
    }
    vb->exc_dirty = true;
    if (vb->opt.trace_irq) {
        vb_log(vb, "exception %d returned to 0x%08x", exc, frame[6]);
    }
}

static void read_masks(struct vboard *vb, uint32_t m[3])
{
    m[0] = reg_get(vb, UC_ARM_REG_PRIMASK);
    m[1] = reg_get(vb, UC_ARM_REG_BASEPRI);
    m[2] = reg_get(vb, UC_ARM_REG_FAULTMASK);
}

static void try_take(struct vboard *vb, uint32_t ret_addr)
{
    vb->exc_dirty = false;
    vb->exc_blocked = false;
    int e = best_pending(vb);
    if (e == 0) {
        return; /* look again only after an NVIC/SCB change or a new pend */
    }
    if (exc_group_prio(vb, e) < exec_prio(vb, true)) {
        exc_enter(vb, e, ret_addr);
        return;
    }
    /* Masked by priority or PRIMASK/BASEPRI/FAULTMASK: the masks change without any hook. */
    vb->exc_blocked = true;
    read_masks(vb, vb->blocked_masks);
}

/* ---------------------------------------------------------------- hooks */

static void hook_code(uc_engine *uc, uint64_t addr, uint32_t size, void *user)
{
    (void)uc;
    (void)size;
    struct vboard *vb = user;
    if (vb->fl.restore_pending) {
        vb_flash_restore(vb);
    }
    vb->pc = (uint32_t)addr;
    vb->icount++;
}

static bool in_flash(uint32_t a)
{
    return (a >= VB_FLASH_BASE && a < VB_FLASH_BASE + VB_FLASH_SIZE) || a < VB_FLASH_SIZE;
}

static void hook_block(uc_engine *uc, uint64_t addr64, uint32_t size, void *user)
{
    struct vboard *vb = user;
    uint32_t addr = (uint32_t)addr64;
    if (vb->fl.restore_pending) {
        vb_flash_restore(vb);
    }
    if (vb->halting) {
        (void)uc_emu_stop(uc);
        return;
    }
    /* CPU time: 1 cycle per instruction, plus LATENCY wait states per 16-byte flash line fetched
     * when the ART instruction cache (ACR.ICEN) is off. */
    uint64_t n = vb->icount - vb->icount_accounted;
    vb->icount_accounted = vb->icount;
    uint64_t cyc = n;
    if (in_flash(addr) && !(vb->fl.acr & (1u << 9))) {
        cyc += (uint64_t)(vb->fl.acr & 0xFu) * ((size + 15u) / 16u);
    }
    vb->now_ps += cyc * vb->cycle_ps;
    vb->tcat_ps[VB_T_CPU] += cyc * vb->cycle_ps;
    vb->cycles += cyc;
    /* Fetches from flash stall while a program/erase runs (single bank). */
    if (vb->fl.busy && in_flash(addr)) {
        vb_pace_exempt(vb, vb->fl.busy_end_ps);
        vb_advance_to(vb, vb->fl.busy_end_ps, VB_T_FLASH);
    }
    if (vb->now_ps >= vb->next_event_ps) {
        process_events(vb);
    }
    if (vb->halting) {
        (void)uc_emu_stop(uc);
        return;
    }
    vb->last_block = addr;
    if (in_flash(addr)) {
        uint32_t off = (addr >= VB_FLASH_BASE ? addr - VB_FLASH_BASE : addr);
        if (off < VB_FLASH_SIZE) {
            vb->code_page[off >> 12] = 1;
        }
        if (off + size - 1u < VB_FLASH_SIZE) {
            vb->code_page[(off + size - 1u) >> 12] = 1;
        }
    }
    if (vb->exc_dirty) {
        try_take(vb, addr);
    } else if (vb->exc_blocked) {
        uint32_t m[3];
        read_masks(vb, m);
        if (m[0] != vb->blocked_masks[0] || m[1] != vb->blocked_masks[1] ||
            m[2] != vb->blocked_masks[2]) {
            try_take(vb, addr);
        }
    }
}

static void hook_intr(uc_engine *uc, uint32_t intno, void *user)
{
    struct vboard *vb = user;
    uint32_t pc = reg_get(vb, UC_ARM_REG_PC);
    if ((intno == 3 || intno == 8) && (pc & EXC_RETURN_PAGE) == EXC_RETURN_PAGE) {
        exc_return(vb, pc);
        return;
    }
    switch (intno) {
    case 2: /* SVC: PC is past the instruction already */
        raise_fault(vb, VB_EXC_SVCALL, 0);
        break;
    case 7: { /* BKPT */
        uint8_t b[2] = {0, 0};
        if (uc_mem_read(uc, vb->pc, b, 2) != UC_ERR_OK) {
            b[0] = 0;
        }
        vb_stop(vb, VB_STOP_BKPT, "BKPT #%u at pc 0x%08x", b[0], vb->pc);
        break;
    }
    case 1: /* UDEF */
        raise_fault(vb, VB_EXC_USAGEFAULT, 1u << 16);
        break;
    case 17: /* NOCP */
        raise_fault(vb, VB_EXC_USAGEFAULT, 1u << 19);
        break;
    case 18: /* INVSTATE */
        raise_fault(vb, VB_EXC_USAGEFAULT, 1u << 17);
        break;
    case 22: /* UNALIGNED */
        raise_fault(vb, VB_EXC_USAGEFAULT, 1u << 24);
        break;
    default:
        vb_stop(vb, VB_STOP_CPU, "CPU exception (Unicorn intno %u) at pc 0x%08x", intno, vb->pc);
        break;
    }
    if (vb->halting) {
        (void)uc_emu_stop(uc);
    }
}

static bool hook_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                          void *user)
{
    (void)uc;
    (void)value;
    struct vboard *vb = user;
    if (type == UC_MEM_FETCH_UNMAPPED) {
        vb_stop(vb, VB_STOP_UNMODELLED, "instruction fetch from unmapped address 0x%08x",
                (uint32_t)addr);
    } else {
        vb_unmodelled(vb, (uint32_t)addr, (unsigned)size, type == UC_MEM_WRITE_UNMAPPED);
    }
    return false;
}

static bool hook_wprot(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                       void *user)
{
    (void)uc;
    (void)type;
    struct vboard *vb = user;
    uint32_t a = (uint32_t)addr;
    vb->ffp_clean = false;
    if (in_flash(a)) {
        if (a < VB_FLASH_SIZE) {
            a += VB_FLASH_BASE; /* boot alias */
        }
        struct vb_flash *f = &vb->fl;
        uint32_t off = a - VB_FLASH_BASE;
        /* One store instruction may reach this hook twice (an unaligned access split in bytes):
         * it is one bus write. */
        bool repeat = f->last_store_icount == vb->icount && a >= f->last_store_addr &&
                      a < f->last_store_addr + f->last_store_size;
        if (!repeat) {
            f->last_store_icount = vb->icount;
            f->last_store_addr = a;
            f->last_store_size = (uint32_t)size;
            if (!vb->halting) {
                (void)vb_flash_store(vb, a, (unsigned)size, (uint32_t)value);
                vb_reschedule(vb);
            }
        }
        /* Snapshot after the model ran (a power cut may have changed the array already). */
        if (size > 0 && size <= 8 && off + (uint32_t)size <= VB_FLASH_SIZE && !f->restore_pending) {
            f->restore_pending = true;
            f->restore_off = off;
            f->restore_len = (uint32_t)size;
            memcpy(f->restore_bytes, f->mem + off, (size_t)size);
        }
        return true;
    }
    vb_unmodelled(vb, a, (unsigned)size, true);
    return false;
}

/* ---------------------------------------------------------------- MMIO windows */

static uint32_t lane_mask(uint32_t addr, unsigned size)
{
    uint32_t m = size >= 4 ? 0xFFFFFFFFu : ((1u << (8u * size)) - 1u);
    return m << (8u * (addr & 3u));
}

static bool access_ok(struct vboard *vb, uint32_t addr, unsigned size, bool write)
{
    if ((size != 1 && size != 2 && size != 4) || (addr & (size - 1u)) != 0) {
        vb_stop(vb, VB_STOP_UNMODELLED, "unaligned %u-byte %s of device register 0x%08x at pc 0x%08x",
                size, write ? "write" : "read", addr, vb->pc);
        return false;
    }
    return true;
}

static uint64_t mmio_periph_rd(uc_engine *uc, uint64_t off, unsigned size, void *user)
{
    (void)uc;
    struct vboard *vb = user;
    uint32_t addr = VB_PERIPH_BASE + (uint32_t)off;
    if (addr != FLASH_SR_ADDR) {
        vb->ffp_clean = false;
    }
    if (vb->halting || !access_ok(vb, addr, size, false)) {
        return 0;
    }
    uint32_t w = vb_periph_read(vb, addr & ~3u, size);
    return (w & lane_mask(addr, size)) >> (8u * (addr & 3u));
}

static void mmio_periph_wr(uc_engine *uc, uint64_t off, unsigned size, uint64_t value, void *user)
{
    (void)uc;
    struct vboard *vb = user;
    uint32_t addr = VB_PERIPH_BASE + (uint32_t)off;
    if (addr != IWDG_KR_ADDR || (value & 0xFFFFu) != 0xAAAAu) {
        vb->ffp_clean = false; /* an IWDG reload changes nothing a polling loop sees */
    }
    if (vb->halting || !access_ok(vb, addr, size, true)) {
        return;
    }
    uint32_t v = (uint32_t)value << (8u * (addr & 3u));
    vb_periph_write(vb, addr & ~3u, v, lane_mask(addr, size), size);
    vb_reschedule(vb);
}

static uint64_t mmio_ppb_rd(uc_engine *uc, uint64_t off, unsigned size, void *user)
{
    (void)uc;
    struct vboard *vb = user;
    uint32_t addr = VB_PPB_BASE + (uint32_t)off;
    if (addr != ST_CTRL) {
        vb->ffp_clean = false; /* COUNTFLAG changes only at an underflow, an event */
    }
    if (vb->halting || !access_ok(vb, addr, size, false)) {
        return 0;
    }
    uint32_t w = vb_ppb_read(vb, addr & ~3u);
    return (w & lane_mask(addr, size)) >> (8u * (addr & 3u));
}

static void mmio_ppb_wr(uc_engine *uc, uint64_t off, unsigned size, uint64_t value, void *user)
{
    (void)uc;
    struct vboard *vb = user;
    uint32_t addr = VB_PPB_BASE + (uint32_t)off;
    vb->ffp_clean = false;
    if (vb->halting || !access_ok(vb, addr, size, true)) {
        return;
    }
    vb_ppb_write(vb, addr & ~3u, (uint32_t)value << (8u * (addr & 3u)), lane_mask(addr, size));
    vb_reschedule(vb);
}

static uint64_t mmio_sys_rd(uc_engine *uc, uint64_t off, unsigned size, void *user)
{
    (void)uc;
    struct vboard *vb = user;
    vb->ffp_clean = false;
    if (vb->halting) {
        return 0;
    }
    return vb_sysmem_read(vb, VB_SYSMEM_PAGE + (uint32_t)off, size);
}

static void mmio_sys_wr(uc_engine *uc, uint64_t off, unsigned size, uint64_t value, void *user)
{
    (void)uc;
    (void)value;
    struct vboard *vb = user;
    vb_unmodelled(vb, VB_SYSMEM_PAGE + (uint32_t)off, size, true);
}

/* Bit-band: alias word n -> bit (n % 8) of byte (n / 8) of the region (stm32f446.md §1.1). */
static uint64_t mmio_bb_rd(uc_engine *uc, uint64_t off, unsigned size, void *user)
{
    (void)uc;
    (void)size;
    struct vboard *vb = user;
    if (vb->halting) {
        return 0;
    }
    uint32_t byte = (uint32_t)off >> 5;
    uint32_t pos = (byte & 3u) * 8u + (((uint32_t)off >> 2) & 7u);
    if (((VB_PERIPH_BASE + byte) & ~3u) != FLASH_SR_ADDR) {
        vb->ffp_clean = false;
    }
    uint32_t w = vb_periph_read(vb, (VB_PERIPH_BASE + byte) & ~3u, 4);
    return (w >> pos) & 1u;
}

static void mmio_bb_wr(uc_engine *uc, uint64_t off, unsigned size, uint64_t value, void *user)
{
    (void)uc;
    (void)size;
    struct vboard *vb = user;
    vb->ffp_clean = false;
    if (vb->halting) {
        return;
    }
    uint32_t byte = (uint32_t)off >> 5;
    uint32_t pos = (byte & 3u) * 8u + (((uint32_t)off >> 2) & 7u);
    vb_periph_write(vb, (VB_PERIPH_BASE + byte) & ~3u, (uint32_t)(value & 1u) << pos, 1u << pos, 4);
    vb_reschedule(vb);
}

static uint64_t mmio_bbs_rd(uc_engine *uc, uint64_t off, unsigned size, void *user)
{
    (void)uc;
    (void)size;
    struct vboard *vb = user;
    uint32_t byte = (uint32_t)off >> 5;
    return (vb->sram[byte] >> (((uint32_t)off >> 2) & 7u)) & 1u;
}

static void mmio_bbs_wr(uc_engine *uc, uint64_t off, unsigned size, uint64_t value, void *user)
{
    (void)uc;
    (void)size;
    struct vboard *vb = user;
    uint32_t byte = (uint32_t)off >> 5;
    uint8_t m = (uint8_t)(1u << (((uint32_t)off >> 2) & 7u));
    if (value & 1u) {
        vb->sram[byte] |= m;
    } else {
        vb->sram[byte] &= (uint8_t)~m;
    }
}

/* ---------------------------------------------------------------- SCS registers */

static uint32_t icsr_read(struct vboard *vb)
{
    uint32_t v = 0;
    int act = (int)(reg_get(vb, UC_ARM_REG_IPSR) & 0x1FFu);
    v |= (uint32_t)act;
    int p = best_pending(vb);
    v |= (uint32_t)p << 12;
    bool isrpending = false;
    for (int i = 0; i < VB_NUM_IRQ; i++) {
        if (vb->nv_pending[16 + i]) {
            isrpending = true;
        }
    }
    if (isrpending) {
        v |= 1u << 22;
    }
    int nact = 0;
    for (int e = 2; e < VB_NUM_EXC; e++) {
        nact += vb->nv_active[e] ? 1 : 0;
    }
    if (nact <= 1) {
        v |= 1u << 11; /* RETTOBASE */
    }
    if (vb->nv_pending[VB_EXC_SYSTICK]) {
        v |= 1u << 26;
    }
    if (vb->nv_pending[VB_EXC_PENDSV]) {
        v |= 1u << 28;
    }
    if (vb->nv_pending[VB_EXC_NMI]) {
        v |= 1u << 31;
    }
    return v;
}

static uint32_t bits_of(const bool *arr, int first_irq)
{
    uint32_t v = 0;
    for (int b = 0; b < 32; b++) {
        int irq = first_irq + b;
        if (irq < VB_NUM_IRQ && arr[16 + irq]) {
            v |= 1u << b;
        }
    }
    return v;
}

uint32_t vb_ppb_read(struct vboard *vb, uint32_t a)
{
    if (a >= NVIC_ISER && a < NVIC_ISER + 32) {
        return bits_of(vb->nv_enabled, (int)((a - NVIC_ISER) / 4u) * 32);
    }
    if (a >= NVIC_ICER && a < NVIC_ICER + 32) {
        return bits_of(vb->nv_enabled, (int)((a - NVIC_ICER) / 4u) * 32);
    }
    if (a >= NVIC_ISPR && a < NVIC_ISPR + 32) {
        return bits_of(vb->nv_pending, (int)((a - NVIC_ISPR) / 4u) * 32);
    }
    if (a >= NVIC_ICPR && a < NVIC_ICPR + 32) {
        return bits_of(vb->nv_pending, (int)((a - NVIC_ICPR) / 4u) * 32);
    }
    if (a >= NVIC_IABR && a < NVIC_IABR + 32) {
        return bits_of(vb->nv_active, (int)((a - NVIC_IABR) / 4u) * 32);
    }
    if (a >= NVIC_IPR && a < NVIC_IPR + 0xF0u) {
        uint32_t v = 0;
        for (uint32_t i = 0; i < 4; i++) {
            uint32_t irq = a - NVIC_IPR + i;
            if (irq < VB_NUM_IRQ) {
                v |= (uint32_t)vb->nv_prio[16 + irq] << (8u * i);
            }
        }
        return v;
    }
    if (a >= SCB_SHPR1 && a < SCB_SHPR1 + 12) {
        uint32_t v = 0;
        for (uint32_t i = 0; i < 4; i++) {
            uint32_t exc = 4u + (a - SCB_SHPR1) + i;
            v |= (uint32_t)vb->nv_prio[exc] << (8u * i);
        }
        return v;
    }
    switch (a) {
    case SCS_ICTR:
        return 3; /* (INTLINESNUM + 1) * 32 >= 97 lines */
    case ST_CTRL: {
        uint32_t v = vb->st_ctrl;
        vb->st_ctrl &= ~0x10000u; /* COUNTFLAG clears on read */
        return v;
    }
    case ST_LOAD:
        return vb->st_load;
    case ST_VAL:
        return st_value(vb);
    case ST_CALIB:
        return 18750u; /* stm32f446.md §4.6; NOREF/SKEW bits unconfirmed, read as 0 */
    case SCB_CPUID:
        return CPUID_M4_R0P1;
    case SCB_ICSR:
        return icsr_read(vb);
    case SCB_VTOR:
        return vb->vtor;
    case SCB_AIRCR:
        return (AIRCR_VECTKEYSTAT << 16) | (vb->aircr_prigroup << 8);
    case SCB_SCR:
        return vb->scr;
    case SCB_CCR:
        return vb->ccr;
    case SCB_SHCSR: {
        uint32_t v = vb->shcsr & 0x00070000u;
        v |= vb->nv_active[VB_EXC_MEMMANAGE] ? 1u : 0u;
        v |= vb->nv_active[VB_EXC_BUSFAULT] ? 2u : 0u;
        v |= vb->nv_active[VB_EXC_USAGEFAULT] ? 8u : 0u;
        v |= vb->nv_active[VB_EXC_SVCALL] ? 0x80u : 0u;
        v |= vb->nv_active[VB_EXC_PENDSV] ? 0x400u : 0u;
        v |= vb->nv_active[VB_EXC_SYSTICK] ? 0x800u : 0u;
        v |= vb->nv_pending[VB_EXC_USAGEFAULT] ? 0x1000u : 0u;
        v |= vb->nv_pending[VB_EXC_MEMMANAGE] ? 0x2000u : 0u;
        v |= vb->nv_pending[VB_EXC_BUSFAULT] ? 0x4000u : 0u;
        v |= vb->nv_pending[VB_EXC_SVCALL] ? 0x8000u : 0u;
        return v;
    }
    case SCB_CFSR:
        return vb->cfsr;
    case SCB_HFSR:
        return vb->hfsr;
    case SCB_DFSR:
    case SCB_AFSR:
        return 0;
    case SCB_MMFAR:
        return vb->mmfar;
    case SCB_BFAR:
        return vb->bfar;
    case SCB_CPACR:
        return vb->cpacr;
    case CD_DEMCR:
        return vb->demcr;
    case FPU_FPCCR:
        return vb->fpccr;
    case FPU_FPCAR:
        return vb->fpcar;
    case FPU_FPDSCR:
        return vb->fpdscr;
    case DWT_CTRL:
        return vb->dwt_ctrl;
    case DWT_CYCCNT:
        return (vb->dwt_ctrl & 1u) ? (uint32_t)(vb->cycles - vb->dwt_base_cycles)
                                   : (uint32_t)vb->dwt_base_cycles;
    case DBGMCU_IDCODE:
        return 0x10000421u; /* DEV_ID 0x421 (F446, unconfirmed), REV_ID 0x1000 (assumed) */
    case DBGMCU_CR:
        return vb->dbg_cr;
    case DBGMCU_APB1FZ:
        return vb->dbg_apb1fz;
    case DBGMCU_APB2FZ:
        return vb->dbg_apb2fz;
    default:
        vb_unmodelled(vb, a, 4, false);
        return 0;
    }
}

static void set_bits(bool *arr, int first_irq, uint32_t bits, bool val)
{
    for (int b = 0; b < 32; b++) {
        int irq = first_irq + b;
        if ((bits & (1u << b)) && irq < VB_NUM_IRQ) {
            arr[16 + irq] = val;
        }
    }
}

static uint32_t merge(uint32_t old, uint32_t v, uint32_t mask)
{
    return (old & ~mask) | (v & mask);
}

void vb_ppb_write(struct vboard *vb, uint32_t a, uint32_t v, uint32_t mask)
{
    v &= mask;
    vb->exc_dirty = true;
    if (a >= NVIC_ISER && a < NVIC_ISER + 32) {
        set_bits(vb->nv_enabled, (int)((a - NVIC_ISER) / 4u) * 32, v, true);
        return;
    }
    if (a >= NVIC_ICER && a < NVIC_ICER + 32) {
        set_bits(vb->nv_enabled, (int)((a - NVIC_ICER) / 4u) * 32, v, false);
        return;
    }
    if (a >= NVIC_ISPR && a < NVIC_ISPR + 32) {
        set_bits(vb->nv_pending, (int)((a - NVIC_ISPR) / 4u) * 32, v, true);
        return;
    }
    if (a >= NVIC_ICPR && a < NVIC_ICPR + 32) {
        set_bits(vb->nv_pending, (int)((a - NVIC_ICPR) / 4u) * 32, v, false);
        return;
    }
    if (a >= NVIC_IPR && a < NVIC_IPR + 0xF0u) {
        for (uint32_t i = 0; i < 4; i++) {
            uint32_t irq = a - NVIC_IPR + i;
            if (irq < VB_NUM_IRQ && (mask & (0xFFu << (8u * i)))) {
                vb->nv_prio[16 + irq] = (uint8_t)((v >> (8u * i)) & 0xF0u); /* 4 bits */
            }
        }
        return;
    }
    if (a >= SCB_SHPR1 && a < SCB_SHPR1 + 12) {
        for (uint32_t i = 0; i < 4; i++) {
            uint32_t exc = 4u + (a - SCB_SHPR1) + i;
            if (mask & (0xFFu << (8u * i))) {
                vb->nv_prio[exc] = (uint8_t)((v >> (8u * i)) & 0xF0u);
            }
        }
        return;
    }
    switch (a) {
    case ST_CTRL: {
        uint32_t val = st_value(vb);
        uint32_t old = vb->st_ctrl;
        uint32_t newc = (merge(old, v, mask) & 0x7u) | (old & 0x10000u);
        vb->st_ctrl = newc;
        if (!(newc & 1u)) {
            vb->st_v0 = val;
        } else if (!(old & 1u) || ((old ^ newc) & 4u)) {
            st_anchor(vb, val); /* started, or the clock source changed */
        }
        return;
    }
    case ST_LOAD: {
        uint32_t val = st_value(vb);
        vb->st_load = merge(vb->st_load, v, mask) & 0x00FFFFFFu;
        if (vb->st_ctrl & 1u) {
            st_anchor(vb, val);
        }
        return;
    }
    case ST_VAL:
        vb->st_ctrl &= ~0x10000u;
        st_anchor(vb, 0);
        return;
    case SCB_ICSR:
        if (v & (1u << 31)) {
            vb->nv_pending[VB_EXC_NMI] = true;
        }
        if (v & (1u << 28)) {
            vb->nv_pending[VB_EXC_PENDSV] = true;
        }
        if (v & (1u << 27)) {
            vb->nv_pending[VB_EXC_PENDSV] = false;
        }
        if (v & (1u << 26)) {
            vb->nv_pending[VB_EXC_SYSTICK] = true;
        }
        if (v & (1u << 25)) {
            vb->nv_pending[VB_EXC_SYSTICK] = false;
        }
        return;
    case SCB_VTOR:
        vb->vtor = merge(vb->vtor, v, mask) & 0xFFFFFF80u;
        return;
    case SCB_AIRCR:
        if (mask != 0xFFFFFFFFu || (v >> 16) != AIRCR_VECTKEY) {
            return; /* without the key the write is ignored */
        }
        vb->aircr_prigroup = (v >> 8) & 7u;
        if (v & 4u) {
            vb_request_reset(vb, VB_RESET_SOFTWARE);
        }
        return;
    case SCB_SCR:
        vb->scr = merge(vb->scr, v, mask) & 0x16u;
        return;
    case SCB_CCR:
        vb->ccr = merge(vb->ccr, v, mask) & 0x31Bu;
        return;
    case SCB_SHCSR:
        vb->shcsr = merge(vb->shcsr, v, mask) & 0x00070000u;
        return;
    case SCB_CFSR:
        vb->cfsr &= ~v; /* write 1 to clear */
        return;
    case SCB_HFSR:
        vb->hfsr &= ~v;
        return;
    case SCB_DFSR:
    case SCB_AFSR:
        return;
    case SCB_MMFAR:
        vb->mmfar = merge(vb->mmfar, v, mask);
        return;
    case SCB_BFAR:
        vb->bfar = merge(vb->bfar, v, mask);
        return;
    case SCB_CPACR:
        vb->cpacr = merge(vb->cpacr, v, mask) & 0x00F00000u;
        return;
    case CD_DEMCR:
        vb->demcr = merge(vb->demcr, v, mask) & 0x010F07F1u;
        return;
    case NVIC_STIR:
        if ((v & 0x1FFu) < VB_NUM_IRQ) {
            vb->nv_pending[16 + (v & 0x1FFu)] = true;
        }
        return;
    case FPU_FPCCR:
        vb->fpccr = merge(vb->fpccr, v, mask) & 0xC00001FFu;
        return;
    case FPU_FPCAR:
        vb->fpcar = merge(vb->fpcar, v, mask) & ~7u;
        return;
    case FPU_FPDSCR:
        vb->fpdscr = merge(vb->fpdscr, v, mask) & 0x07C00000u;
        return;
    case DWT_CTRL: {
        uint32_t cnt = (vb->dwt_ctrl & 1u) ? (uint32_t)(vb->cycles - vb->dwt_base_cycles)
                                           : (uint32_t)vb->dwt_base_cycles;
        vb->dwt_ctrl = merge(vb->dwt_ctrl, v, mask);
        vb->dwt_base_cycles = (vb->dwt_ctrl & 1u) ? vb->cycles - cnt : cnt;
        return;
    }
    case DWT_CYCCNT:
        vb->dwt_base_cycles = (vb->dwt_ctrl & 1u) ? vb->cycles - v : v;
        return;
    case DBGMCU_CR:
        vb->dbg_cr = merge(vb->dbg_cr, v, mask);
        return;
    case DBGMCU_APB1FZ:
        vb->dbg_apb1fz = merge(vb->dbg_apb1fz, v, mask);
        return;
    case DBGMCU_APB2FZ:
        vb->dbg_apb2fz = merge(vb->dbg_apb2fz, v, mask);
        return;
    default:
        vb_unmodelled(vb, a, 4, true);
        return;
    }
}

/* ---------------------------------------------------------------- set-up, reset, run */

void vb_flush_code(struct vboard *vb, uint32_t addr, uint32_t len)
{
    if (addr >= VB_FLASH_BASE && addr < VB_FLASH_BASE + VB_FLASH_SIZE && len > 0) {
        /* Only pages code was translated from can hold stale translations. */
        uint32_t first = (addr - VB_FLASH_BASE) >> 12;
        uint32_t last = (addr - VB_FLASH_BASE + len - 1u) >> 12;
        bool any = false;
        for (uint32_t p = first; p <= last && p < (VB_FLASH_SIZE >> 12); p++) {
            any = any || vb->code_page[p] != 0;
        }
        if (!any) {
            return;
        }
    }
    uc_err e1 = uc_ctl_remove_cache(vb->uc, addr, addr + len);
    uc_err e2 = UC_ERR_OK;
    if (addr >= VB_FLASH_BASE && addr < VB_FLASH_BASE + VB_FLASH_SIZE) {
        uint32_t off = addr - VB_FLASH_BASE;
        e2 = uc_ctl_remove_cache(vb->uc, off, off + len);
    }
    if (e1 != UC_ERR_OK || e2 != UC_ERR_OK) {
        vb_stop(vb, VB_STOP_CPU, "cannot flush translated code at 0x%08x", addr);
    }
}

int vb_cpu_init(struct vboard *vb)
{
    uc_err e = uc_open(UC_ARCH_ARM, UC_MODE_THUMB, &vb->uc);
    if (e != UC_ERR_OK) {
        fprintf(stderr, "vboard: uc_open: %s\n", uc_strerror(e));
        return -1;
    }
    /* Before any mapping: THUMB + CORTEX_M4 (MCLASS would force an M33, §6.1.1). */
    e = uc_ctl_set_cpu_model(vb->uc, UC_CPU_ARM_CORTEX_M4);
    struct {
        uc_err e;
        const char *what;
    } steps[16];
    int n = 0;
    steps[n].e = e;
    steps[n++].what = "set cpu model";
    steps[n].e = uc_mem_map_ptr(vb->uc, VB_FLASH_BASE, VB_FLASH_SIZE, UC_PROT_READ | UC_PROT_EXEC,
                                vb->fl.mem);
    steps[n++].what = "map flash";
    steps[n].e = uc_mem_map_ptr(vb->uc, 0, VB_FLASH_SIZE, UC_PROT_READ | UC_PROT_EXEC, vb->fl.mem);
    steps[n++].what = "map flash alias";
    steps[n].e = uc_mem_map_ptr(vb->uc, VB_SRAM_BASE, VB_SRAM_SIZE, UC_PROT_ALL, vb->sram);
    steps[n++].what = "map SRAM";
    steps[n].e = uc_mmio_map(vb->uc, VB_PERIPH_BASE, VB_PERIPH_SIZE, mmio_periph_rd, vb,
                             mmio_periph_wr, vb);
    steps[n++].what = "map peripherals";
    steps[n].e = uc_mmio_map(vb->uc, VB_PPB_BASE, VB_PPB_SIZE, mmio_ppb_rd, vb, mmio_ppb_wr, vb);
    steps[n++].what = "map PPB";
    steps[n].e = uc_mmio_map(vb->uc, VB_SYSMEM_PAGE, 0x1000, mmio_sys_rd, vb, mmio_sys_wr, vb);
    steps[n++].what = "map system memory page";
    steps[n].e = uc_mmio_map(vb->uc, VB_BB_PERIPH_BASE, (size_t)VB_PERIPH_SIZE * 32u, mmio_bb_rd, vb,
                             mmio_bb_wr, vb);
    steps[n++].what = "map peripheral bit-band";
    steps[n].e = uc_mmio_map(vb->uc, VB_BB_SRAM_BASE, (size_t)VB_SRAM_SIZE * 32u, mmio_bbs_rd, vb,
                             mmio_bbs_wr, vb);
    steps[n++].what = "map SRAM bit-band";
    steps[n].e = uc_hook_add(vb->uc, &vb->h_code, UC_HOOK_CODE, (void *)hook_code, vb, 1, 0);
    steps[n++].what = "code hook";
    steps[n].e = uc_hook_add(vb->uc, &vb->h_block, UC_HOOK_BLOCK, (void *)hook_block, vb, 1, 0);
    steps[n++].what = "block hook";
    steps[n].e = uc_hook_add(vb->uc, &vb->h_intr, UC_HOOK_INTR, (void *)hook_intr, vb, 1, 0);
    steps[n++].what = "interrupt hook";
    steps[n].e = uc_hook_add(vb->uc, &vb->h_unmapped, UC_HOOK_MEM_UNMAPPED, (void *)hook_unmapped,
                             vb, 1, 0);
    steps[n++].what = "unmapped hook";
    steps[n].e = uc_hook_add(vb->uc, &vb->h_wprot, UC_HOOK_MEM_WRITE_PROT, (void *)hook_wprot, vb,
                             1, 0);
    steps[n++].what = "write-protect hook";
    for (int i = 0; i < n; i++) {
        if (steps[i].e != UC_ERR_OK) {
            fprintf(stderr, "vboard: %s: %s\n", steps[i].what, uc_strerror(steps[i].e));
            return -1;
        }
    }
    return 0;
}

void vb_cpu_reset(struct vboard *vb)
{
    memset(vb->nv_enabled, 0, sizeof vb->nv_enabled);
    memset(vb->nv_pending, 0, sizeof vb->nv_pending);
    memset(vb->nv_active, 0, sizeof vb->nv_active);
    memset(vb->irq_level, 0, sizeof vb->irq_level);
    memset(vb->nv_prio, 0, sizeof vb->nv_prio);
    vb->exc_dirty = false;
    vb->exc_blocked = false;
    vb->vtor = 0;
    vb->aircr_prigroup = 0;
    vb->scr = 0;
    vb->ccr = 0x00000200u; /* STKALIGN */
    vb->shcsr = 0;
    vb->cfsr = 0;
    vb->hfsr = 0;
    vb->mmfar = 0;
    vb->bfar = 0;
    vb->cpacr = 0;
    vb->fpccr = 0xC0000000u; /* ASPEN | LSPEN */
    vb->fpcar = 0;
    vb->fpdscr = 0;
    vb->dwt_ctrl = 0;
    vb->dwt_base_cycles = 0;
    vb->st_ctrl = 0;
    vb->st_load = 0;
    vb->st_v0 = 0;
    vb->st_t0 = 0;
    vb->st_seen_ticks = 0;

    /* Drop translated code of every executable region. (UC_CTL_TB_FLUSH would do it too, but on
     * 2.0.1 it touches the whole 1 GB translation buffer: 2 s and 1 GB RSS per call.) */
    vb_flush_code(vb, VB_FLASH_BASE, VB_FLASH_SIZE);
    if (uc_ctl_remove_cache(vb->uc, VB_SRAM_BASE, VB_SRAM_BASE + VB_SRAM_SIZE) != UC_ERR_OK) {
        vb_stop(vb, VB_STOP_CPU, "cannot flush translated code in SRAM");
    }
    uint32_t sp0 = 0;
    uint32_t pc0 = 0;
    memcpy(&sp0, vb->fl.mem, 4);
    memcpy(&pc0, vb->fl.mem + 4, 4);
    for (int r = UC_ARM_REG_R0; r <= UC_ARM_REG_R12; r++) {
        reg_set(vb, r, 0);
    }
    reg_set(vb, UC_ARM_REG_XPSR, XPSR_T);
    reg_set(vb, UC_ARM_REG_CONTROL, 0);
    reg_set(vb, UC_ARM_REG_PRIMASK, 0);
    reg_set(vb, UC_ARM_REG_FAULTMASK, 0);
    reg_set(vb, UC_ARM_REG_BASEPRI, 0);
    reg_set(vb, UC_ARM_REG_FPSCR, 0);
    reg_set(vb, UC_ARM_REG_MSP, sp0 & ~3u);
    reg_set(vb, UC_ARM_REG_PSP, 0);
    reg_set(vb, UC_ARM_REG_LR, 0xFFFFFFFFu);
    reg_set(vb, UC_ARM_REG_PC, pc0 | 1u);
    vb->pc = pc0 & ~1u;
    vb->icount_accounted = vb->icount;
    vb->ffp_valid = false;
    vb_reschedule(vb);
}

/* WFI: sleep until an exception would preempt if PRIMASK were 0 (or the run ends). */
static void wfi_sleep(struct vboard *vb)
{
    while (!vb->halting) {
        int e = best_pending(vb);
        if (e != 0 && exc_group_prio(vb, e) < exec_prio(vb, false)) {
            return;
        }
        uint64_t next = vb->next_event_ps;
        if (next == UINT64_MAX) {
            vb_stop(vb, VB_STOP_DEADLOCK, "WFI at pc 0x%08x with no wake-up source", vb->pc);
            return;
        }
        vb_advance_to(vb, next, VB_T_WAIT);
    }
}

int vb_run(struct vboard *vb)
{
    while (vb->stop == VB_RUNNING) {
        if (vb->reset_req != VB_RESET_NONE) {
            return 1; /* caller performs the reset */
        }
        vb->halting = false;
        uint32_t pc = reg_get(vb, UC_ARM_REG_PC);
        uc_err e = uc_emu_start(vb->uc, pc | 1u, 0xFFFFFFFEu, 0, 0);
        if (vb->fl.restore_pending) {
            vb_flash_restore(vb);
        }
        if (vb->stop != VB_RUNNING || vb->reset_req != VB_RESET_NONE) {
            continue;
        }
        if (e == UC_ERR_INSN_INVALID) {
            /* Undefined instruction: UsageFault (UNDEFINSTR) returning to it. */
            reg_set(vb, UC_ARM_REG_PC, vb->pc | 1u);
            raise_fault(vb, VB_EXC_USAGEFAULT, 1u << 16);
            continue;
        }
        if (e != UC_ERR_OK) {
            vb_stop(vb, VB_STOP_CPU, "emulator error \"%s\" at pc 0x%08x", uc_strerror(e), vb->pc);
            continue;
        }
        pc = reg_get(vb, UC_ARM_REG_PC);
        uint8_t b[2] = {0, 0};
        if (pc >= 2 && uc_mem_read(vb->uc, pc - 2u, b, 2) == UC_ERR_OK && b[0] == 0x30 &&
            b[1] == 0xBF) {
            /* Time already accounted up to the WFI block; now sleep. */
            uint64_t n = vb->icount - vb->icount_accounted;
            vb->icount_accounted = vb->icount;
            vb_add_time(vb, n * vb->cycle_ps, VB_T_CPU);
            if (vb->now_ps >= vb->next_event_ps) {
                process_events(vb);
            }
            wfi_sleep(vb);
            continue;
        }
        vb_stop(vb, VB_STOP_CPU, "emulation ended unexpectedly at pc 0x%08x", pc);
    }
    return 0;
}
