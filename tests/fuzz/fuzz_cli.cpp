// effnet_train's command line (train/train_command.h), the same parse the app
// runs: the input, split at NUL bytes, is argv[1..]. Parsing only; nothing
// is trained.
#include "train/train_command.h"
#include "fuzz_target.h"

using namespace effnet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<std::string> args = {"effnet_train"};
    std::string cur;
    for (size_t i = 0; i < size && args.size() < 64; ++i) {
        if (data[i] == 0) {
            args.push_back(cur);
            cur.clear();
        } else {
            cur += char(data[i]);
        }
    }
    if (!cur.empty() && args.size() < 64) args.push_back(cur);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    fuzz::expect_only_reported_errors([&] {
        TrainCommand cmd;
        // --help prints the usage to stdout: keep it quiet in the fuzzer.
        for (const std::string& a : args)
            if (a == "--help" || a == "-h") return;
        parse_train_command(int(args.size()), argv.data(), cmd);
        const TrainConfig& c = cmd.config;
        if (c.batch < 1 || c.epochs < 1 || !(c.adamw.lr > 0) || c.model.image_size < 32)
            std::abort();  // the checks' promise
    });
    return 0;
}
