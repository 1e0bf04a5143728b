#include "openapi_doc.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace ppi::testing {
namespace {

using nlohmann::json;

[[noreturn]] void fail(std::size_t line, const std::string& what) {
  throw std::runtime_error("openapi yaml line " + std::to_string(line + 1) + ": " + what);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// The line without a trailing comment (a '#' at its start or after a blank, outside quotes).
std::string_view strip_comment(std::string_view s) {
  char quote = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      if (i == 0 || s[i - 1] == ' ' || s[i - 1] == '[' || s[i - 1] == ',' || s[i - 1] == '{')
        quote = c;
    } else if (c == '#' && (i == 0 || s[i - 1] == ' ')) {
      return trim(s.substr(0, i));
    }
  }
  return trim(s);
}

json plain_scalar(std::string_view s) {
  if (s == "null" || s == "~" || s.empty()) return nullptr;
  if (s == "true") return true;
  if (s == "false") return false;
  static const std::regex integer("-?[0-9]+");
  static const std::regex number("-?[0-9]+\\.[0-9]+([eE][-+]?[0-9]+)?");
  const std::string text(s);
  if (std::regex_match(text, integer)) return std::stoll(text);
  if (std::regex_match(text, number)) return std::stod(text);
  return text;
}

// A flow value (or a whole block scalar) from `s` at `pos`; `flow` when inside [] or {}.
class FlowParser {
 public:
  FlowParser(std::string_view s, std::size_t line) : s_(s), line_(line) {}

  json whole() {
    json v = value(false);
    skip();
    if (pos_ != s_.size()) fail(line_, "unexpected '" + std::string(s_.substr(pos_)) + "'");
    return v;
  }

 private:
  void skip() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }

  json value(bool flow) {
    skip();
    if (pos_ >= s_.size()) return nullptr;
    const char c = s_[pos_];
    if (c == '[') return sequence();
    if (c == '{') return mapping();
    if (c == '\'' || c == '"') return quoted();
    std::size_t end = pos_;
    if (flow) {
      while (end < s_.size() && s_[end] != ',' && s_[end] != ']' && s_[end] != '}') ++end;
    } else {
      end = s_.size();
    }
    json v = plain_scalar(trim(s_.substr(pos_, end - pos_)));
    pos_ = end;
    return v;
  }

  std::string quoted() {
    const char q = s_[pos_++];
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) fail(line_, "unterminated quoted scalar");
      const char c = s_[pos_++];
      if (q == '\'' && c == '\'') {
        if (pos_ < s_.size() && s_[pos_] == '\'') {
          out += '\'';
          ++pos_;
          continue;
        }
        return out;
      }
      if (q == '"' && c == '"') return out;
      if (q == '"' && c == '\\') {
        if (pos_ >= s_.size()) fail(line_, "unterminated escape");
        const char e = s_[pos_++];
        switch (e) {
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case '"':
          case '\\':
          case '/':
            out += e;
            break;
          default:
            fail(line_, std::string("escape \\") + e + " is not supported here");
        }
        continue;
      }
      out += c;
    }
  }

  json sequence() {
    ++pos_;
    json out = json::array();
    skip();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return out;
    }
    while (true) {
      out.push_back(value(true));
      skip();
      if (pos_ >= s_.size()) fail(line_, "unterminated [");
      if (s_[pos_++] == ']') return out;
    }
  }

  json mapping() {
    ++pos_;
    json out = json::object();
    skip();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return out;
    }
    while (true) {
      skip();
      std::size_t colon = s_.find(':', pos_);
      if (colon == std::string_view::npos) fail(line_, "flow mapping without ':'");
      std::string key(trim(s_.substr(pos_, colon - pos_)));
      if (!key.empty() && (key.front() == '\'' || key.front() == '"'))
        key = key.substr(1, key.size() - 2);
      pos_ = colon + 1;
      out[key] = value(true);
      skip();
      if (pos_ >= s_.size()) fail(line_, "unterminated {");
      if (s_[pos_++] == '}') return out;
    }
  }

  std::string_view s_;
  std::size_t line_;
  std::size_t pos_ = 0;
};

