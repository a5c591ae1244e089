// Running programs under mpirun from tests. These machines and CI run as
// root, which Open MPI refuses unless told (the two variables below); the
// hosts have fewer cores than some tests' ranks (--oversubscribe). A `timeout`
// bounds every job, so a hang fails the test instead of stalling the suite.
#pragma once

#include <string>

#include "effnet_config.h"

namespace effnet::test {

// Why mpirun jobs cannot run here ("" when they can): for GTEST_SKIP.
inline std::string mpirun_unavailable() {
    if (!kWithMpi)
        return "this effnet was built without MPI (libopenmpi-dev); multi-process training is off";
    if (std::string(EFFNET_MPIEXEC).empty())
        return "MPI was found at build time but no mpirun (openmpi-bin)";
    return "";
}

// "timeout ... mpirun -np N": append the program and its arguments.
inline std::string mpirun(int ranks, int timeout_s = 240) {
    return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
           "OMPI_MCA_rmaps_base_oversubscribe=1 timeout -k 10 " +
           std::to_string(timeout_s) + " " + std::string(EFFNET_MPIEXEC) + " --oversubscribe -np " +
           std::to_string(ranks) + " ";
}

}  // namespace effnet::test

// In a TEST: skips it, with the reason, where mpirun jobs cannot run.
#define SKIP_WITHOUT_MPIRUN()                                         \
    do {                                                              \
        const std::string why = ::effnet::test::mpirun_unavailable(); \
        if (!why.empty()) GTEST_SKIP() << why;                        \
    } while (0)
