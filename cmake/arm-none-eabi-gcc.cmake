# CMake toolchain file for Cortex-M with the GNU Arm Embedded toolchain (Debian: gcc-arm-none-eabi,
# libnewlib-arm-none-eabi):
#   cmake -S . -B build -DCMAKE_TOOLCHAIN_FILE=path/to/tinym2/cmake/arm-none-eabi-gcc.cmake -DTINYM2_CPU=cortex-m4
# TINYM2_CPU: cortex-m4 (default; hard float, fpv4-sp-d16) or cortex-m7 (fpv5-d16).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
# No OS to link a test program against while CMake probes the compiler.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(TINYM2_CPU cortex-m4 CACHE STRING "Cortex-M core: cortex-m4 or cortex-m7")
if(TINYM2_CPU STREQUAL "cortex-m7")
  set(_tm2_fpu fpv5-d16)
elseif(TINYM2_CPU STREQUAL "cortex-m4")
  set(_tm2_fpu fpv4-sp-d16)
else()
  message(FATAL_ERROR "TINYM2_CPU '${TINYM2_CPU}': use cortex-m4 or cortex-m7")
endif()
set(CMAKE_C_FLAGS_INIT "-mcpu=${TINYM2_CPU} -mthumb -mfpu=${_tm2_fpu} -mfloat-abi=hard -ffunction-sections -fdata-sections")
set(CMAKE_EXE_LINKER_FLAGS_INIT "--specs=nosys.specs -Wl,--gc-sections")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
