/*
 * Startup for the STM32F446: the 113-entry vector table (16 system + IRQ 0..96, reserved
 * positions zero; sheet §1.3/§1.5), weak default handlers, and the reset handler (FPU on, .data
 * and .ramfunc copied, .bss zeroed, VTOR set, main called).
 *
 * Both programs use this file; each links it at the start of its own flash region, and the reset
 * handler points VTOR at the table it belongs to, so a program started by a debugger at its own
 * address behaves as when the bootloader starts it.
 */
#include "startup.h"

#include "stm32f446.h"

#include <stddef.h>
#include <stdint.h>

/* Provided by the linker script (sections.ld.inc). */
extern uint32_t _sidata[];
extern uint32_t _sdata[];
extern uint32_t _edata[];
extern uint32_t _sbss[];
extern uint32_t _ebss[];
extern uint32_t _estack[];

int main(void);

void Reset_Handler(void);
void Default_Handler(void);

#define WEAK_DEFAULT __attribute__((weak, alias("Default_Handler")))
void NMI_Handler(void) WEAK_DEFAULT;
void HardFault_Handler(void) WEAK_DEFAULT;
void MemManage_Handler(void) WEAK_DEFAULT;
void BusFault_Handler(void) WEAK_DEFAULT;
void UsageFault_Handler(void) WEAK_DEFAULT;
void SVC_Handler(void) WEAK_DEFAULT;
void DebugMon_Handler(void) WEAK_DEFAULT;
void PendSV_Handler(void) WEAK_DEFAULT;
void SysTick_Handler(void) WEAK_DEFAULT;
void WWDG_IRQHandler(void) WEAK_DEFAULT;
void PVD_IRQHandler(void) WEAK_DEFAULT;
void TAMP_STAMP_IRQHandler(void) WEAK_DEFAULT;
void RTC_WKUP_IRQHandler(void) WEAK_DEFAULT;
void FLASH_IRQHandler(void) WEAK_DEFAULT;
void RCC_IRQHandler(void) WEAK_DEFAULT;
void EXTI0_IRQHandler(void) WEAK_DEFAULT;
void EXTI1_IRQHandler(void) WEAK_DEFAULT;
void EXTI2_IRQHandler(void) WEAK_DEFAULT;
void EXTI3_IRQHandler(void) WEAK_DEFAULT;
void EXTI4_IRQHandler(void) WEAK_DEFAULT;
void DMA1_Stream0_IRQHandler(void) WEAK_DEFAULT;
void DMA1_Stream1_IRQHandler(void) WEAK_DEFAULT;
void DMA1_Stream2_IRQHandler(void) WEAK_DEFAULT;
void DMA1_Stream3_IRQHandler(void) WEAK_DEFAULT;
void DMA1_Stream4_IRQHandler(void) WEAK_DEFAULT;
void DMA1_Stream5_IRQHandler(void) WEAK_DEFAULT;
void DMA1_Stream6_IRQHandler(void) WEAK_DEFAULT;
void ADC_IRQHandler(void) WEAK_DEFAULT;
void CAN1_TX_IRQHandler(void) WEAK_DEFAULT;
void CAN1_RX0_IRQHandler(void) WEAK_DEFAULT;
void CAN1_RX1_IRQHandler(void) WEAK_DEFAULT;
void CAN1_SCE_IRQHandler(void) WEAK_DEFAULT;
void EXTI9_5_IRQHandler(void) WEAK_DEFAULT;
void TIM1_BRK_TIM9_IRQHandler(void) WEAK_DEFAULT;
void TIM1_UP_TIM10_IRQHandler(void) WEAK_DEFAULT;
void TIM1_TRG_COM_TIM11_IRQHandler(void) WEAK_DEFAULT;
void TIM1_CC_IRQHandler(void) WEAK_DEFAULT;
void TIM2_IRQHandler(void) WEAK_DEFAULT;
void TIM3_IRQHandler(void) WEAK_DEFAULT;
void TIM4_IRQHandler(void) WEAK_DEFAULT;
void I2C1_EV_IRQHandler(void) WEAK_DEFAULT;
void I2C1_ER_IRQHandler(void) WEAK_DEFAULT;
void I2C2_EV_IRQHandler(void) WEAK_DEFAULT;
void I2C2_ER_IRQHandler(void) WEAK_DEFAULT;
void SPI1_IRQHandler(void) WEAK_DEFAULT;
void SPI2_IRQHandler(void) WEAK_DEFAULT;
void USART1_IRQHandler(void) WEAK_DEFAULT;
void USART2_IRQHandler(void) WEAK_DEFAULT;
void USART3_IRQHandler(void) WEAK_DEFAULT;
void EXTI15_10_IRQHandler(void) WEAK_DEFAULT;
void RTC_Alarm_IRQHandler(void) WEAK_DEFAULT;
void OTG_FS_WKUP_IRQHandler(void) WEAK_DEFAULT;
void TIM8_BRK_TIM12_IRQHandler(void) WEAK_DEFAULT;
void TIM8_UP_TIM13_IRQHandler(void) WEAK_DEFAULT;
void TIM8_TRG_COM_TIM14_IRQHandler(void) WEAK_DEFAULT;
void TIM8_CC_IRQHandler(void) WEAK_DEFAULT;
void DMA1_Stream7_IRQHandler(void) WEAK_DEFAULT;
void FMC_IRQHandler(void) WEAK_DEFAULT;
void SDIO_IRQHandler(void) WEAK_DEFAULT;
void TIM5_IRQHandler(void) WEAK_DEFAULT;
void SPI3_IRQHandler(void) WEAK_DEFAULT;
void UART4_IRQHandler(void) WEAK_DEFAULT;
void UART5_IRQHandler(void) WEAK_DEFAULT;
void TIM6_DAC_IRQHandler(void) WEAK_DEFAULT;
void TIM7_IRQHandler(void) WEAK_DEFAULT;
void DMA2_Stream0_IRQHandler(void) WEAK_DEFAULT;
void DMA2_Stream1_IRQHandler(void) WEAK_DEFAULT;
void DMA2_Stream2_IRQHandler(void) WEAK_DEFAULT;
void DMA2_Stream3_IRQHandler(void) WEAK_DEFAULT;
void DMA2_Stream4_IRQHandler(void) WEAK_DEFAULT;
void CAN2_TX_IRQHandler(void) WEAK_DEFAULT;
void CAN2_RX0_IRQHandler(void) WEAK_DEFAULT;
void CAN2_RX1_IRQHandler(void) WEAK_DEFAULT;
void CAN2_SCE_IRQHandler(void) WEAK_DEFAULT;
void OTG_FS_IRQHandler(void) WEAK_DEFAULT;
void DMA2_Stream5_IRQHandler(void) WEAK_DEFAULT;
void DMA2_Stream6_IRQHandler(void) WEAK_DEFAULT;
void DMA2_Stream7_IRQHandler(void) WEAK_DEFAULT;
void USART6_IRQHandler(void) WEAK_DEFAULT;
void I2C3_EV_IRQHandler(void) WEAK_DEFAULT;
void I2C3_ER_IRQHandler(void) WEAK_DEFAULT;
void OTG_HS_EP1_OUT_IRQHandler(void) WEAK_DEFAULT;
void OTG_HS_EP1_IN_IRQHandler(void) WEAK_DEFAULT;
void OTG_HS_WKUP_IRQHandler(void) WEAK_DEFAULT;
void OTG_HS_IRQHandler(void) WEAK_DEFAULT;
void DCMI_IRQHandler(void) WEAK_DEFAULT;
void FPU_IRQHandler(void) WEAK_DEFAULT;
void SPI4_IRQHandler(void) WEAK_DEFAULT;
void SAI1_IRQHandler(void) WEAK_DEFAULT;
void SAI2_IRQHandler(void) WEAK_DEFAULT;
void QUADSPI_IRQHandler(void) WEAK_DEFAULT;
void CEC_IRQHandler(void) WEAK_DEFAULT;
void SPDIF_RX_IRQHandler(void) WEAK_DEFAULT;
void FMPI2C1_EV_IRQHandler(void) WEAK_DEFAULT;
void FMPI2C1_ER_IRQHandler(void) WEAK_DEFAULT;

