#pragma once
// The suite's one way of saying "this input is refused": Error(invalid_argument) whose message
// names the problem.

#include <doctest/doctest.h>

#include <string>

#include "core/error.hpp"

template <class F>
void expect_invalid_argument(F&& call, const std::string& needle) {
  CAPTURE(needle);
  try {
    call();
    FAIL("accepted an invalid input");
  } catch (const ppi::Error& e) {
    CHECK(e.code() == ppi::Errc::invalid_argument);
    CAPTURE(e.what());
    CHECK(std::string(e.what()).find(needle) != std::string::npos);
  }
}