class BlockParser {
 public:
  explicit BlockParser(std::string_view text) {
    std::size_t start = 0;
    while (start <= text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      lines_.emplace_back(text.substr(start, end - start));
      start = end + 1;
    }
  }

  json document() {
    json root = node(0);
    if (next() != lines_.size()) fail(next(), "content after the document");
    return root;
  }

 private:
  static std::size_t indent_of(const std::string& line) {
    std::size_t i = 0;
    while (i < line.size() && line[i] == ' ') ++i;
    return i;
  }
  bool blank(std::size_t i) const { return strip_comment(lines_[i]).empty(); }
  // The next line with content, from the current one.
  std::size_t next() {
    while (at_ < lines_.size() && blank(at_)) ++at_;
    return at_;
  }
  static bool is_item(std::string_view content) {
    return content == "-" || content.starts_with("- ");
  }
  // Where the ':' of a "key: value" line is, or npos.
  static std::size_t key_colon(std::string_view content) {
    std::size_t i = 0;
    if (!content.empty() && (content[0] == '\'' || content[0] == '"')) {
      const auto close = content.find(content[0], 1);
      if (close == std::string_view::npos) return std::string_view::npos;
      i = close + 1;
    }
    for (; i < content.size(); ++i) {
      if (content[i] == ':' && (i + 1 == content.size() || content[i + 1] == ' ')) return i;
    }
    return std::string_view::npos;
  }

  json node(std::size_t min_indent) {
    const std::size_t i = next();
    if (i == lines_.size()) return nullptr;
    const std::size_t indent = indent_of(lines_[i]);
    if (indent < min_indent) return nullptr;
    const std::string_view content = strip_comment(lines_[i]);
    if (is_item(content)) return sequence(indent);
    if (key_colon(content) != std::string_view::npos) return mapping(indent);
    fail(i, "expected a mapping or a sequence");
  }

  json sequence(std::size_t indent) {
    json out = json::array();
    while (true) {
      const std::size_t i = next();
      if (i == lines_.size() || indent_of(lines_[i]) != indent) break;
      const std::string_view content = strip_comment(lines_[i]);
      if (!is_item(content)) break;
      std::string_view rest = content.substr(1);
      const std::size_t gap = rest.size() - trim(rest).size();
      rest = trim(rest);
      if (rest.empty()) {
        ++at_;
        out.push_back(node(indent + 1));
      } else if (key_colon(rest) != std::string_view::npos && rest[0] != '[' && rest[0] != '{') {
        // "- key: value": a mapping whose keys stand where this one does.
        const std::size_t column = indent + 1 + gap;
        lines_[i] = std::string(column, ' ') + std::string(rest);
        out.push_back(mapping(column));
      } else {
        out.push_back(scalar_value(indent, rest));
      }
    }
    return out;
  }

  json mapping(std::size_t indent) {
    json out = json::object();
    while (true) {
      const std::size_t i = next();
      if (i == lines_.size()) break;
      const std::size_t here = indent_of(lines_[i]);
      if (here < indent) break;
      if (here > indent) fail(i, "unexpected indentation");
      const std::string_view content = strip_comment(lines_[i]);
      if (is_item(content)) break;
      const std::size_t colon = key_colon(content);
      if (colon == std::string_view::npos) fail(i, "expected 'key: value'");
      std::string key(trim(content.substr(0, colon)));
      if (!key.empty() && (key.front() == '\'' || key.front() == '"'))
        key = key.substr(1, key.size() - 2);
      if (out.contains(key)) fail(i, "duplicated key '" + key + "'");
      const std::string_view rest = trim(content.substr(colon + 1));
      if (rest.empty()) {
        ++at_;
        const std::size_t j = next();
        if (j < lines_.size() && indent_of(lines_[j]) == indent &&
            is_item(strip_comment(lines_[j]))) {
          out[key] = sequence(indent);
        } else {
          out[key] = node(indent + 1);
        }
      } else if (rest[0] == '|' || rest[0] == '>') {
        ++at_;
        out[key] = block_scalar(indent, rest);
      } else {
        out[key] = scalar_value(indent, rest);
      }
    }
    return out;
  }

