// Readable names for parametrised tests: a parameter type with a describe()
// overload (found by argument-dependent lookup) names each instance, e.g.
//   INSTANTIATE_TEST_SUITE_P(Geometries, Conv2dTest, ::testing::Values(...), ParamName());
// gives ".../conv3x3s2_n2_7x5_c3to4" instead of "/0"; pair it with a PrintTo
// so that a failure prints the parameter by the same name.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace effnet::test {

struct ParamName {
    template <class P>
    std::string operator()(const ::testing::TestParamInfo<P>& info) const {
        return describe(info.param);
    }
};

}  // namespace effnet::test
