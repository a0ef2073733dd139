# The test cases: each runs vboard on one test program and checks exit status and output.
set(F ${VBT_OUT})
vbt_case(regs
    CHECKS --expect "^ALL PASS" --reject "FAIL" --expect "HCLK 180000000 Hz"
    ARGS --flash ${F}/regs.flash --fresh --load ${F}/t_regs.elf --stop-on "ALL PASS"
         --timeout-ms 2000)
vbt_case(exceptions
    CHECKS --expect "^ALL PASS" --reject "FAIL"
    ARGS --flash ${F}/exc.flash --fresh --load ${F}/t_exc.elf --stop-on "ALL PASS"
         --timeout-ms 2000)
# Flash interface; also: the flash file keeps what the program wrote (marker in sector 2) and
# the reset is counted in the summary.
vbt_case(flash
    CHECKS --expect "^ALL PASS" --reject "FAIL" --hex-file ${F}/flash.flash 0x8000 a5a5a5a5
           --expect "resets: 1 \\(software 1, iwdg 0, power cut 0\\)"
           --expect "sector erases: s0=0 s1=0 s2=0 s3=4 s4=1 s5=0 s6=0 s7=0"
           # BSY: 4 x 250 ms (16 KB) + 550 ms (64 KB) + 5 programs x 16 us (stm32f446.md 2.9)
           --expect "flash: busy 1550\\.080 ms, 10 operations, 5 programs"
           --expect "wrong key sequence"
    ARGS --flash ${F}/flash.flash --fresh --load ${F}/t_flash.elf --stop-on "ALL PASS"
         --timeout-ms 5000 --wrp-sectors 0x80 --summary)
# BSY polling fast-forward: the same output (counts, CYCCNT, LED change times, the pass count of a
# loop that reads SysTick VAL, IWDG reset time) with and without --no-fast-forward, and the jumps
# did happen.
vbt_case(flash_fast_forward
    CHECKS --same-without-ff --expect "^ALL PASS" --reject "FAIL"
           --expect "COUNTFLAG seen 1000$" --expect "SysTick handler runs 1000$"
           --expect "VAL-reading poll: passes [1-9][0-9]*$"
           --expect "erase without IWDG reload"
           --expect "resets: 1 \\(software 0, iwdg 1, power cut 0\\)"
           --expect "flash poll skipped: [1-9][0-9]*\\.[0-9]+ ms of cpu in [1-9][0-9]* jumps"
           --expect "LED PA0 changes: 12"
    ARGS --flash ${F}/ffwd.flash --fresh --load ${F}/t_ffwd.elf --stop-on "ALL PASS"
         --timeout-ms 5000 --summary)
# GPIO/LED, EXTI from the button, USART RX/TX interrupt, backup registers, software and IWDG
# resets with their RCC_CSR flags.
vbt_case(periph
    CHECKS --stdin "hi" --expect "^ALL PASS" --reject "FAIL"
           --expect "LED PA0 on" --expect "LED PA0 off"
           --expect "button PC13 pressed" --expect "button PC13 released"
           --expect "ok IWDG refreshed every 10 ms for 50 ms"
           --expect "IWDG expired \\(PR 7, RLR 1: timeout 16000 us\\)"
           --expect "resets: 2 \\(software 1, iwdg 1, power cut 0\\)"
           --expect "reset at [0-9.]+ ms: software \\(AIRCR.SYSRESETREQ\\)\n +reset at [0-9.]+ ms: IWDG"
           --expect "LED PA0 changes: 4"
    ARGS --flash ${F}/periph.flash --fresh --load ${F}/t_periph.elf --stop-on "ALL PASS"
         --press-button-at 5 --timeout-ms 2000 --summary)
# Without the button press the program never gets its interrupt: the run must time out (exit 1).
vbt_case(periph_no_button
    CHECKS --exit 1 --expect "timeout: 300 ms of virtual time" --reject "^ALL PASS"
    ARGS --flash ${F}/periph2.flash --fresh --load ${F}/t_periph.elf --stop-on "ALL PASS"
         --timeout-ms 300)
# --max-resets: the periph program resets twice; allowing one stops the run (exit 4).
vbt_case(max_resets
    CHECKS --stdin "hi" --exit 4 --expect "more than 1 resets" --reject "^ALL PASS"
    ARGS --flash ${F}/periph3.flash --fresh --load ${F}/t_periph.elf --stop-on "ALL PASS"
         --press-button-at 5 --max-resets 1)
# An unmodelled address stops the run with address, size and the exact PC (exit 2).
vbt_case(unmodelled
    CHECKS --exit 2 --expect "unmodelled 4-byte read at address 0x40005400"
           --same "BADPC=(0x[0-9a-f]+)" "unmodelled .* pc (0x[0-9a-f]+)"
           --reject "went on"
    ARGS --flash ${F}/unmod.flash --fresh --load ${F}/t_unmodelled.elf --stop-on "ALL PASS")