  // The value on the line at at_ (from `first`), with continuation lines deeper than
  // `indent` folded in (a long plain scalar or a flow sequence over several lines).
  json scalar_value(std::size_t indent, std::string_view first) {
    const std::size_t line = at_;
    std::string text(first);
    ++at_;
    while (true) {
      const std::size_t j = next();
      if (j == lines_.size() || indent_of(lines_[j]) <= indent) break;
      text += " " + std::string(strip_comment(lines_[j]));
      ++at_;
    }
    return FlowParser(text, line).whole();
  }

  std::string block_scalar(std::size_t indent, std::string_view header) {
    const bool literal = header[0] == '|';
    const bool strip = header.find('-') != std::string_view::npos;
    std::vector<std::string> body;
    std::size_t block_indent = 0;
    while (at_ < lines_.size()) {
      const std::string& raw = lines_[at_];
      if (trim(raw).empty()) {
        body.emplace_back();
        ++at_;
        continue;
      }
      const std::size_t here = indent_of(raw);
      if (here <= indent) break;
      if (block_indent == 0) block_indent = here;
      if (here < block_indent) fail(at_, "block scalar line indented less than its first");
      body.push_back(raw.substr(block_indent));
      ++at_;
    }
    while (!body.empty() && body.back().empty()) body.pop_back();
    std::string out;
    for (std::size_t k = 0; k < body.size(); ++k) {
      if (k > 0) out += literal || body[k].empty() || body[k - 1].empty() ? "\n" : " ";
      out += body[k];
    }
    if (!strip && !out.empty()) out += "\n";
    return out;
  }

  std::vector<std::string> lines_;
  std::size_t at_ = 0;
};

std::string json_type(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "integer";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}

bool type_fits(const json& v, const std::string& type) {
  const std::string actual = json_type(v);
  return actual == type || (type == "number" && actual == "integer");
}

}  // namespace

json parse_yaml(std::string_view text) {
  return BlockParser(text).document();
}

bool is_rfc3339(std::string_view text) {
  static const std::regex date_time(
      "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:"
      "([0-5][0-9]|60)(\\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])");
  return std::regex_match(std::string(text), date_time);
}

OpenApiDocument OpenApiDocument::load(const std::string& actor) {
  const std::string file = std::string(PPI_SOURCE_DIR) + "/openapi/" + actor + ".yaml";
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file);
  std::stringstream text;
  text << in.rdbuf();
  return OpenApiDocument(parse_yaml(text.str()));
}

