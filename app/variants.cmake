# Variants of the application for tests/e2e/fw_ota and bench/fw_update: the same main.c with other
# app_config.h settings, each signed like app.img. They run on the virtual board (sim/vboard), whose
# W5500 model puts a DHCP server and a DNS responder at 192.168.1.1 (docs/w5500-model.md).
#
#   app_v2      the product configuration (HTTP, DHCP), next major version: the update the tests
#               serve to a board running app (factory.hex)
#   app_raw     the tutorial's set-up: raw TCP protocol, static address, version APP_VERSION
#   app_dns     HTTP to a host name resolved with DNS, address from DHCP, version APP_VERSION
#   app_rawr    raw TCP with otaserver's offset extension (resumable), DHCP, version APP_VERSION
#   app_big_v2  app_v2 with filler for a ~200 KB image (update benchmark)
#   app_noprobe app with APP_DHCP_CONFLICT_PROBE=0 (update benchmark: DHCP without the ARP probe)
#   app_probe9  app with APP_DHCP_PROBE_ARPS=0 (update benchmark: the probe waits the chip's 9 ARPs)

if(NOT APP_VERSION MATCHES "^([0-9]+)\\.([0-9]+)\\.([0-9]+)\\+([0-9]+)$")
    message(FATAL_ERROR "APP_VERSION '${APP_VERSION}' is not M.m.r+b")
endif()
math(EXPR APP_NEXT_MAJOR "${CMAKE_MATCH_1} + 1")
math(EXPR APP_NEXT_BUILD "${CMAKE_MATCH_4} + 1")
set(APP_NEXT_VERSION "${APP_NEXT_MAJOR}.0.0+${APP_NEXT_BUILD}")

# Host name the DNS variant asks for (tests map it with vboard --dns NAME=IP).
set(APP_E2E_HOST "updates.ota.test")

app_firmware(app_v2 VERSION ${APP_NEXT_VERSION})
# The tutorial's server address and port (seed: SERVER_IP 192.168.1.2, SERVER_PORT 5678).
app_firmware(app_raw VERSION ${APP_VERSION}
    DEFINES APP_SERVER_PROTO=APP_PROTO_RAW APP_SERVER_HOST="192.168.1.2" APP_SERVER_PORT=5678
            APP_USE_DHCP=0)
app_firmware(app_rawr VERSION ${APP_VERSION}
    DEFINES APP_SERVER_PROTO=APP_PROTO_RAW_RESUME APP_SERVER_PORT=5678)
app_firmware(app_dns VERSION ${APP_VERSION}
    DEFINES APP_SERVER_HOST="${APP_E2E_HOST}")
# 200 KB of image: the filler plus the program itself (about 30 KB) and the image's header/TLVs.
app_firmware(app_big_v2 VERSION ${APP_NEXT_VERSION} DEFINES APP_PAD_BYTES=165376)
app_firmware(app_noprobe VERSION ${APP_VERSION} DEFINES APP_DHCP_CONFLICT_PROBE=0)
app_firmware(app_probe9 VERSION ${APP_VERSION} DEFINES APP_DHCP_PROBE_ARPS=0)

# Not an application: crypto_cycles.elf measures SHA-256, CRC-32 and Ed25519 verification in
# cycles (DWT CYCCNT) with the firmware's flags and libota_crypto, at the bootloader's address so
# vboard starts it from a fresh flash (bench/crypto/m4/m4_cycles.c, run by make bench).
stm32_add_firmware(crypto_cycles
    LINKER ${STM32_PORT_DIR}/linker/bootloader.ld.in
    SOURCES ${CMAKE_SOURCE_DIR}/bench/crypto/m4/m4_cycles.c
    LIBS ota_crypto)
