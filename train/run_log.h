// What a training run prints: every line to stdout and to train.log; the
// progress line redrawn in place on a terminal, printed now and then otherwise.
#pragma once

#include <fstream>
#include <string>

namespace effnet {

class RunLog {
public:
    explicit RunLog(const std::string& path);
    void line(const std::string& s);
    // `force`: also print it when stdout is not a terminal (a log file).
    void progress(const std::string& s, bool force);

private:
    std::ofstream file_;
    bool tty_;
    bool progress_open_ = false;
};

// "42s", "3m05s", "1h02m".
std::string format_duration(double seconds);

}  // namespace effnet
