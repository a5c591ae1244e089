#include "train/run_log.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

namespace effnet {

RunLog::RunLog(const std::string& path)
    : file_(path, std::ios::app), active_(true), tty_(isatty(STDOUT_FILENO)) {}

void RunLog::line(const std::string& s) {
    if (!active_) return;
    if (progress_open_) std::cout << "\n";
    progress_open_ = false;
    std::cout << s << std::endl;
    file_ << s << std::endl;
}

void RunLog::progress(const std::string& s, bool force) {
    if (!active_) return;
    if (tty_) {
        std::cout << "\r" << s << "\033[K" << std::flush;
        progress_open_ = true;
    } else if (force) {
        std::cout << s << std::endl;
    }
}

std::string format_duration(double s) {
    char b[32];
    if (s >= 3600)
        std::snprintf(b, sizeof b, "%dh%02dm", int(s / 3600), int(std::fmod(s, 3600) / 60));
    else if (s >= 60)
        std::snprintf(b, sizeof b, "%dm%02ds", int(s / 60), int(std::fmod(s, 60)));
    else
        std::snprintf(b, sizeof b, "%.0fs", s);
    return b;
}

}  // namespace effnet
