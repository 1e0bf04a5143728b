#include "online/input_file.hpp"

#include <cmath>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace ppi::online {

InputRows read_input_rows(const std::string& path, std::size_t width) {
  std::ifstream in(path);
  if (!in) throw Error(Errc::config, "cannot read input file '" + path + "'");
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) throw Error(Errc::invalid_argument, path + ": not JSON");
  if (doc.is_object() && doc.contains("inputs")) doc = doc.at("inputs");
  if (!doc.is_array() || doc.empty()) {
    throw Error(Errc::invalid_argument, path + ": expected a non-empty array of rows");
  }
  InputRows out;
  if (width == 0 && doc[0].is_array()) width = doc[0].size();
  for (const auto& row : doc) {
    if (!row.is_array() || row.empty() || row.size() != width) {
      throw Error(Errc::invalid_argument, path + ": row " + std::to_string(out.count) +
                                              " is not an array of " + std::to_string(width) +
                                              " numbers");
    }
    for (const auto& v : row) {
      if (!v.is_number() || !std::isfinite(v.get<double>())) {
        throw Error(Errc::invalid_argument,
                    path + ": row " + std::to_string(out.count) + " holds a non-number");
      }
      out.values.push_back(v.get<double>());
    }
    ++out.count;
  }
  return out;
}

InputRows select_row(const InputRows& rows, std::size_t row) {
  if (row >= rows.count) {
    throw Error(Errc::invalid_argument, "input row " + std::to_string(row) +
                                            " does not exist: the file has " +
                                            std::to_string(rows.count));
  }
  const std::size_t width = rows.values.size() / rows.count;
  InputRows out;
  out.count = 1;
  out.values.assign(rows.values.begin() + static_cast<long>(row * width),
                    rows.values.begin() + static_cast<long>((row + 1) * width));
  return out;
}

}  // namespace ppi::online