#define IRQ(n) (16 + (n))

/*
 * Placed first in flash by the linker script. Designated initialisers keep every position tied
 * to its exception or IRQ number; positions not listed (reserved) are zero.
 */
__attribute__((section(".isr_vector"), used)) const union vector_entry
    vector_table[STARTUP_VECTOR_COUNT] = {
        [0] = {.sp = _estack},
        [1] = {.handler = Reset_Handler},
        [2] = {.handler = NMI_Handler},
        [3] = {.handler = HardFault_Handler},
        [4] = {.handler = MemManage_Handler},
        [5] = {.handler = BusFault_Handler},
        [6] = {.handler = UsageFault_Handler},
        [11] = {.handler = SVC_Handler},
        [12] = {.handler = DebugMon_Handler},
        [14] = {.handler = PendSV_Handler},
        [15] = {.handler = SysTick_Handler},
        [IRQ(0)] = {.handler = WWDG_IRQHandler},
        [IRQ(1)] = {.handler = PVD_IRQHandler},
        [IRQ(2)] = {.handler = TAMP_STAMP_IRQHandler},
        [IRQ(3)] = {.handler = RTC_WKUP_IRQHandler},
        [IRQ(4)] = {.handler = FLASH_IRQHandler},
        [IRQ(5)] = {.handler = RCC_IRQHandler},
        [IRQ(6)] = {.handler = EXTI0_IRQHandler},
        [IRQ(7)] = {.handler = EXTI1_IRQHandler},
        [IRQ(8)] = {.handler = EXTI2_IRQHandler},
        [IRQ(9)] = {.handler = EXTI3_IRQHandler},
        [IRQ(10)] = {.handler = EXTI4_IRQHandler},
        [IRQ(11)] = {.handler = DMA1_Stream0_IRQHandler},
        [IRQ(12)] = {.handler = DMA1_Stream1_IRQHandler},
        [IRQ(13)] = {.handler = DMA1_Stream2_IRQHandler},
        [IRQ(14)] = {.handler = DMA1_Stream3_IRQHandler},
        [IRQ(15)] = {.handler = DMA1_Stream4_IRQHandler},
        [IRQ(16)] = {.handler = DMA1_Stream5_IRQHandler},
        [IRQ(17)] = {.handler = DMA1_Stream6_IRQHandler},
        [IRQ(18)] = {.handler = ADC_IRQHandler},
        [IRQ(19)] = {.handler = CAN1_TX_IRQHandler},
        [IRQ(20)] = {.handler = CAN1_RX0_IRQHandler},
        [IRQ(21)] = {.handler = CAN1_RX1_IRQHandler},
        [IRQ(22)] = {.handler = CAN1_SCE_IRQHandler},
        [IRQ(23)] = {.handler = EXTI9_5_IRQHandler},
        [IRQ(24)] = {.handler = TIM1_BRK_TIM9_IRQHandler},
        [IRQ(25)] = {.handler = TIM1_UP_TIM10_IRQHandler},
        [IRQ(26)] = {.handler = TIM1_TRG_COM_TIM11_IRQHandler},
        [IRQ(27)] = {.handler = TIM1_CC_IRQHandler},
        [IRQ(28)] = {.handler = TIM2_IRQHandler},
        [IRQ(29)] = {.handler = TIM3_IRQHandler},
        [IRQ(30)] = {.handler = TIM4_IRQHandler},
        [IRQ(31)] = {.handler = I2C1_EV_IRQHandler},
        [IRQ(32)] = {.handler = I2C1_ER_IRQHandler},
        [IRQ(33)] = {.handler = I2C2_EV_IRQHandler},
        [IRQ(34)] = {.handler = I2C2_ER_IRQHandler},
        [IRQ(35)] = {.handler = SPI1_IRQHandler},
        [IRQ(36)] = {.handler = SPI2_IRQHandler},
        [IRQ(37)] = {.handler = USART1_IRQHandler},
        [IRQ(38)] = {.handler = USART2_IRQHandler},
        [IRQ(39)] = {.handler = USART3_IRQHandler},
        [IRQ(40)] = {.handler = EXTI15_10_IRQHandler},
        [IRQ(41)] = {.handler = RTC_Alarm_IRQHandler},
        [IRQ(42)] = {.handler = OTG_FS_WKUP_IRQHandler},
        [IRQ(43)] = {.handler = TIM8_BRK_TIM12_IRQHandler},
        [IRQ(44)] = {.handler = TIM8_UP_TIM13_IRQHandler},
        [IRQ(45)] = {.handler = TIM8_TRG_COM_TIM14_IRQHandler},
        [IRQ(46)] = {.handler = TIM8_CC_IRQHandler},
        [IRQ(47)] = {.handler = DMA1_Stream7_IRQHandler},
        [IRQ(48)] = {.handler = FMC_IRQHandler},
        [IRQ(49)] = {.handler = SDIO_IRQHandler},
        [IRQ(50)] = {.handler = TIM5_IRQHandler},
        [IRQ(51)] = {.handler = SPI3_IRQHandler},
        [IRQ(52)] = {.handler = UART4_IRQHandler},
        [IRQ(53)] = {.handler = UART5_IRQHandler},
        [IRQ(54)] = {.handler = TIM6_DAC_IRQHandler},
        [IRQ(55)] = {.handler = TIM7_IRQHandler},
        [IRQ(56)] = {.handler = DMA2_Stream0_IRQHandler},
        [IRQ(57)] = {.handler = DMA2_Stream1_IRQHandler},
        [IRQ(58)] = {.handler = DMA2_Stream2_IRQHandler},
        [IRQ(59)] = {.handler = DMA2_Stream3_IRQHandler},
        [IRQ(60)] = {.handler = DMA2_Stream4_IRQHandler},
        /* 61, 62 reserved (Ethernet on other F4 parts) */
        [IRQ(63)] = {.handler = CAN2_TX_IRQHandler},
        [IRQ(64)] = {.handler = CAN2_RX0_IRQHandler},
        [IRQ(65)] = {.handler = CAN2_RX1_IRQHandler},
        [IRQ(66)] = {.handler = CAN2_SCE_IRQHandler},
        [IRQ(67)] = {.handler = OTG_FS_IRQHandler},
        [IRQ(68)] = {.handler = DMA2_Stream5_IRQHandler},
        [IRQ(69)] = {.handler = DMA2_Stream6_IRQHandler},
        [IRQ(70)] = {.handler = DMA2_Stream7_IRQHandler},
        [IRQ(71)] = {.handler = USART6_IRQHandler},
        [IRQ(72)] = {.handler = I2C3_EV_IRQHandler},
        [IRQ(73)] = {.handler = I2C3_ER_IRQHandler},
        [IRQ(74)] = {.handler = OTG_HS_EP1_OUT_IRQHandler},
        [IRQ(75)] = {.handler = OTG_HS_EP1_IN_IRQHandler},
        [IRQ(76)] = {.handler = OTG_HS_WKUP_IRQHandler},
        [IRQ(77)] = {.handler = OTG_HS_IRQHandler},
        [IRQ(78)] = {.handler = DCMI_IRQHandler},
        /* 79, 80 reserved */
        [IRQ(81)] = {.handler = FPU_IRQHandler},
        /* 82, 83 reserved */
        [IRQ(84)] = {.handler = SPI4_IRQHandler},
        /* 85, 86 reserved */
        [IRQ(87)] = {.handler = SAI1_IRQHandler},
        /* 88, 89, 90 reserved */
        [IRQ(91)] = {.handler = SAI2_IRQHandler},
        [IRQ(92)] = {.handler = QUADSPI_IRQHandler},
        [IRQ(93)] = {.handler = CEC_IRQHandler},
        [IRQ(94)] = {.handler = SPDIF_RX_IRQHandler},
        [IRQ(95)] = {.handler = FMPI2C1_EV_IRQHandler},
        [IRQ(96)] = {.handler = FMPI2C1_ER_IRQHandler},
};
_Static_assert(STARTUP_VECTOR_COUNT == 16 + IRQ_LAST + 1, "113 vectors");
_Static_assert(sizeof(vector_table) == STARTUP_VECTOR_COUNT * 4u, "one word per vector");

