#include "io/fault_point.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

namespace effnet {

namespace {

struct FaultSpec {
    std::string point;  // empty: no fault injected
    long count = 1;
};

FaultSpec read_spec() {
    FaultSpec s;
    const char* v = std::getenv("EFFNET_FAULT");
    if (!v || !*v) return s;
    s.point = v;
    const size_t colon = s.point.rfind(':');
    if (colon != std::string::npos && colon + 1 < s.point.size() &&
        s.point.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
        s.count = std::atol(s.point.c_str() + colon + 1);
        s.point.resize(colon);
    }
    return s;
}

}  // namespace

void fault_point(const std::string& name) {
    static const FaultSpec spec = read_spec();
    static std::atomic<long> arrivals{0};
    if (spec.point.empty() || name != spec.point) return;
    if (arrivals.fetch_add(1) + 1 == spec.count) ::kill(::getpid(), SIGKILL);
}

}  // namespace effnet
