// The layer table printed by `effnet_train --print-model`: one row per stem
// layer, MBConv block and head layer, with its NHWC output shape and
// parameter count, then the total.
#pragma once

#include <string>

#include "layers/efficientnet.h"

namespace effnet {

// `net` must have been set up for an input shape.
std::string model_table(EfficientNet& net);

}  // namespace effnet