/*
 * An unexpected exception or interrupt: stop here. The watchdog (always running in both
 * programs) turns this into a reset; a debugger sees the active exception in IPSR.
 */
void Default_Handler(void)
{
    for (;;) {
    }
}

/*
 * Runs with the reset state or the state the bootloader hands over (docs/port-stm32f446.md):
 * thread mode, CONTROL = 0. No FP instruction may run before CPACR is set, and nothing in
 * .data/.bss may be read before the copies; this function touches neither.
 */
/* External linkage: Reset_Handler branches to it by name from assembly (also under LTO). */
void startup_c(void);
__attribute__((noreturn, used)) void startup_c(void)
{
    CM4_SCB->CPACR |= SCB_CPACR_CP10_CP11_FULL;
    cm4_dsb();
    cm4_isb();

    /* Lengths from addresses (comparing pointers to different objects is undefined in C). */
    size_t data_words = ((uintptr_t)_edata - (uintptr_t)_sdata) / 4u;
    for (size_t i = 0; i < data_words; i++) {
        _sdata[i] = _sidata[i];
    }
    size_t bss_words = ((uintptr_t)_ebss - (uintptr_t)_sbss) / 4u;
    for (size_t i = 0; i < bss_words; i++) {
        _sbss[i] = 0;
    }

    CM4_SCB->VTOR = (uint32_t)(uintptr_t)vector_table;
    cm4_dsb();
    cm4_isb();

    (void)main();
    /* main never returns in either program; if it does, wait here for the watchdog. */
    for (;;) {
    }
}

/*
 * MSP is loaded from the table by the hardware (reset) or by the bootloader (jump); loading it
 * again here makes a start by a debugger at the entry point (which leaves SP as it was) safe.
 */
__attribute__((naked)) void Reset_Handler(void)
{
    __asm volatile("ldr r0, =_estack\n"
                   "msr msp, r0\n"
                   "b startup_c\n");
}
