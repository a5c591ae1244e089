# Decides whether the CUDA backend is built (EFFNET_CUDA = AUTO | ON | OFF) and
# finds cuBLAS, cuDNN and NVTX. With OFF nothing CUDA is searched for, compiled
# or linked: the embedded, CPU-only engine.
include(CheckLanguage)

set(EFFNET_WITH_CUDA OFF)
if(NOT EFFNET_CUDA STREQUAL "OFF")
    check_language(CUDA)
    set(_why "")
    if(NOT CMAKE_CUDA_COMPILER)
        set(_why "no CUDA compiler (nvcc) found")
    else()
        find_package(CUDAToolkit QUIET)
        if(NOT CUDAToolkit_FOUND)
            set(_why "CUDA toolkit libraries not found")
        endif()
    endif()
    if(NOT _why)
        # cuDNN lives under the toolkit on workstations, and inside the
        # nvidia-cudnn-cu* Python wheel on machines that got it with PyTorch.
        set(_cudnn_hints $ENV{CUDNN_ROOT} ${CUDNN_ROOT} ${CUDAToolkit_LIBRARY_ROOT})
        find_package(Python3 COMPONENTS Interpreter QUIET)
        if(Python3_FOUND)
            execute_process(COMMAND ${Python3_EXECUTABLE} -c
                "import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))"
                OUTPUT_VARIABLE _wheel OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
            if(_wheel)
                list(APPEND _cudnn_hints ${_wheel})
            endif()
        endif()
        find_path(EFFNET_CUDNN_INCLUDE cudnn.h HINTS ${_cudnn_hints} ${CUDAToolkit_INCLUDE_DIRS}
                  PATH_SUFFIXES include)
        find_library(EFFNET_CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 HINTS ${_cudnn_hints}
                     ${CUDAToolkit_LIBRARY_DIR} PATH_SUFFIXES lib lib64)
        if(NOT EFFNET_CUDNN_INCLUDE OR NOT EFFNET_CUDNN_LIBRARY)
            set(_why "cuDNN (cudnn.h / libcudnn) not found; set CUDNN_ROOT")
        endif()
    endif()
    if(_why)
        if(EFFNET_CUDA STREQUAL "ON")
            message(FATAL_ERROR "effnet: EFFNET_CUDA=ON but ${_why}")
        endif()
        message(STATUS "effnet: building the CPU-only engine (${_why})")
    else()
        set(EFFNET_WITH_CUDA ON)
    endif()
endif()

if(EFFNET_WITH_CUDA)
    enable_language(CUDA)
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    add_library(effnet_cuda_libs INTERFACE)
    target_include_directories(effnet_cuda_libs INTERFACE ${EFFNET_CUDNN_INCLUDE})
    target_link_libraries(effnet_cuda_libs INTERFACE CUDA::cudart CUDA::cublas ${EFFNET_CUDNN_LIBRARY})
    message(STATUS "effnet: CUDA backend ON for architectures ${CMAKE_CUDA_ARCHITECTURES}; "
                   "cuDNN ${EFFNET_CUDNN_LIBRARY}")
else()
    message(STATUS "effnet: CUDA backend OFF")
endif()

# NCCL: the GPU all-reduce of multi-process training (dist/nccl_communicator.h).
# Its communicator is bootstrapped over MPI, so it is used only with MPI.
# Found under the toolkit, in the Debian libnccl-dev locations, or inside the
# nvidia-nccl-cu* Python wheel (as cuDNN above); NCCL_ROOT overrides.
set(EFFNET_WITH_NCCL OFF)
if(EFFNET_WITH_CUDA AND EFFNET_WITH_MPI)
    set(_nccl_hints $ENV{NCCL_ROOT} ${NCCL_ROOT} ${CUDAToolkit_LIBRARY_ROOT})
    if(Python3_FOUND)
        execute_process(COMMAND ${Python3_EXECUTABLE} -c
            "import nvidia.nccl, os; print(os.path.dirname(nvidia.nccl.__file__))"
            OUTPUT_VARIABLE _nccl_wheel OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
        if(_nccl_wheel)
            list(APPEND _nccl_hints ${_nccl_wheel})
        endif()
    endif()
    find_path(EFFNET_NCCL_INCLUDE nccl.h HINTS ${_nccl_hints} ${CUDAToolkit_INCLUDE_DIRS} PATH_SUFFIXES include)
    find_library(EFFNET_NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS ${_nccl_hints} ${CUDAToolkit_LIBRARY_DIR}
                 PATH_SUFFIXES lib lib64)
    if(EFFNET_NCCL_INCLUDE AND EFFNET_NCCL_LIBRARY)
        set(EFFNET_WITH_NCCL ON)
        add_library(effnet_nccl INTERFACE)
        target_include_directories(effnet_nccl INTERFACE ${EFFNET_NCCL_INCLUDE})
        target_link_libraries(effnet_nccl INTERFACE ${EFFNET_NCCL_LIBRARY})
        message(STATUS "effnet: NCCL ${EFFNET_NCCL_LIBRARY} for multi-GPU training")
    else()
        message(STATUS "effnet: no NCCL (nccl.h / libnccl; set NCCL_ROOT); multi-GPU training stages through host MPI")
    endif()
endif()
