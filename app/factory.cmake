# Build-time step of app/CMakeLists.txt: factory.hex and app-installed.hex with otafactory, when
# the host build has made it (it may appear after build/fw was configured). Without it the step
# says so and succeeds; `make flash-factory` then reports the missing file.
# Variables: OTAFACTORY, BOOT_BIN, APP_IMG, FACTORY_HEX, INSTALLED_HEX.
if(NOT EXISTS "${OTAFACTORY}")
    message(STATUS "factory.hex not made: ${OTAFACTORY} does not exist (build the host tools)")
    return()
endif()
execute_process(
    COMMAND "${OTAFACTORY}" --boot "${BOOT_BIN}" --image "${APP_IMG}" --hex "${FACTORY_HEX}"
            --installed-hex "${INSTALLED_HEX}"
    RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "otafactory failed (${rc})")
endif()
