/*
 * Not compiled: app/CMakeLists.txt runs only the preprocessor over this file, with each firmware
 * variant's defines, into <variant>.server.txt, so scripts and tests learn the update server a
 * binary was built for (to map it on the virtual board's LAN) from app_config.h itself.
 */
#include "app_config.h"
app_server host=APP_SERVER_HOST port=APP_SERVER_PORT proto=APP_SERVER_PROTO dhcp=APP_USE_DHCP path=APP_SERVER_PATH
