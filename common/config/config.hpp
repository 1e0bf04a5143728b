#pragma once
// Configuration of an executable: built-in defaults, then a JSON file (--config FILE or
// PPI_CONFIG), then environment variables (PPI_<KEY>, dots and dashes as underscores), then
// command-line flags (--key=value). Every key is declared with a type, a default and a help
// text; `--help` lists them all. Every value is validated once, here, with an error that names
// the key and where the bad value came from. In flag names a dash is an underscore
// (--batch-id is --batch_id): people type both, and no key differs from another only there.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ppi::config {

enum class Type { string, integer, boolean };

struct KeySpec {
  std::string name;  // dotted, e.g. "db.url"
  Type type = Type::string;
  std::string default_value;  // empty string with required=true: must be given
  std::string help;
  bool required = false;
  std::int64_t min = INT64_MIN;  // integers only
  std::int64_t max = INT64_MAX;
  std::vector<std::string> choices;  // strings only; empty means any
};

// Declarations read better through these than through aggregate initialisation.
KeySpec string_key(std::string name, std::string default_value, std::string help);
KeySpec required_key(std::string name, std::string help);
KeySpec integer_key(std::string name, std::int64_t default_value, std::int64_t min,
                    std::int64_t max, std::string help);
KeySpec boolean_key(std::string name, bool default_value, std::string help);
KeySpec choice_key(std::string name, std::string default_value, std::vector<std::string> choices,
                   std::string help);

// The environment variable that overrides a key: "db.pool_size" -> "PPI_DB_POOL_SIZE".
std::string env_name(const std::string& key);

class Config {
 public:
  // Throws Error(config) on an unknown key in the file, a bad value or a missing required key.
  // Sets help_requested() instead of validating when --help is given.
  static Config load(std::string program, std::string summary, std::vector<KeySpec> specs, int argc,
                     const char* const* argv);
  // The same without validating values: the caller validates the keys it will read with
  // validate(keys) (an offline command need not be given a database URL it never uses).
  static Config parse(std::string program, std::string summary, std::vector<KeySpec> specs,
                      int argc, const char* const* argv);
  // Error(config) naming the key and the value's source unless each of `keys` has a valid value.
  void validate(const std::vector<std::string>& keys) const;

  bool help_requested() const { return help_requested_; }
  bool version_requested() const { return version_requested_; }
  std::string help_text() const;
  // The help lines of these keys (each with its type, environment variable, default).
  std::string keys_help(const std::vector<std::string>& keys) const;
  const std::vector<KeySpec>& specs() const { return specs_; }

  const std::string& get_string(const std::string& key) const;
  std::int64_t get_int(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  // Where a key's value came from: "default", "file", "environment" or "flag".
  const std::string& source(const std::string& key) const;
  // Words on the command line that are not flags (sub-commands and their arguments).
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  struct Value {
    std::string text;
    std::string source;
  };
  const KeySpec& spec(const std::string& key) const;
  void set(const std::string& key, std::string text, std::string source);
  void validate_spec(const KeySpec& s) const;

  std::string program_;
  std::string summary_;
  std::vector<KeySpec> specs_;
  std::map<std::string, Value> values_;
  std::vector<std::string> positional_;
  bool help_requested_ = false;
  bool version_requested_ = false;
};

}  // namespace ppi::config
