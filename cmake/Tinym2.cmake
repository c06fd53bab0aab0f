# tinym2 in a CMake project: generate a model's C sources at build time and build them, with the
# runtime-c kernels, into a static library.
#
#   include(path/to/node_modules/tinym2/cmake/Tinym2.cmake)
#   tinym2_add_model(kws MODEL models/kws.onnx CALIB models/calib.npz PRECISION mixed BOARD nrf52840-dk)
#   target_link_libraries(firmware PRIVATE kws)        # #include "kws.h", tm2_kws_run(&in, &out)
#
# tinym2_add_model(<target> MODEL m.onnx CALIB c.npz [PRECISION int8|int4|mixed | PLAN p.json | FLASH size]
#                  [BOARD b] [OUTPUT_DIR d])
#   <target> is also the C name of the model (a C identifier). Generation runs `tinym2 compile` when the model,
#   the calibration rows, the plan or tinym2 itself (its package.json, i.e. its version) changed. tinym2 keeps
#   the modification time of every file whose bytes did not change, so regenerating an unchanged model
#   recompiles nothing. OUTPUT_DIR defaults to ${CMAKE_CURRENT_BINARY_DIR}/tinym2/<target>.
#
# TINYM2_EXECUTABLE: the command that runs tinym2 (default: node with this package's bin/tinym2.js).
include_guard(GLOBAL)

set(_TINYM2_ROOT "${CMAKE_CURRENT_LIST_DIR}/..")
get_filename_component(_TINYM2_ROOT "${_TINYM2_ROOT}" ABSOLUTE)
find_program(TINYM2_NODE node)
set(TINYM2_EXECUTABLE "${TINYM2_NODE};${_TINYM2_ROOT}/bin/tinym2.js" CACHE STRING "Command that runs tinym2")

function(tinym2_add_model target)
  cmake_parse_arguments(PARSE_ARGV 1 TM2 "" "MODEL;CALIB;PRECISION;PLAN;FLASH;BOARD;OUTPUT_DIR" "")
  if(NOT TM2_MODEL OR NOT TM2_CALIB)
    message(FATAL_ERROR "tinym2_add_model(${target}): MODEL and CALIB are required")
  endif()
  if(NOT target MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
    message(FATAL_ERROR "tinym2_add_model(${target}): the target name is the model's C name and must be a C identifier")
  endif()
  set(chosen 0)
  foreach(opt PRECISION PLAN FLASH)
    if(TM2_${opt})
      math(EXPR chosen "${chosen} + 1")
    endif()
  endforeach()
  if(chosen GREATER 1)
    message(FATAL_ERROR "tinym2_add_model(${target}): give one of PRECISION, PLAN, FLASH")
  endif()
  if(NOT TM2_OUTPUT_DIR)
    set(TM2_OUTPUT_DIR "${CMAKE_CURRENT_BINARY_DIR}/tinym2/${target}")
  endif()
  get_filename_component(model "${TM2_MODEL}" ABSOLUTE)
  get_filename_component(calib "${TM2_CALIB}" ABSOLUTE)
  get_filename_component(out "${TM2_OUTPUT_DIR}" ABSOLUTE)

  set(args compile "${model}" --calib "${calib}" --name "${target}" -o "${out}" --quiet)
  set(depends "${model}" "${calib}" "${_TINYM2_ROOT}/package.json")
  if(TM2_PRECISION)
    list(APPEND args --precision "${TM2_PRECISION}")
  elseif(TM2_PLAN)
    get_filename_component(plan "${TM2_PLAN}" ABSOLUTE)
    list(APPEND args --plan "${plan}")
    list(APPEND depends "${plan}")
  elseif(TM2_FLASH)
    list(APPEND args --flash "${TM2_FLASH}")
  endif()
  if(TM2_BOARD)
    list(APPEND args --board "${TM2_BOARD}")
  endif()

  # The model's own sources; the kernels are built from the package's runtime-c (the same files compile copies).
  set(model_sources "${out}/${target}.c" "${out}/${target}_weights.c")
  # Without the reference kernels (*_ref.c), as compiler/codegen/generate.ts runtimeFiles() (test/cmake.test.ts checks).
  file(GLOB runtime_sources "${_TINYM2_ROOT}/runtime-c/src/*.c")
  list(FILTER runtime_sources EXCLUDE REGEX "_ref\\.c$")
  set(stamp "${CMAKE_CURRENT_BINARY_DIR}/tinym2/${target}.stamp")
  add_custom_command(
    OUTPUT "${stamp}"
    BYPRODUCTS ${model_sources} "${out}/${target}.h"
    COMMAND ${TINYM2_EXECUTABLE} ${args}
    COMMAND "${CMAKE_COMMAND}" -E touch "${stamp}"
    DEPENDS ${depends}
    COMMENT "tinym2: generating ${target} from ${TM2_MODEL}"
    VERBATIM)
  add_custom_target(${target}_generate DEPENDS "${stamp}")

  add_library(${target} STATIC ${model_sources} ${runtime_sources})
  add_dependencies(${target} ${target}_generate)
  target_include_directories(${target} PUBLIC "${out}" "${_TINYM2_ROOT}/runtime-c/include" PRIVATE "${_TINYM2_ROOT}/runtime-c/src")
  set_target_properties(${target} PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON)
endfunction()
