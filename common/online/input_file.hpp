#pragma once
// The client's input file: JSON, either an array of rows or {"inputs": [rows], ...} (other
// keys, such as "labels", are ignored), each row an array of numbers (for the digits model, 64
// pixel intensities in [0, 1]).

#include <cstddef>
#include <string>
#include <vector>

namespace ppi::online {

struct InputRows {
  std::size_t count = 0;
  std::vector<double> values;  // count x width, row-major
};

// Error(invalid_argument) naming the problem: not JSON, no rows, a row of another width than
// `width` (0: the first row's), a value that is not a finite number; Error(config) when the
// file cannot be read.
InputRows read_input_rows(const std::string& path, std::size_t width);

// Row `row` alone; Error(invalid_argument) when there is no such row.
InputRows select_row(const InputRows& rows, std::size_t row);

}  // namespace ppi::online
