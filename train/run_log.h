// What a training run prints: every line to stdout and to train.log; the
// progress line redrawn in place on a terminal, printed now and then otherwise.
#pragma once

#include <fstream>
#include <string>

namespace effnet {

class RunLog {
public:
    explicit RunLog(const std::string& path);
    // A log that prints and writes nothing (the ranks other than 0 of a data-parallel run).
    RunLog() = default;
    void line(const std::string& s);
    // `force`: also print it when stdout is not a terminal (a log file).
    void progress(const std::string& s, bool force);

private:
    std::ofstream file_;
    bool active_ = false;
    bool tty_ = false;
    bool progress_open_ = false;
};

// "42s", "3m05s", "1h02m".
std::string format_duration(double seconds);

}  // namespace effnet