# BKPT ends the run (exit 3): the test programs use it to report a failed check. Without stdin
# input the USART RX check of the periph program fails.
vbt_case(bkpt_fails_run
    CHECKS --exit 3 --expect "FAIL USART2 RX from stdin" --expect "BKPT #2 at pc"
           --reject "^ALL PASS"
    ARGS --flash ${F}/bkpt.flash --fresh --load ${F}/t_periph.elf --stop-on "ALL PASS"
         --press-button-at 5)
# Power cuts at a flash operation: clean (op not done), torn (a mix of old and new bits), partial
# erase (arbitrary sector content); by time during an erase. RAM and backup registers are lost
# and the board starts with power-on reset flags.
set(PC_BOOT2 "BOOT csr=0x0e000000 bkp0=0x00000000")
vbt_case(powercut_clean
    CHECKS --expect "power cut at flash op 3 \\(program 0x0800c008 <- 0x00000000\\), mode clean"
           --expect "${PC_BOOT2} w0=0x11111111 w1=0x22222222 w2=0xffffffff w3=0xffffffff"
           --expect "resets: 1 \\(software 0, iwdg 0, power cut 1\\)"
    ARGS --flash ${F}/pc1.flash --fresh --load ${F}/t_powercut.elf --stop-on "SECOND BOOT"
         --cut-power-at-flash-op 3 --cut-mode clean --summary)
vbt_case(powercut_torn
    CHECKS --expect "mode torn"
           --expect "${PC_BOOT2} w0=0x11111111 w1=0x22222222 w2=0x(?!ffffffff|00000000)[0-9a-f]{8} w3=0xffffffff"
    ARGS --flash ${F}/pc2.flash --fresh --load ${F}/t_powercut.elf --stop-on "SECOND BOOT"
         --cut-power-at-flash-op 3 --cut-mode torn)
vbt_case(powercut_partial_erase
    CHECKS --expect "power cut at flash op 5 \\(erase sector 3\\), mode partial-erase"
           --reject "w0=0x11111111 w1=0x22222222 w2=0x00000000 w3=0x44444444\nSECOND"
           --reject "w0=0xffffffff w1=0xffffffff w2=0xffffffff w3=0xffffffff\nSECOND"
           --expect "SECOND BOOT"
    ARGS --flash ${F}/pc3.flash --fresh --load ${F}/t_powercut.elf --stop-on "SECOND BOOT"
         --cut-power-at-flash-op 5 --cut-mode partial-erase)
vbt_case(powercut_time_clean
    CHECKS --expect "power cut at 100 ms during a flash operation, mode clean"
           --expect "${PC_BOOT2} w0=0x11111111 w1=0x22222222 w2=0x00000000 w3=0x44444444"
    ARGS --flash ${F}/pc4.flash --fresh --load ${F}/t_powercut.elf --stop-on "SECOND BOOT"
         --cut-power-at-ms 100)
# Without a cut the program erases sector 3 and never boots twice.
vbt_case(powercut_none
    CHECKS --exit 1 --expect "ERASED" --reject "^SECOND BOOT"
    ARGS --flash ${F}/pc5.flash --fresh --load ${F}/t_powercut.elf --stop-on "SECOND BOOT"
         --timeout-ms 400)
# The flash file persists across runs: a run without --fresh sees what the previous run wrote.
vbt_case(persist_write
    CHECKS --exit 1 --expect "PROGRAMMED" --reject "ERASED"
    ARGS --flash ${F}/persist.flash --fresh --load ${F}/t_powercut.elf --stop-on "SECOND BOOT"
         --timeout-ms 1)
vbt_case(persist_read
    CHECKS --expect "^BOOT .* w0=0x11111111 w1=0x22222222 w2=0x00000000 w3=0x44444444"
    ARGS --flash ${F}/persist.flash --stop-on "SECOND BOOT")
set_tests_properties(vboard_persist_write PROPERTIES FIXTURES_SETUP vboard_persist)
set_tests_properties(vboard_persist_read PROPERTIES FIXTURES_REQUIRED vboard_persist)
# SPI1 <-> W5500 model: VERSIONR, reset values, SPI time from the baud rate, MODF, OVR.
vbt_case(spi_w5500
    CHECKS --expect "^ALL PASS" --reject "FAIL" --expect "w5500: 12 SPI bytes, 3 frames"
    ARGS --flash ${F}/spi.flash --fresh --load ${F}/t_spi.elf --stop-on "ALL PASS" --summary)
string(REGEX REPLACE "([.+])" "\\\\\\1" VBT_VERSION_RE "${APP_VERSION}")
# The real firmware (factory image: bootloader + installed application from the firmware build)
# boots to the application banner.
vbt_case(firmware_boot
    CHECKS --expect "boot: stm32-ota bootloader, reset: power-on"
           --expect "boot: starting application"
           --expect "versions: ${VBT_VERSION_RE} "
           --reject "unmodelled"
    ARGS --flash ${F}/fw.flash --fresh --load ${OTA_FW_DIR}/factory.hex
         --stop-on "app: stm32-ota application v${APP_VERSION}" --timeout-ms 3000 --summary)
