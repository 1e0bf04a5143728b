#pragma once
// TEST SUPPORT: reading openapi/<actor>.yaml for the contract tests (issue 11 item 3, issue 14
// item 6). No YAML library is linked, so `parse_yaml` reads the subset the documents use:
// block mappings and sequences by indentation, plain, single- and double-quoted scalars, flow
// sequences and mappings ([a, b], {}), literal and folded block scalars (| >), comments. It
// throws std::runtime_error naming the line on anything else, so a document that outgrows it
// fails the tests rather than being misread.

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ppi::testing {

nlohmann::json parse_yaml(std::string_view text);

struct OpenApiOperation {
  std::string method;              // upper case: GET, POST...
  std::string path;                // as documented: "/v1/seed/{batch_id}"
  std::set<std::string> statuses;  // the documented response codes: "200", "404"...
  std::vector<std::string> roles;  // x-roles; empty: any caller
  bool has_body = false;           // declares a requestBody
  nlohmann::json operation;        // the operation object itself
};

class OpenApiDocument {
 public:
  // openapi/<actor>.yaml of the source tree.
  static OpenApiDocument load(const std::string& actor);
  explicit OpenApiDocument(nlohmann::json root) : root_(std::move(root)) {}

  const nlohmann::json& root() const { return root_; }
  std::vector<OpenApiOperation> operations() const;
  // `node` with a "$ref" (local: "#/components/...") replaced by what it names, repeatedly.
  const nlohmann::json& resolve(const nlohmann::json& node) const;
  // The schema of the documented answer `status` of `method path` as application/json (or
  // application/problem+json); throws when there is none.
  const nlohmann::json& response_schema(const std::string& method, const std::string& path,
                                        const std::string& status) const;
  // Where `value` does not fit `schema`: one line per mismatch naming the JSON pointer. Checks
  // type (with 'null' in a type list), required, properties, additionalProperties: false,
  // items, enum, const, format date-time (RFC 3339), and oneOf/anyOf/allOf.
  std::vector<std::string> mismatches(const nlohmann::json& value, const nlohmann::json& schema,
                                      const std::string& where = "") const;

 private:
  nlohmann::json root_;
};

// RFC 3339 date-time (e.g. 2026-12-01T20:14:52.980Z, or with +01:00).
bool is_rfc3339(std::string_view text);

}  // namespace ppi::testing
