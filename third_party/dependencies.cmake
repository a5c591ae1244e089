# Finds the system packages effnet uses. Nothing here is foreign source code:
# each dependency comes from a Debian package, or from a folder of that
# package's files named by EFFNET_DEPS_DIR (for machines without the packages,
# e.g. a GPU box with no internet; see scripts/gather_deps.sh).
#
#   Eigen 3      libeigen3-dev         CPU GEMM
#   stb          libstb-dev            image decode/encode
#   GoogleTest   googletest / libgtest-dev
#   OpenMP       libgomp (with g++)    CPU threads
#   libpng       libpng-dev (optional) fast greyscale PNG decoding
#   DCMTK        libdcmtk-dev (optional) DICOM input
#   MPI          libopenmpi-dev + openmpi-bin (optional) multi-process training

set(EFFNET_DEPS_DIR "$ENV{EFFNET_DEPS_DIR}" CACHE PATH
    "Optional folder holding eigen3/, stb/ and googletest/ copied from the Debian packages")

function(effnet_missing what package)
    message(FATAL_ERROR "effnet: ${what} not found. Install the Debian package '${package}' "
                        "(scripts/setup.sh does it) or point EFFNET_DEPS_DIR at a folder that holds it.")
endfunction()

# --- Eigen --------------------------------------------------------------------
find_package(Eigen3 3.3 NO_MODULE QUIET)
if(NOT TARGET Eigen3::Eigen)
    find_path(EFFNET_EIGEN_INCLUDE Eigen/Core
              HINTS ${EFFNET_DEPS_DIR}/eigen3 ${EFFNET_DEPS_DIR}/include/eigen3 PATH_SUFFIXES eigen3)
    if(NOT EFFNET_EIGEN_INCLUDE)
        effnet_missing("Eigen 3" "libeigen3-dev")
    endif()
    add_library(Eigen3::Eigen INTERFACE IMPORTED)
    set_target_properties(Eigen3::Eigen PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${EFFNET_EIGEN_INCLUDE})
endif()

# --- stb ----------------------------------------------------------------------
# Debian ships the headers plus libstb.so with the implementations. Where only
# the headers exist, data/stb_impl.cpp compiles the implementation (one file).
find_path(EFFNET_STB_INCLUDE stb_image.h
          HINTS ${EFFNET_DEPS_DIR}/stb ${EFFNET_DEPS_DIR}/include/stb PATH_SUFFIXES stb)
if(NOT EFFNET_STB_INCLUDE)
    effnet_missing("stb_image.h" "libstb-dev")
endif()
find_library(EFFNET_STB_LIBRARY NAMES stb)
if(EFFNET_SANITIZE)
    set(EFFNET_STB_LIBRARY "")  # compiled from the header, so the sanitizers see inside it
endif()
if(EFFNET_STB_LIBRARY)
    message(STATUS "effnet: stb from ${EFFNET_STB_LIBRARY}")
else()
    message(STATUS "effnet: no libstb found; compiling stb_image from ${EFFNET_STB_INCLUDE}")
endif()

# --- libpng (optional) ---------------------------------------------------------
# 8-bit grey PNGs decode through libpng when present (much faster inflate);
# everything works without it through stb_image.
find_package(PNG QUIET)
set(EFFNET_HAVE_LIBPNG ${PNG_FOUND})
if(PNG_FOUND)
    message(STATUS "effnet: libpng ${PNG_VERSION_STRING} for greyscale PNGs")
else()
    message(STATUS "effnet: no libpng (libpng-dev); all images decode through stb_image")
endif()

# --- libjpeg-turbo (optional, wanted) ------------------------------------------
# JPEG decodes through libjpeg (data/jpeg_decode.cpp) when present:
# stb_image 2.27's Huffman decoder reads past its tables on damaged
# entropy-coded data (a fuzzing finding), libjpeg-turbo refuses it. Without
# libjpeg-dev JPEGs fall back to stb_image behind data/jpeg_check.cpp.
find_package(JPEG QUIET)
set(EFFNET_HAVE_LIBJPEG ${JPEG_FOUND})
if(JPEG_FOUND)
    message(STATUS "effnet: libjpeg ${JPEG_VERSION} for JPEG")
else()
    message(STATUS "effnet: no libjpeg (libjpeg-dev); JPEGs decode through stb_image")
