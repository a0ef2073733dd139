# Entry points. CMake does the building; this file only sequences the two builds:
#   build/host  host tools, models and tests (clang, ASan + UBSan)
#   build/fw    STM32F446 firmware (arm-none-eabi-gcc), signed with build/host/otapack
#   build/bench host code for benchmarks (optimised, no sanitizers)
BUILD   ?= build
HOST    := $(BUILD)/host
FW      := $(BUILD)/fw
BENCHB  := $(BUILD)/bench
GEN     ?= Ninja
CMAKE_ARGS ?=
# Number of test jobs; CI has 2 cores.
JOBS    ?= 2

.PHONY: all tools firmware test bench bench-long demo fuzz lint format flash-boot flash-app clean

all: tools firmware

$(HOST)/build.ninja:
	cmake -S . -B $(HOST) -G $(GEN) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
	      -DOTA_FW_DIR=$(abspath $(FW)) $(CMAKE_ARGS)

tools: $(HOST)/build.ninja
	cmake --build $(HOST)

$(FW)/build.ninja:
	cmake -S . -B $(FW) -G $(GEN) -DCMAKE_BUILD_TYPE=MinSizeRel \
	      -DCMAKE_TOOLCHAIN_FILE=$(abspath cmake/arm-none-eabi.cmake) \
	      -DOTAPACK=$(abspath $(HOST))/otapack $(CMAKE_ARGS)

firmware: tools $(FW)/build.ninja
	cmake --build $(FW)

test: tools firmware
	ctest --test-dir $(HOST) --output-on-failure -j $(JOBS)

$(BENCHB)/build.ninja:
	cmake -S . -B $(BENCHB) -G $(GEN) -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang \
	      -DOTA_SANITIZE=OFF -DOTA_FW_DIR=$(abspath $(FW)) $(CMAKE_ARGS)

bench: firmware $(BENCHB)/build.ninja
	cmake --build $(BENCHB)
	cmake --build $(BENCHB) --target bench

bench-long: firmware $(BENCHB)/build.ninja
	cmake --build $(BENCHB)
	OTA_BENCH_LONG=1 cmake --build $(BENCHB) --target bench

demo: tools firmware
	@if [ -x scripts/demo.sh ]; then scripts/demo.sh; else echo "demo: not available yet (issue 6)"; exit 1; fi

FUZZ_SECONDS ?= 60
fuzz: tools
	FUZZ_SECONDS=$(FUZZ_SECONDS) cmake --build $(HOST) --target fuzz

lint: tools firmware
	scripts/lint.sh $(HOST) $(FW)

format:
	git ls-files '*.c' '*.h' | xargs clang-format -i

# A real NUCLEO-F446RE through its ST-LINK (OpenOCD). Not run in CI.
OPENOCD ?= openocd -f interface/stlink.cfg -f target/stm32f4x.cfg
flash-boot: firmware
	$(OPENOCD) -c "program $(FW)/bootloader.elf verify reset exit"

flash-app: firmware
	$(OPENOCD) -c "program $(FW)/app-installed.hex verify reset exit"

flash-factory: firmware
	$(OPENOCD) -c "program $(FW)/factory.hex verify reset exit"

clean:
	rm -rf $(BUILD)
