# The installed library as an application developer meets it (run by ctest,
# cmake -P): `cmake --install` into a fresh prefix, examples/classify
# configured and built out of tree against it with find_package(effnet), then
# again with plain c++ and pkg-config when pkg-config is there, and run on a
# generated weights file and image; its P(cardiomegaly) must be
# effnet_predict's for the same files, and a missing image a clear error.
# Only the example is compiled: the library comes from the prefix.
cmake_minimum_required(VERSION 3.16)

function(run)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
    endif()
    set(run_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK})
set(prefix ${WORK}/prefix)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(f include/effnet/effnet.h lib/cmake/effnet/effnetConfig.cmake lib/cmake/effnet/effnetConfigVersion.cmake
          lib/cmake/effnet/effnetTargets.cmake lib/pkgconfig/effnet.pc lib/lib${LIBRARY}.so bin/effnet_predict)
    if(NOT EXISTS ${prefix}/${f})
        message(FATAL_ERROR "cmake --install did not write ${f}")
    endif()
endforeach()
file(GLOB headers RELATIVE ${prefix}/include ${prefix}/include/*/* ${prefix}/include/*)
if(NOT headers STREQUAL "effnet;effnet/effnet.h")
    message(FATAL_ERROR "installed headers: ${headers} (only effnet/effnet.h expected)")
endif()

run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/classify -B ${WORK}/build -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK}/build)

run(${FIXTURE} ${WORK}/weights.safetensors ${WORK}/chest.png)
run(${WORK}/build/classify ${WORK}/weights.safetensors ${WORK}/chest.png)
if(NOT run_output MATCHES "P\\(cardiomegaly\\) = ([01]\\.[0-9]+)\n")
    message(FATAL_ERROR "classify printed: ${run_output}")
endif()
set(p_classify ${CMAKE_MATCH_1})
run(${PREDICT} --weights ${WORK}/weights.safetensors ${WORK}/chest.png)
if(NOT run_output MATCHES "chest.png,([0-9.e-]+),[01]")
    message(FATAL_ERROR "effnet_predict printed: ${run_output}")
endif()
set(p_predict ${CMAKE_MATCH_1})
# (CMake has no floating-point arithmetic: the two printed values agree to 4 decimals.)
string(SUBSTRING "${p_classify}000000" 0 6 a)
string(SUBSTRING "${p_predict}000000" 0 6 b)
if(NOT a STREQUAL b)
    message(FATAL_ERROR "classify says ${p_classify}, effnet_predict ${p_predict}")
endif()

execute_process(COMMAND ${WORK}/build/classify ${WORK}/weights.safetensors ${WORK}/missing.png
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "missing.png")
    message(FATAL_ERROR "a missing image gave status ${rc}: ${err}")
endif()

find_program(PKG_CONFIG pkg-config)
if(PKG_CONFIG)
    set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig)
    run(${PKG_CONFIG} --cflags --libs effnet)
    string(STRIP "${run_output}" flags)
    separate_arguments(flags UNIX_COMMAND "${flags}")
    run(${CXX} ${SOURCE_DIR}/examples/classify/classify.cpp -o ${WORK}/classify_pc ${flags})
    set(ENV{LD_LIBRARY_PATH} ${prefix}/lib)
    run(${WORK}/classify_pc ${WORK}/weights.safetensors ${WORK}/chest.png)
    if(NOT run_output MATCHES "P\\(cardiomegaly\\) = ${p_classify}\n")
        message(FATAL_ERROR "built with pkg-config, classify printed: ${run_output}")
    endif()
else()
    message(STATUS "pkg-config not found: effnet.pc not checked")
endif()
message(STATUS "installed, built out of tree and classified: P(cardiomegaly) = ${p_classify}")
