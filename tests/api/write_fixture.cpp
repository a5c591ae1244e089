// write_api_fixture WEIGHTS IMAGE: the files the install test classifies
// (tests/api/fixture.h): weights for 64x64 inputs and a 150x150 phantom.
#include <cstdio>
#include <exception>

#include "api/fixture.h"

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: write_api_fixture WEIGHTS IMAGE\n");
        return 2;
    }
    try {
        effnet::test::write_test_weights(argv[1], 64);
        effnet::test::write_test_image(argv[2], 150, 3);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "write_api_fixture: %s\n", e.what());
        return 1;
    }
    return 0;
}
