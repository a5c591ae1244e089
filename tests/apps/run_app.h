// Running the apps from tests: a command line in, exit status and output back.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace effnet::test {

struct AppResult {
    int status = -1;
    std::string output;  // stdout and stderr together
};

inline std::string bin(const std::string& app) { return std::string(EFFNET_BIN_DIR) + "/" + app; }

inline AppResult run_app(const std::string& command) {
    AppResult r;
    FILE* p = popen((command + " 2>&1").c_str(), "r");
    if (!p) return r;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
    const int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

}  // namespace effnet::test
