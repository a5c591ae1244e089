// A small typed command-line parser for the apps: every flag has a type, a
// default and a help line; `--help` prints them all; an unknown flag or a bad
// value is a usage error (exit code 2) naming the flag.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace effnet::cli {

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Parser {
public:
    Parser(std::string program, std::string summary)
        : program_(std::move(program)), summary_(std::move(summary)) {}

    void flag(const std::string& name, bool* value, const std::string& help);
    void option(const std::string& name, std::string* value, const std::string& help);
    void option(const std::string& name, int64_t* value, const std::string& help);
    void option(const std::string& name, int* value, const std::string& help);
    void option(const std::string& name, uint64_t* value, const std::string& help);
    void option(const std::string& name, double* value, const std::string& help);
    // Each occurrence appends its comma-separated values.
    void list(const std::string& name, std::vector<std::string>* values, const std::string& help);
    // One of `choices`.
    void choice(const std::string& name, std::string* value,
                const std::vector<std::string>& choices, const std::string& help);

    // Parses argv; returns false when --help was printed. Throws UsageError.
    // Non-flag arguments are collected in positional().
    bool parse(int argc, char** argv);
    const std::vector<std::string>& positional() const { return positional_; }
    bool given(const std::string& name) const { return given_.count(name) > 0; }
    std::string usage() const;

private:
    struct Opt {
        std::string name, help, default_text;
        bool is_flag = false;
        std::function<void(const std::string&)> set;
    };
    void add(Opt o);
    std::string program_, summary_;
    std::vector<Opt> opts_;
    std::map<std::string, size_t> index_;
    std::vector<std::string> positional_;
    std::map<std::string, bool> given_;
};

// Runs `body`, turning exceptions into messages and exit codes:
// UsageError -> 2 (with a hint to --help); effnet::Error and others -> 1.
int run_main(const std::string& program, const std::function<int()>& body);

}  // namespace effnet::cli