std::vector<OpenApiOperation> OpenApiDocument::operations() const {
  std::vector<OpenApiOperation> out;
  for (const auto& [path, item] : root_.at("paths").items()) {
    for (const auto& [method, op] : item.items()) {
      if (method == "parameters" || method == "summary" || method == "description") continue;
      OpenApiOperation o;
      o.method = method;
      std::transform(o.method.begin(), o.method.end(), o.method.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      o.path = path;
      for (const auto& [status, response] : op.at("responses").items()) o.statuses.insert(status);
      if (op.contains("x-roles")) o.roles = op.at("x-roles").get<std::vector<std::string>>();
      o.has_body = op.contains("requestBody");
      o.operation = op;
      out.push_back(std::move(o));
    }
  }
  return out;
}

const json& OpenApiDocument::resolve(const json& node) const {
  const json* at = &node;
  for (int hops = 0; at->is_object() && at->contains("$ref"); ++hops) {
    if (hops > 16) throw std::runtime_error("$ref cycle");
    const std::string ref = at->at("$ref").get<std::string>();
    if (!ref.starts_with("#/")) throw std::runtime_error("non-local $ref " + ref);
    at = &root_.at(json::json_pointer(ref.substr(1)));
  }
  return *at;
}

const json& OpenApiDocument::response_schema(const std::string& method, const std::string& path,
                                             const std::string& status) const {
  std::string lower = method;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const json& op = root_.at("paths").at(path).at(lower);
  const json& response = resolve(op.at("responses").at(status));
  const json& content = response.at("content");
  for (const char* type : {"application/json", "application/problem+json"}) {
    if (content.contains(type)) return resolve(content.at(type).at("schema"));
  }
  throw std::runtime_error(method + " " + path + " " + status + " has no JSON schema");
}

std::vector<std::string> OpenApiDocument::mismatches(const json& value, const json& schema_node,
                                                     const std::string& where) const {
  std::vector<std::string> out;
  const json& schema = resolve(schema_node);
  const std::string at = where.empty() ? "/" : where;
  auto add = [&](const std::vector<std::string>& more) {
    out.insert(out.end(), more.begin(), more.end());
  };
  if (schema.contains("allOf")) {
    for (const auto& part : schema.at("allOf")) add(mismatches(value, part, where));
  }
  for (const char* any : {"oneOf", "anyOf"}) {
    if (!schema.contains(any)) continue;
    std::size_t fitting = 0;
    for (const auto& part : schema.at(any)) fitting += mismatches(value, part, where).empty();
    if (fitting == 0 || (std::string(any) == "oneOf" && fitting > 1)) {
      out.push_back(at + ": fits " + std::to_string(fitting) + " of the " + any + " schemas");
    }
  }
  if (schema.contains("type")) {
    const json& type = schema.at("type");
    bool fits = false;
    if (type.is_array()) {
      for (const auto& t : type) fits = fits || type_fits(value, t.get<std::string>());
    } else {
      fits = type_fits(value, type.get<std::string>());
    }
    if (!fits) {
      out.push_back(at + ": " + json_type(value) + " " + value.dump() + " where the schema has " +
                    type.dump());
      return out;
    }
  }
  if (schema.contains("enum")) {
    const auto& options = schema.at("enum");
    if (std::find(options.begin(), options.end(), value) == options.end()) {
      out.push_back(at + ": " + value.dump() + " is not one of " + options.dump());
    }
  }
  if (schema.contains("const") && schema.at("const") != value) {
    out.push_back(at + ": " + value.dump() + " is not " + schema.at("const").dump());
  }
  if (value.is_string() && schema.value("format", "") == "date-time" &&
      !is_rfc3339(value.get<std::string>())) {
    out.push_back(at + ": " + value.dump() + " is not an RFC 3339 date-time");
  }
  if (value.is_object()) {
    if (schema.contains("required")) {
      for (const auto& field : schema.at("required")) {
        if (!value.contains(field.get<std::string>())) {
          out.push_back(at + ": the required field '" + field.get<std::string>() + "' is missing");
        }
      }
    }
    const json properties = schema.value("properties", json::object());
    for (const auto& [name, member] : value.items()) {
      if (properties.contains(name)) {
        add(mismatches(member, properties.at(name), where + "/" + name));
      } else if (schema.contains("additionalProperties")) {
        const json& extra = schema.at("additionalProperties");
        if (extra.is_boolean() && !extra.get<bool>()) {
          out.push_back(at + ": the field '" + name + "' is not in the schema");
        } else if (extra.is_object()) {
          add(mismatches(member, extra, where + "/" + name));
        }
      }
    }
  }
  if (value.is_array() && schema.contains("items")) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      add(mismatches(value[i], schema.at("items"), where + "/" + std::to_string(i)));
    }
  }
  return out;
}

}  // namespace ppi::testing
