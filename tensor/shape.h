// Shape: up to 4 extents. Activations are NHWC (channels last), so a 4-D
// activation shape reads {N, H, W, C}; parameters keep PyTorch's shapes
// ({Cout, Cin/groups, kH, kW} for convolutions, {out, in} for linear).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

#include "tensor/error.h"

namespace effnet {

class Shape {
public:
    static constexpr int kMaxRank = 4;

    Shape() = default;
    Shape(std::initializer_list<int64_t> dims) { assign(dims.begin(), dims.end()); }
    explicit Shape(const std::vector<int64_t>& dims) { assign(dims.begin(), dims.end()); }

    int rank() const { return rank_; }
    int64_t operator[](int i) const {
        EFFNET_CHECK(i >= 0 && i < rank_, "shape index " << i << " out of range for " << str());
        return dims_[i];
    }
    int64_t numel() const {
        int64_t n = 1;
        for (int i = 0; i < rank_; ++i) n *= dims_[i];
        return n;
    }
    std::vector<int64_t> dims() const { return {dims_.begin(), dims_.begin() + rank_}; }
    // The same shape with dimension 0 replaced (used for views of a smaller batch).
    Shape with_dim0(int64_t d0) const {
        Shape s = *this;
        s.dims_[0] = d0;
        return s;
    }
    bool operator==(const Shape& o) const {
        if (rank_ != o.rank_) return false;
        for (int i = 0; i < rank_; ++i)
            if (dims_[i] != o.dims_[i]) return false;
        return true;
    }
    bool operator!=(const Shape& o) const { return !(*this == o); }
    std::string str() const {
        std::string s = "[";
        for (int i = 0; i < rank_; ++i) s += (i ? ", " : "") + std::to_string(dims_[i]);
        return s + "]";
    }

private:
    template <class It>
    void assign(It b, It e) {
        EFFNET_CHECK(e - b <= kMaxRank,
                     "a shape has at most " << kMaxRank << " dims, got " << (e - b));
        rank_ = 0;
        for (It it = b; it != e; ++it) {
            EFFNET_CHECK(*it >= 0, "negative extent " << *it << " in shape");
            dims_[rank_++] = *it;
        }
    }
    std::array<int64_t, kMaxRank> dims_{};
    int rank_ = 0;
};

inline std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }

}  // namespace effnet
