// The super dealer's OpenAPI document and the material types the code knows (issue 14 item 6):
// the plan-entry `type` pattern must accept the name of every type and refuse names the parser
// refuses (it rejected BIT_TRIPLE, which every digits plan contains). Every Kind is listed:
// a new one must be added here, and to the pattern.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "material/material_type.hpp"

using namespace ppi::material;

namespace {

std::regex plan_type_pattern() {
  std::ifstream in(std::string(PPI_SOURCE_DIR) + "/openapi/super_dealer.yaml");
  std::stringstream text;
  text << in.rdbuf();
  const std::string yaml = text.str();
  const auto at = yaml.find("pattern: '^(TRIPLE");
  REQUIRE(at != std::string::npos);
  const auto start = yaml.find('\'', at) + 1;
  return std::regex(yaml.substr(start, yaml.find('\'', start) - start));
}

}  // namespace

TEST_CASE("openapi: the plan-entry type pattern accepts every material type the parser does") {
  const auto pattern = plan_type_pattern();
  for (const char* name : {"TRIPLE", "DABIT", "BIT_TRIPLE", "TRUNC_12", "MATRIX_TRIPLE_128_64_512",
                           "WEIGHT_MASK_768_3072", "MASKED_TRIPLE_64_768_3072"}) {
    CAPTURE(name);
    CHECK(to_string(parse_material_type(name)) == name);
    CHECK(std::regex_match(std::string(name), pattern));
  }
  for (const char* bad : {"triple", "TRUNC_0", "MATRIX_TRIPLE_01_2_3", "BIT_TRIPLES", "MAC_KEY"}) {
    CAPTURE(bad);
    CHECK_FALSE(std::regex_match(std::string(bad), pattern));
  }
}
