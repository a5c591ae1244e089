// Typed handles of the CUDA runtime and its libraries, declared without any
// CUDA header so that every part of effnet compiles in the CPU-only build.
// The structs are CUDA's own opaque types, so in CUDA code a CudaStream *is* a
// cudaStream_t (a CublasHandle a cublasHandle_t, a CudnnHandle a
// cudnnHandle_t): no cast between them. A CPU Context's handles are null, and
// the cpu:: reference kernels take (and ignore) a CudaStream so that they
// mirror the cuda:: signatures.
#pragma once

struct CUstream_st;     // cudaStream_t    = CUstream_st*     (driver_types.h)
struct CUevent_st;      // cudaEvent_t     = CUevent_st*
struct CUgraph_st;      // cudaGraph_t     = CUgraph_st*
struct CUgraphExec_st;  // cudaGraphExec_t = CUgraphExec_st*
struct cublasContext;   // cublasHandle_t  = cublasContext*   (cublas_api.h)
struct cudnnContext;    // cudnnHandle_t   = cudnnContext*    (cudnn_graph.h)

namespace effnet {

using CudaStream = CUstream_st*;
using CublasHandle = cublasContext*;
using CudnnHandle = cudnnContext*;

}  // namespace effnet
