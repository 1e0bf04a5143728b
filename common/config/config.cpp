#include "config/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.hpp"

namespace ppi::config {
namespace {

std::optional<std::int64_t> parse_int(const std::string& text) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

std::optional<bool> parse_bool(const std::string& text) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  return std::nullopt;
}

// {"db": {"url": "x"}} -> {"db.url": "x"}; scalars are kept as their text.
void flatten(const nlohmann::json& node, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>& out) {
  if (node.is_object()) {
    for (const auto& [k, v] : node.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, out);
  } else if (node.is_string()) {
    out.emplace_back(prefix, node.get<std::string>());
  } else if (node.is_boolean() || node.is_number_integer()) {
    out.emplace_back(prefix, node.dump());
  } else {
    throw Error(Errc::config,
                "config file: key '" + prefix + "' must be a string, integer or boolean");
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Errc::config, "config file '" + path + "' cannot be read");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool is_boolean(const std::vector<KeySpec>& specs, const std::string& key) {
  return std::any_of(specs.begin(), specs.end(),
                     [&](const KeySpec& s) { return s.name == key && s.type == Type::boolean; });
}

std::string_view type_name(Type t) {
  switch (t) {
    case Type::string:
      return "string";
    case Type::integer:
      return "integer";
    case Type::boolean:
      return "boolean";
  }
  return "string";
}

}  // namespace

KeySpec string_key(std::string name, std::string default_value, std::string help) {
  KeySpec k;
  k.name = std::move(name);
  k.default_value = std::move(default_value);
  k.help = std::move(help);
  return k;
}

KeySpec required_key(std::string name, std::string help) {
  KeySpec k = string_key(std::move(name), "", std::move(help));
  k.required = true;
  return k;
}

KeySpec integer_key(std::string name, std::int64_t default_value, std::int64_t min,
                    std::int64_t max, std::string help) {
  KeySpec k = string_key(std::move(name), std::to_string(default_value), std::move(help));
  k.type = Type::integer;
  k.min = min;
  k.max = max;
  return k;
}

KeySpec boolean_key(std::string name, bool default_value, std::string help) {
  KeySpec k = string_key(std::move(name), default_value ? "true" : "false", std::move(help));
  k.type = Type::boolean;
  return k;
}

KeySpec choice_key(std::string name, std::string default_value, std::vector<std::string> choices,
                   std::string help) {
  KeySpec k = string_key(std::move(name), std::move(default_value), std::move(help));
  k.choices = std::move(choices);
  return k;
}

std::string env_name(const std::string& key) {
  std::string out = "PPI_";
  for (char c : key) {
    out.push_back(c == '.' || c == '-' ? '_' : static_cast<char>(std::toupper(c)));
  }
  return out;
}

const KeySpec& Config::spec(const std::string& key) const {
  for (const auto& s : specs_) {
    if (s.name == key) return s;
  }
  throw Error(Errc::internal, "configuration key '" + key + "' is not declared");
}

void Config::set(const std::string& key, std::string text, std::string source) {
  values_[key] = Value{std::move(text), std::move(source)};
}

Config Config::load(std::string program, std::string summary, std::vector<KeySpec> specs, int argc,
                    const char* const* argv) {
  Config cfg = parse(std::move(program), std::move(summary), std::move(specs), argc, argv);
  if (cfg.help_requested_ || cfg.version_requested_) return cfg;
  for (const auto& s : cfg.specs_) cfg.validate_spec(s);
  return cfg;
}

Config Config::parse(std::string program, std::string summary, std::vector<KeySpec> specs, int argc,
                     const char* const* argv) {
  Config cfg;
  cfg.program_ = std::move(program);
  cfg.summary_ = std::move(summary);
  cfg.specs_ = std::move(specs);
  for (const auto& s : cfg.specs_) cfg.set(s.name, s.default_value, "default");

  // Flags are read first (to find --config and --help) but applied last.
  std::string config_path;
  if (const char* env = std::getenv("PPI_CONFIG")) config_path = env;
  std::vector<std::pair<std::string, std::string>> flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      cfg.help_requested_ = true;
      continue;
    }
    if (arg == "--version") {
      cfg.version_requested_ = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      cfg.positional_.push_back(arg);
      continue;
    }
    std::string key = arg.substr(2);
    const auto eq = key.find('=');
    std::string value = eq == std::string::npos ? "" : key.substr(eq + 1);
    if (eq != std::string::npos) key.resize(eq);
    // --batch-id is --batch_id: no declared key has a dash, so the spellings cannot collide.
    std::replace(key.begin(), key.end(), '-', '_');
    if (eq == std::string::npos) {
      if (is_boolean(cfg.specs_, key) || i + 1 == argc ||
          std::string_view(argv[i + 1]).rfind("--", 0) == 0) {
        value = "true";  // a bare flag: booleans never take the next word, so sub-commands stay
      } else {
        value = argv[++i];
      }
    }
    if (key == "config") {
      config_path = value;
      continue;
    }
    flags.emplace_back(std::move(key), std::move(value));
  }
  if (cfg.help_requested_ || cfg.version_requested_) return cfg;

  auto known = [&](const std::string& key) {
    return std::any_of(cfg.specs_.begin(), cfg.specs_.end(),
                       [&](const KeySpec& s) { return s.name == key; });
  };
  if (!config_path.empty()) {
    nlohmann::json doc;
    try {
      doc = nlohmann::json::parse(read_file(config_path));
    } catch (const nlohmann::json::exception& e) {
      throw Error(Errc::config, "config file '" + config_path + "' is not valid JSON: " + e.what());
    }
    std::vector<std::pair<std::string, std::string>> entries;
    flatten(doc, "", entries);
    for (auto& [key, value] : entries) {
      if (!known(key)) {
        throw Error(Errc::config, "config file '" + config_path + "': unknown key '" + key + "'");
      }
      cfg.set(key, value, "file");
    }
  }
  for (const auto& s : cfg.specs_) {
    if (const char* env = std::getenv(env_name(s.name).c_str()))
      cfg.set(s.name, env, "environment");
  }
  for (auto& [key, value] : flags) {
    if (!known(key)) throw Error(Errc::config, "unknown flag '--" + key + "' (see --help)");
    cfg.set(key, value, "flag");
  }
  return cfg;
}

