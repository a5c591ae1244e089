#include "train/model_table.h"

#include <cstdio>
#include <sstream>

namespace effnet {

namespace {
std::string with_commas(int64_t n) {
    std::string s = std::to_string(n);
    for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
    return s;
}
}  // namespace

std::string model_table(EfficientNet& net) {
    std::ostringstream os;
    char line[160];
    std::snprintf(line, sizeof line, "%-22s %-16s %-22s %12s\n", "name", "layer", "output (NHWC)",
                  "parameters");
    os << line << std::string(75, '-') << "\n";
    auto row = [&](const std::string& name, Layer& l) {
        std::snprintf(line, sizeof line, "%-22s %-16s %-22s %12s\n", name.c_str(), l.kind().c_str(),
                      l.output_shape().str().c_str(), with_commas(l.num_params()).c_str());
        os << line;
    };
    for (auto& [name, layer] : net.execution_order())
        row(name.empty() ? "(" + layer->kind() + ")" : name, *layer);
    os << std::string(75, '-') << "\n";
    std::snprintf(line, sizeof line, "total parameters: %s\n",
                  with_commas(net.num_params()).c_str());
    os << line;
    return os.str();
}

}  // namespace effnet