# ... and the application reaches the W5500 model through SPI1 (its own probe reads VERSIONR).
vbt_case(firmware_w5500_probe
    CHECKS --expect "app: W5500 answers" --reject "unmodelled" --reject "W5500 not answering"
    ARGS --flash ${F}/fw2.flash --fresh --load ${OTA_FW_DIR}/factory.hex
         --stop-on "app: W5500 answers" --timeout-ms 3000)
# --press-button-on: the press comes when the program says it waits for it.
vbt_case(press_on_text
    CHECKS --stdin "hi" --expect "^ALL PASS" --reject "FAIL"
           --expect "button PC13 pressed"
    ARGS --flash ${F}/periph4.flash --fresh --load ${F}/t_periph.elf --stop-on "ALL PASS"
         --press-button-on "waiting for the button" --timeout-ms 2000)
# Command-line errors: usage (exit 64), nothing run.
vbt_case(usage_no_flash CHECKS --exit 64 --expect "usage: vboard" ARGS --summary)
vbt_case(usage_two_cuts
    CHECKS --exit 64 --expect "exclude each other"
    ARGS --flash ${F}/u1.flash --cut-power-at-ms 5 --cut-power-at-flash-op 2)
vbt_case(usage_bad_map
    CHECKS --exit 64 --expect "expected \\[udp:\\]LANIP:PORT=HOSTPORT"
    ARGS --flash ${F}/u2.flash --map 192.168.1.2:80)
vbt_case(usage_bad_load
    CHECKS --exit 64 --expect "outside flash and SRAM"
    ARGS --flash ${F}/u3.flash --load ${F}/t_regs.elf@0x30000000)
vbt_case(usage_bad_cut_op
    CHECKS --exit 64 --expect "flash operations count from 1"
    ARGS --flash ${F}/u4.flash --cut-power-at-flash-op 0)
# A whole update on the virtual board: the application (button press) gets a newer signed image
# over HTTP from a server on 127.0.0.1 through the W5500 model's LAN map (--map), the bootloader
# installs it after the software reset and starts it. Server address, port and path are the
# application's defaults (app/app_config.h).
set(VBT_APP_CONFIG ${CMAKE_SOURCE_DIR}/app/app_config.h)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${VBT_APP_CONFIG})
file(STRINGS ${VBT_APP_CONFIG} VBT_CFG REGEX "^#define APP_SERVER_(HOST|PORT|PATH|PROTO) ")
foreach(line ${VBT_CFG})
    if(line MATCHES "^#define APP_SERVER_([A-Z]+) \"?([^\"]*)\"?$")
        set(VBT_SERVER_${CMAKE_MATCH_1} "${CMAKE_MATCH_2}")
    endif()
endforeach()
if(NOT VBT_SERVER_PROTO STREQUAL "APP_PROTO_HTTP")
    message(FATAL_ERROR "vboard_firmware_ota_http: app/app_config.h must default to "
                        "APP_SERVER_PROTO APP_PROTO_HTTP (the test serves HTTP)")
endif()
set(VBT_DNS_ARGS)
set(VBT_SERVER_IP "${VBT_SERVER_HOST}")
if(NOT VBT_SERVER_HOST MATCHES "^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$")
    set(VBT_SERVER_IP 192.168.1.10)
    set(VBT_DNS_ARGS --dns ${VBT_SERVER_HOST}=${VBT_SERVER_IP})
endif()
math(EXPR VBT_NEXT_MAJOR "${APP_VERSION_MAJOR} + 1")
set(VBT_NEXT "${VBT_NEXT_MAJOR}.0.0+1")
string(REGEX REPLACE "([.+])" "\\\\\\1" VBT_NEXT_RE "${VBT_NEXT}")
file(MAKE_DIRECTORY ${F}/ota)
vbt_case(firmware_ota_http
    CHECKS --sign $<TARGET_FILE:otapack> ${OTA_SIGNING_KEY} ${OTA_FW_DIR}/app.bin
                  ${VBT_NEXT} ${F}/ota${VBT_SERVER_PATH}
           --http-dir ${F}/ota
           --expect "w5500: [0-9]+ SPI bytes, [0-9]+ frames, [1-9][0-9]* bytes received"
           --expect "boot: stm32-ota bootloader, reset: software"
           --expect "resets: 1 \\(software 1, iwdg 0, power cut 0\\)"
           --expect "versions: ${VBT_VERSION_RE} \\(x[0-9]+\\) ${VBT_NEXT_RE} "
           --reject "unmodelled"
    ARGS --flash ${F}/ota.flash --fresh --load ${OTA_FW_DIR}/factory.hex
         --map ${VBT_SERVER_IP}:${VBT_SERVER_PORT}={HTTP_PORT} ${VBT_DNS_ARGS}
         --press-button-at 300 --stop-on "boot: starting application ${VBT_NEXT}"
         --timeout-ms 30000 --summary)
set_tests_properties(vboard_firmware_ota_http PROPERTIES TIMEOUT 300)
