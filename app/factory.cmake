# Build-time step of app/CMakeLists.txt: factory.hex and app-installed.hex with the host build's
# otafactory (checked here, not at configure time: `make firmware` builds the host tools first,
# but a build/fw configured by hand may come before them).
# Variables: OTAFACTORY, BOOT_BIN, APP_IMG, FACTORY_HEX, INSTALLED_HEX.
if(NOT EXISTS "${OTAFACTORY}")
    message(FATAL_ERROR "factory.hex: ${OTAFACTORY} does not exist (make tools first)")
endif()
execute_process(
    COMMAND "${OTAFACTORY}" --boot "${BOOT_BIN}" --image "${APP_IMG}" --hex "${FACTORY_HEX}"
            --installed-hex "${INSTALLED_HEX}"
    RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "otafactory failed (${rc})")
endif()