void Config::validate(const std::vector<std::string>& keys) const {
  for (const auto& key : keys) validate_spec(spec(key));
}

void Config::validate_spec(const KeySpec& s) const {
  const Value& v = values_.at(s.name);
  auto fail = [&](const std::string& why) {
    std::string where = v.source == "environment" ? "environment " + env_name(s.name) : v.source;
    throw Error(Errc::config, "config " + s.name + ": " + why + " (from " + where + ")");
  };
  if (v.text.empty()) {
    if (s.required) fail("a value is required");
    if (s.type == Type::string) return;
  }
  switch (s.type) {
    case Type::integer: {
      auto n = parse_int(v.text);
      if (!n) fail("expected an integer, got '" + v.text + "'");
      if (*n < s.min || *n > s.max) {
        fail("must be between " + std::to_string(s.min) + " and " + std::to_string(s.max) +
             ", got " + v.text);
      }
      break;
    }
    case Type::boolean:
      if (!parse_bool(v.text)) fail("expected true or false, got '" + v.text + "'");
      break;
    case Type::string:
      if (!s.choices.empty() &&
          std::find(s.choices.begin(), s.choices.end(), v.text) == s.choices.end()) {
        std::string list;
        for (const auto& c : s.choices) list += (list.empty() ? "" : ", ") + c;
        fail("must be one of " + list + ", got '" + v.text + "'");
      }
      break;
  }
}

const std::string& Config::get_string(const std::string& key) const {
  spec(key);
  return values_.at(key).text;
}

// A key no command validated (parse() without validate()) is validated when it is read.
std::int64_t Config::get_int(const std::string& key) const {
  const KeySpec& s = spec(key);
  if (s.type != Type::integer) throw Error(Errc::internal, key + " is not an integer");
  validate_spec(s);
  return *parse_int(values_.at(key).text);
}

bool Config::get_bool(const std::string& key) const {
  const KeySpec& s = spec(key);
  if (s.type != Type::boolean) throw Error(Errc::internal, key + " is not a boolean");
  validate_spec(s);
  return *parse_bool(values_.at(key).text);
}

const std::string& Config::source(const std::string& key) const {
  spec(key);
  return values_.at(key).source;
}

std::string Config::help_text() const {
  std::vector<std::string> all;
  for (const auto& s : specs_) all.push_back(s.name);
  std::ostringstream out;
  out << "Usage: " << program_ << " [--config FILE] [--KEY=VALUE ...]\n\n" << summary_ << "\n\n";
  out << "Every key can be set in the JSON config file (nested objects for the dots), by the\n"
         "environment variable shown, or by a flag; flags win over the environment, which wins\n"
         "over the file. In flag names a dash is an underscore (--batch-id is --batch_id).\n\n"
         "Keys:\n"
      << keys_help(all);
  out << "  --config <path>   env PPI_CONFIG\n      JSON configuration file\n";
  out << "  --help\n      print this text and exit\n";
  return out.str();
}

std::string Config::keys_help(const std::vector<std::string>& keys) const {
  std::ostringstream out;
  for (const auto& key : keys) {
    const KeySpec& s = spec(key);
    out << "  --" << s.name << " <" << type_name(s.type) << ">   env " << env_name(s.name) << "\n";
    out << "      " << s.help;
    if (s.required)
      out << " (required)";
    else if (!s.default_value.empty())
      out << " (default: " << s.default_value << ")";
    if (!s.choices.empty()) {
      out << " [";
      for (std::size_t i = 0; i < s.choices.size(); ++i) out << (i ? "|" : "") << s.choices[i];
      out << "]";
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace ppi::config
