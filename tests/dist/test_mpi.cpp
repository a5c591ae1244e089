// dist/'s communicators across real processes: mpirun -np 2 and 3 on this
// host (loopback), running tests/dist/mpi_worker.cpp. Skipped with the reason
// when this build has no MPI or no mpirun.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>

#include "apps/run_app.h"
#include "common/mpirun.h"

using namespace effnet::test;

namespace {
const std::string kWorker = std::string(EFFNET_BIN_DIR) + "/mpi_worker";
const std::string kTrainWorker =
    "-x OMP_NUM_THREADS=1 " + std::string(EFFNET_BIN_DIR) + "/mpi_train_worker";
}  // namespace

TEST(Mpi, CollectivesOnTwoRanks) {
    SKIP_WITHOUT_MPIRUN();
    AppResult r = run_app(mpirun(2) + kWorker + " collectives");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("worker ok (MPI ("), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("2 ranks on 1 host"), std::string::npos) << r.output;
}

TEST(Mpi, CollectivesOnThreeRanks) {
    SKIP_WITHOUT_MPIRUN();
    AppResult r = run_app(mpirun(3) + kWorker + " collectives");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("worker ok"), std::string::npos) << r.output;
}

TEST(Mpi, ReplicaCheckFailsEveryRankOnADivergence) {
    SKIP_WITHOUT_MPIRUN();
    AppResult r = run_app(mpirun(3) + kWorker + " diverge");
    EXPECT_EQ(r.status, 0) << r.output;  // every rank saw the divergence and named rank 2
    EXPECT_NE(r.output.find("worker ok"), std::string::npos) << r.output;
}

TEST(Mpi, ADeadRankEndsTheJobWithAMessage) {
    SKIP_WITHOUT_MPIRUN();
    const auto t0 = std::chrono::steady_clock::now();
    AppResult r = run_app(mpirun(2, 60) + kWorker + " die");
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_NE(r.status, 124) << "the surviving rank hung until the timeout:\n" << r.output;
    EXPECT_LT(seconds, 30) << r.output;
    EXPECT_NE(r.output.find("rank 1"), std::string::npos)
        << r.output;  // mpirun names the dead rank
    EXPECT_EQ(r.output.find("worker ok"), std::string::npos) << r.output;
}

TEST(Mpi, AnErrorOnOneRankAbortsTheOthers) {
    SKIP_WITHOUT_MPIRUN();
    const auto t0 = std::chrono::steady_clock::now();
    AppResult r = run_app(mpirun(2, 60) + kWorker + " throw");
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_NE(r.status, 124) << r.output;
    EXPECT_LT(seconds, 30) << r.output;
    EXPECT_NE(r.output.find("rank 1 of 2: mpi_worker: loss is NaN at epoch 1, step 3"),
              std::string::npos)
        << r.output;
}

// Training steps (tests/dist/mpi_train_worker.cpp prints the measured errors).
TEST(MpiTraining, TwoRanksWithSyncBnGiveTheOneProcessGradient) {
    SKIP_WITHOUT_MPIRUN();
    AppResult r = run_app(mpirun(2) + kTrainWorker + " sync-bn");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("worker ok"), std::string::npos) << r.output;
    std::cout << r.output.substr(0, r.output.find("worker ok"));
}

TEST(MpiTraining, PerRankBatchNormIsExactWhereTheHalvesAgree) {
    SKIP_WITHOUT_MPIRUN();
    AppResult r = run_app(mpirun(2) + kTrainWorker + " duplicated");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("worker ok"), std::string::npos) << r.output;
    std::cout << r.output.substr(0, r.output.find("worker ok"));
}

TEST(MpiTraining, TheTrainersReplicaCheckFiresOnADivergence) {
    SKIP_WITHOUT_MPIRUN();
    AppResult r = run_app(mpirun(2) + kTrainWorker + " diverge");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("replicas diverged after step 3"), std::string::npos) << r.output;
}
