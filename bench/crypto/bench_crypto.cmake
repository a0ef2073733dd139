# Runs the host throughput bench, then reports the Cortex-M4 code size of each library object
# from the firmware build (arm-none-eabi-size on libota_crypto.a), if that build exists.
# Usage: cmake -DBENCH=<exe> -DFW_LIB=<libota_crypto.a> -DSIZE=<arm-none-eabi-size> -P this
execute_process(COMMAND ${BENCH} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "bench_crypto failed (${rc})")
endif()
if(NOT EXISTS "${FW_LIB}")
    message(STATUS "crypto code size: ${FW_LIB} not built (make firmware first)")
    return()
endif()
if(NOT SIZE)
    message(STATUS "crypto code size: arm-none-eabi-size not found")
    return()
endif()
execute_process(COMMAND ${SIZE} ${FW_LIB} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${SIZE} ${FW_LIB} failed")
endif()
message("crypto code size on Cortex-M4 (-Os, ${FW_LIB}):\n${out}")

# Worst-case stack on the Cortex-M4, from GCC's call-graph output (see stack_usage.sh).
if(STACK_SCRIPT)
    execute_process(COMMAND sh ${STACK_SCRIPT} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${STACK_SCRIPT} failed (${rc})")
    endif()
    message("crypto worst-case stack on Cortex-M4 (-Os):\n${out}")
endif()

# Instructions executed on an emulated Cortex-M4 (m4/m4_count.c), results checked against the host.
if(M4_COUNT)
    execute_process(COMMAND ${M4_COUNT} ${M4_BIN} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${M4_COUNT} failed (${rc})")
    endif()
    message("crypto on an emulated Cortex-M4 (Unicorn; instructions, not cycles):\n${out}")
endif()
