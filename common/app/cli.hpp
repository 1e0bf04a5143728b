#pragma once
// The command line of the four executables, declared as data: an executable is a table of
// commands (name, arguments, one-line summary, the configuration keys each reads, whether it
// opens the actor's database or needs its certificate), and run_cli does the rest the same way
// for all of them: `--help` (the commands, one line each), `COMMAND --help` (only the keys that
// command reads), `--version`, validation of only the chosen command's keys (an offline command
// is not asked for a database URL it never opens), logging (commands log warnings and errors
// on stderr unless --verbose, so that stdout holds results; a server logs at log.level), and
// --json (the command's result as one JSON document on stdout).
#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "db/database.hpp"
#include "net/tls.hpp"

namespace ppi::app {

// "0.1.0 (commit 1a2b3c4)": the CMake project version and the commit at configure time.
std::string version();

// What a command prints on stdout: as text, as it goes; with --json, one document at the end.
class Output {
 public:
  explicit Output(bool json) : json_(json) {}
  bool json() const { return json_; }
  // The document --json prints once the command has returned.
  nlohmann::ordered_json& doc() { return doc_; }
  // One result: a `key=value ...` line, or its fields added to the document.
  void record(const nlohmann::ordered_json& fields);
  // One `key=value ...` line per row, or the rows as the array doc[key].
  void records(const std::string& key, const nlohmann::ordered_json& rows);
  // The rows as a table under `columns` (their keys), or as the array doc[key].
  void table(const std::string& key, const std::vector<std::string>& columns,
             const nlohmann::ordered_json& rows);
  // Prints the document (with --json); run_cli calls it when the command returns.
  void finish() const;

 private:
  bool json_;
  nlohmann::ordered_json doc_ = nlohmann::ordered_json::object();
};

// `key=value key=value`: strings bare unless they hold a space or a quote (then JSON-quoted).
std::string key_values(const nlohmann::ordered_json& fields);
// An aligned text table: a header of the column names, then one line per row.
std::string text_table(const std::vector<std::string>& columns, const nlohmann::ordered_json& rows);

struct CommandContext {
  const config::Config& cfg;
  std::vector<std::string> args;     // the words after the command's name
  std::shared_ptr<db::Database> db;  // the actor's migrated database, for `database` commands
  Output& out;
};

struct Command {
  std::string name{};
  std::string arguments{};  // its usage after the name, e.g. "MODEL DEALER..."
  std::string summary{};    // its line in the executable's --help
  // The keys of the executable it reads, besides db.* (database) and tls.* (tls).
  std::vector<std::string> keys{};
  // Keys only commands have (declared here, listed in the executable's keys once).
  std::vector<config::KeySpec> own_keys{};
  bool database = false;  // opens and migrates the actor's database (db.*)
  bool tls = false;       // needs the actor's certificate (tls.*), checked before it runs
  bool serves = false;    // a server: logs at log.level, prints no result
  std::size_t min_args = 0;
  std::size_t max_args = std::numeric_limits<std::size_t>::max();
  std::function<int(CommandContext&)> run{};
};

struct Program {
  std::string name;  // the executable, e.g. "super_dealer"
  std::string summary;
  std::vector<config::KeySpec> keys;  // the keys commands share (db.*, tls.*, log.level ...)
  std::vector<Command> commands;
  std::string default_command;  // run when no command is named ("serve"); empty: one is needed
};

// The whole main() of an executable: prints help or the version, or runs the named command
// (see above) and returns its status; errors as run_main.
int run_cli(const Program& program, int argc, const char* const* argv);

// The actor's TLS identity (app::tls_options), its certificate and key loaded once so that a
// bad file or a key that is not the certificate's is Error(config) before anything is called;
// sets the log identity. nullopt with tls.insecure.
std::optional<net::TlsOptions> checked_tls(const config::Config& cfg);

}  // namespace ppi::app
