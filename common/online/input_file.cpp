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
  if (doc.is_object() && doc.size() == 1 && doc.contains("inputs")) doc = doc.at("inputs");
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

}  // namespace ppi::online
