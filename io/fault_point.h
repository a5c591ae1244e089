// Fault injection for the crash-safety tests: named points in the code where
// a test can make the process die as `kill -9` or a power cut would.
//
// With EFFNET_FAULT=<point>[:<n>] in the environment, the n-th arrival
// (default 1) at fault_point("<point>") sends SIGKILL to the process itself:
// no destructor, flush or handler runs. Points in use:
//   train.step                 between backward and the optimizer update
//   validation                 after the first validation batch
//   write:<file>               half-way through writing <file> atomically
//   written:<file>             just after <file> was renamed into place
// Without the variable (always, outside tests) a point costs one comparison.
#pragma once

#include <string>

namespace effnet {

void fault_point(const std::string& name);

}  // namespace effnet
