# Runs the host throughput bench, then reports the Cortex-M4 code size of each library object
# from the firmware build (arm-none-eabi-size on libota_crypto.a), the worst-case stack and the
# instructions executed on an emulated Cortex-M4. `make bench` builds the firmware first.
# Usage: cmake -DBENCH=<exe> -DFW_LIB=<libota_crypto.a> -DSIZE=<arm-none-eabi-size>
#              -DSTACK_SCRIPT=<stack_usage.sh> -DM4_COUNT=<crypto_m4_count> -DM4_BIN=<image> -P this
foreach(v BENCH FW_LIB SIZE STACK_SCRIPT M4_COUNT M4_BIN)
    if(NOT ${v})
        message(FATAL_ERROR "bench_crypto.cmake: -D${v}=... missing")
    endif()
endforeach()
execute_process(COMMAND ${BENCH} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "bench_crypto failed (${rc})")
endif()
if(NOT EXISTS "${FW_LIB}")
    message(FATAL_ERROR "crypto code size: ${FW_LIB} not built (make firmware first)")
endif()
execute_process(COMMAND ${SIZE} ${FW_LIB} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${SIZE} ${FW_LIB} failed")
endif()
message("crypto code size on Cortex-M4 (-Os, ${FW_LIB}):\n${out}")

# Worst-case stack on the Cortex-M4, from GCC's call-graph output (see stack_usage.sh).
execute_process(COMMAND sh ${STACK_SCRIPT} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${STACK_SCRIPT} failed (${rc})")
endif()
message("crypto worst-case stack on Cortex-M4 (-Os):\n${out}")

# Instructions executed on an emulated Cortex-M4 (m4/m4_count.c), results checked against the host.
execute_process(COMMAND ${M4_COUNT} ${M4_BIN} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${M4_COUNT} failed (${rc})")
endif()
message("crypto on an emulated Cortex-M4 (Unicorn; instructions, not cycles):\n${out}")
