// Strict parsing of numbers held as text in files (checkpoint metadata,
// CSV fields): the whole string must be the number, in range, nothing
// before or after it. Unlike atoi/stoi these neither ignore trailing text
// nor throw std::invalid_argument; the caller names the field in its error.
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace effnet {

inline bool parse_int64(const std::string& s, int64_t& out) {
    if (s.empty() || s.size() > 24 || s[0] == ' ' || s[0] == '+') return false;
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno != 0 || end != s.c_str() + s.size()) return false;
    out = int64_t(v);
    return true;
}

inline bool parse_uint64(const std::string& s, uint64_t& out) {
    if (s.empty() || s.size() > 24 || s[0] < '0' || s[0] > '9') return false;
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (errno != 0 || end != s.c_str() + s.size()) return false;
    out = uint64_t(v);
    return true;
}

// Also takes "inf", "-inf" and "nan" as strtod writes them (a scheduler's
// "best so far" is infinite before its first epoch); `finite_only` refuses them.
inline bool parse_double(const std::string& s, double& out, bool finite_only = false) {
    if (s.empty() || s.size() > 64 || s[0] == ' ') return false;
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() || (errno == ERANGE && std::isinf(v))) return false;
    if (finite_only && !std::isfinite(v)) return false;
    out = v;
    return true;
}

}  // namespace effnet
