#include "train/cli.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "effnet/effnet.h"
#include "tensor/error.h"

namespace effnet::cli {

void Parser::add(Opt o) {
    index_[o.name] = opts_.size();
    opts_.push_back(std::move(o));
}

void Parser::flag(const std::string& name, bool* value, const std::string& help) {
    add({name, help, *value ? "on" : "off", true, [value](const std::string&) { *value = true; }});
}

void Parser::option(const std::string& name, std::string* value, const std::string& help) {
    add({name, help, value->empty() ? "\"\"" : *value, false,
         [value](const std::string& v) { *value = v; }});
}

void Parser::option(const std::string& name, int64_t* value, const std::string& help) {
    add({name, help, std::to_string(*value), false, [value, name](const std::string& v) {
             char* end = nullptr;
             errno = 0;
             long long x = std::strtoll(v.c_str(), &end, 10);
             if (v.empty() || *end || errno)
                 throw UsageError(name + ": '" + v + "' is not an integer");
             *value = x;
         }});
}

void Parser::option(const std::string& name, int* value, const std::string& help) {
    add({name, help, std::to_string(*value), false, [value, name](const std::string& v) {
             char* end = nullptr;
             errno = 0;
             long x = std::strtol(v.c_str(), &end, 10);
             if (v.empty() || *end || errno || x < INT32_MIN || x > INT32_MAX)
                 throw UsageError(name + ": '" + v + "' is not an integer");
             *value = int(x);
         }});
}

void Parser::option(const std::string& name, uint64_t* value, const std::string& help) {
    add({name, help, std::to_string(*value), false, [value, name](const std::string& v) {
             char* end = nullptr;
             errno = 0;
             unsigned long long x = std::strtoull(v.c_str(), &end, 10);
             if (v.empty() || v[0] == '-' || *end || errno)
                 throw UsageError(name + ": '" + v + "' is not a non-negative integer");
             *value = x;
         }});
}

void Parser::option(const std::string& name, double* value, const std::string& help) {
    std::ostringstream d;
    d << *value;
    add({name, help, d.str(), false, [value, name](const std::string& v) {
             char* end = nullptr;
             errno = 0;
             double x = std::strtod(v.c_str(), &end);
             if (v.empty() || *end || errno || !std::isfinite(x))
                 throw UsageError(name + ": '" + v + "' is not a finite number");
             *value = x;
         }});
}

void Parser::list(const std::string& name, std::vector<std::string>* values,
                  const std::string& help) {
    add({name, help + " (repeatable; comma-separated values too)", "none", false,
         [values](const std::string& v) {
             std::stringstream items(v);
             for (std::string item; std::getline(items, item, ',');)
                 if (!item.empty()) values->push_back(item);
         }});
}

void Parser::choice(const std::string& name, std::string* value,
                    const std::vector<std::string>& choices, const std::string& help) {
    std::string list;
    for (auto& c : choices) list += (list.empty() ? "" : "|") + c;
    add({name, help + " (" + list + ")", *value, false,
         [value, name, choices, list](const std::string& v) {
             for (auto& c : choices)
                 if (c == v) {
                     *value = v;
                     return;
                 }
             throw UsageError(name + ": '" + v + "' is not one of " + list);
         }});
}

bool Parser::parse(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::cout << usage();
            return false;
        }
        if (a.rfind("--", 0) != 0) {
            positional_.push_back(a);
            continue;
        }
        std::string value;
        bool has_value = false;
        if (auto eq = a.find('='); eq != std::string::npos) {
            value = a.substr(eq + 1);
            a = a.substr(0, eq);
            has_value = true;
        }
        auto it = index_.find(a);
        if (it == index_.end()) throw UsageError("unknown option " + a);
        Opt& o = opts_[it->second];
        if (o.is_flag) {
            if (has_value) throw UsageError(a + " takes no value");
        } else if (!has_value) {
            if (i + 1 >= argc) throw UsageError(a + " needs a value");
            value = argv[++i];
        }
        o.set(value);
        given_[a] = true;
    }
    return true;
}

std::string Parser::usage() const {
    std::ostringstream os;
    os << "usage: " << program_ << " [options]\n" << summary_ << "\n\noptions:\n";
    for (auto& o : opts_) {
        std::string left = "  " + o.name + (o.is_flag ? "" : " V");
        os << left << std::string(left.size() < 28 ? 28 - left.size() : 1, ' ') << o.help
           << " [default: " << o.default_text << "]\n";
    }
    os << "  --help                    this text\n";
    return os.str();
}

int run_main(const std::string& program, const std::function<int()>& body) {
    try {
        return body();
    } catch (const UsageError& e) {
        std::cerr << program << ": " << e.what() << "\n(see " << program << " --help)\n";
        return 2;
    } catch (const Error& e) {
        std::cerr << program << ": error: " << e.what() << "\n";
        return 1;
    } catch (const ClassifierError& e) {  // from the public API (include/effnet/effnet.h)
        std::cerr << program << ": error: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << program << ": unexpected error: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace effnet::cli
