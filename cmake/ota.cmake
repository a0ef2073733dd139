# Shared build rules: warnings, sanitizers, and helpers to register unit tests, fuzzers and benches.

set(OTA_WARNINGS -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla -Wformat=2
    -Wundef -Wpointer-arith)

function(ota_target_warnings target)
    target_compile_options(${target} PRIVATE ${OTA_WARNINGS})
endfunction()

# Portable library: built for the host (tests, tools) and for the target (firmware) alike.
# Usage: ota_add_library(name SOURCES a.c b.c INCLUDES dir... LIBS other...)
function(ota_add_library name)
    cmake_parse_arguments(A "" "" "SOURCES;INCLUDES;LIBS" ${ARGN})
    add_library(${name} STATIC ${A_SOURCES})
    target_include_directories(${name} PUBLIC ${A_INCLUDES})
    target_link_libraries(${name} PUBLIC ota_common ${A_LIBS})
    ota_target_warnings(${name})
endfunction()

if(NOT CMAKE_CROSSCOMPILING)
    # Everything `make test` and `make bench` run needs these (scripts/setup.sh installs them): a
    # missing one stops the configuration instead of quietly leaving tests out.
    if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
        message(FATAL_ERROR "host build: needs clang (libFuzzer for the fuzz tests); "
                            "configure with -DCMAKE_C_COMPILER=clang as the Makefile does")
    endif()
    find_package(Python3 REQUIRED COMPONENTS Interpreter)
    find_program(OTA_ARM_GCC arm-none-eabi-gcc REQUIRED)
    find_program(OTA_ARM_OBJCOPY arm-none-eabi-objcopy REQUIRED)
    find_program(OTA_ARM_SIZE arm-none-eabi-size REQUIRED)
    find_library(OTA_UNICORN_LIB unicorn REQUIRED)
    find_path(OTA_UNICORN_INCLUDE unicorn/unicorn.h REQUIRED)

    option(OTA_SANITIZE "Build host code with AddressSanitizer and UndefinedBehaviorSanitizer" ON)
    if(OTA_SANITIZE)
        add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                            -fno-omit-frame-pointer)
        add_link_options(-fsanitize=address,undefined)
        # libFuzzer learns only from code compiled with its coverage instrumentation: without
        # this the libraries a fuzzer links (image, crypto, w5500, the model) give it no
        # feedback. fuzzer-no-link instruments without linking libFuzzer's main, so every other
        # executable links as before (the ASan runtime provides the coverage callbacks).
        add_compile_options(-fsanitize=fuzzer-no-link)
    endif()

    find_library(CMOCKA_LIB cmocka REQUIRED)
    find_path(CMOCKA_INCLUDE cmocka.h REQUIRED)

    # Unit test on cmocka. Usage: ota_add_unit_test(name SOURCES ... LIBS ... [TIMEOUT s] [LABELS ...])
    function(ota_add_unit_test name)
        cmake_parse_arguments(A "" "TIMEOUT" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
        add_executable(${name} ${A_SOURCES})
        target_include_directories(${name} PRIVATE ${CMOCKA_INCLUDE})
        target_link_libraries(${name} PRIVATE ${A_LIBS} ${CMOCKA_LIB})
        target_compile_definitions(${name} PRIVATE
            OTA_TESTVECTORS_DIR="${OTA_SHARED_DIR}/testvectors"
            OTA_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
            OTA_BINARY_DIR="${CMAKE_BINARY_DIR}"
            OTA_FW_DIR="${OTA_FW_DIR}")
        ota_target_warnings(${name})
        add_test(NAME ${name} COMMAND ${name} ${A_ARGS})
        if(NOT A_TIMEOUT)
            set(A_TIMEOUT 120)
        endif()
        set_tests_properties(${name} PROPERTIES TIMEOUT ${A_TIMEOUT} LABELS "unit;${A_LABELS}")
    endfunction()

    # libFuzzer target. A short run is registered as a test; `make fuzz` runs longer.
    # Usage: ota_add_fuzzer(name SOURCES ... LIBS ... [RUNS n])
    add_custom_target(fuzz)
    function(ota_add_fuzzer name)
        cmake_parse_arguments(A "" "RUNS" "SOURCES;LIBS" ${ARGN})
        if(NOT A_RUNS)
            set(A_RUNS 20000)
        endif()
        add_executable(${name} ${A_SOURCES})
        target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
        target_link_options(${name} PRIVATE -fsanitize=fuzzer)
        target_link_libraries(${name} PRIVATE ${A_LIBS})
        ota_target_warnings(${name})
        add_test(NAME ${name}_short COMMAND ${name} -runs=${A_RUNS} -seed=1)
        set_tests_properties(${name}_short PROPERTIES TIMEOUT 300 LABELS "fuzz")
        add_custom_target(fuzz_${name}
            COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/fuzz-corpus/${name}
            COMMAND $<TARGET_FILE:${name}> -max_total_time=$ENV{FUZZ_SECONDS}
                    ${CMAKE_BINARY_DIR}/fuzz-corpus/${name}
            DEPENDS ${name} USES_TERMINAL)
        add_dependencies(fuzz fuzz_${name})
    endfunction()

    # Benchmark: a command whose output is the figures. Usage: ota_add_bench(name COMMAND ...)
    add_custom_target(bench)
    function(ota_add_bench name)
        cmake_parse_arguments(A "" "" "COMMAND;DEPENDS" ${ARGN})
        add_custom_target(bench_${name} COMMAND ${A_COMMAND} DEPENDS ${A_DEPENDS} USES_TERMINAL)
        add_dependencies(bench bench_${name})
    endfunction()
endif()