endif()

# --- DCMTK (optional) ----------------------------------------------------------
# DICOM input (data/dicom.cpp): dcmdata parses files and decodes RLE, dcmimgle
# and dcmimage turn stored values into grey pixels, dcmjpeg and dcmjpls decode
# JPEG and JPEG-LS pixel data. Without it, .dcm files are refused by name.
set(EFFNET_DICOM "AUTO" CACHE STRING "DICOM input through DCMTK: AUTO (when libdcmtk-dev is found), ON or OFF")
set_property(CACHE EFFNET_DICOM PROPERTY STRINGS AUTO ON OFF)
set(EFFNET_WITH_DICOM OFF)
if(NOT EFFNET_DICOM STREQUAL "OFF")
    find_package(DCMTK CONFIG QUIET)
    if(DCMTK_FOUND AND TARGET DCMTK::dcmimgle AND TARGET DCMTK::dcmimage AND TARGET DCMTK::dcmjpeg AND TARGET DCMTK::dcmjpls)
        set(EFFNET_WITH_DICOM ON)
        set(EFFNET_DCMTK_LIBRARIES DCMTK::dcmdata DCMTK::dcmimgle DCMTK::dcmimage DCMTK::dcmjpeg DCMTK::dcmjpls)
        message(STATUS "effnet: DICOM input through DCMTK ${DCMTK_VERSION}")
    elseif(EFFNET_DICOM STREQUAL "ON")
        effnet_missing("DCMTK" "libdcmtk-dev")
    else()
        message(STATUS "effnet: no DCMTK (libdcmtk-dev); DICOM files will be refused")
    endif()
else()
    message(STATUS "effnet: DICOM input off (EFFNET_DICOM=OFF); DICOM files will be refused")
endif()

# --- MPI (optional) ------------------------------------------------------------
# Data-parallel training over several processes (dist/, docs/distributed.md),
# launched by mpirun. Without it every app builds and runs single-process.
set(EFFNET_MPI "AUTO" CACHE STRING "Multi-process training through MPI: AUTO (when found), ON or OFF")
set_property(CACHE EFFNET_MPI PROPERTY STRINGS AUTO ON OFF)
set(EFFNET_WITH_MPI OFF)
if(NOT EFFNET_MPI STREQUAL "OFF")
    set(MPI_CXX_SKIP_MPICXX ON)  # the C API only; the deprecated C++ bindings stay out
    find_package(MPI COMPONENTS CXX QUIET)
    if(MPI_CXX_FOUND)
        set(EFFNET_WITH_MPI ON)
        find_program(EFFNET_MPIEXEC NAMES ${MPIEXEC_EXECUTABLE} mpirun mpiexec)
        if(NOT EFFNET_MPIEXEC)
            set(EFFNET_MPIEXEC "")  # the tests that need it skip, saying so
        endif()
        message(STATUS "effnet: multi-process training through MPI ${MPI_CXX_VERSION} (${EFFNET_MPIEXEC})")
    elseif(EFFNET_MPI STREQUAL "ON")
        effnet_missing("MPI" "libopenmpi-dev")
    else()
        message(STATUS "effnet: no MPI (libopenmpi-dev); training is single-process")
    endif()
else()
    message(STATUS "effnet: MPI off (EFFNET_MPI=OFF); training is single-process")
endif()

# --- OpenMP -------------------------------------------------------------------
find_package(OpenMP REQUIRED COMPONENTS CXX)

# --- GoogleTest ---------------------------------------------------------------
if(EFFNET_BUILD_TESTS)
    find_package(GTest QUIET)
    if(NOT TARGET GTest::gtest_main)
        set(_gtest_src "")
        foreach(dir ${EFFNET_DEPS_DIR}/googletest /usr/src/googletest)
            if(EXISTS ${dir}/CMakeLists.txt)
                set(_gtest_src ${dir})
                break()
            endif()
        endforeach()
        if(NOT _gtest_src)
            effnet_missing("GoogleTest" "libgtest-dev")
        endif()
        set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
        set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
        add_subdirectory(${_gtest_src} ${PROJECT_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
        add_library(GTest::gtest ALIAS gtest)
        add_library(GTest::gtest_main ALIAS gtest_main)
    endif()
    include(GoogleTest)
endif()
