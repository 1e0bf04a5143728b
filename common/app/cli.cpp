#include "app/cli.hpp"

#include <algorithm>
#include <cctype>
#include <iostream>
#include <sstream>

#include "app/actor.hpp"
#include "core/error.hpp"
#include "obs/log.hpp"

namespace ppi::app {
namespace {

using nlohmann::ordered_json;

std::string cell(const ordered_json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump();
}

std::vector<std::string> names_with_prefix(const std::vector<config::KeySpec>& specs,
                                           std::string_view prefix) {
  std::vector<std::string> out;
  for (const auto& s : specs) {
    if (s.name.rfind(prefix, 0) == 0) out.push_back(s.name);
  }
  return out;
}

// The keys `command` reads, in the order --help lists them: its own, then the database's,
// the certificate's and logging.
std::vector<std::string> command_keys(const Command& command) {
  const auto common = common_keys();
  std::vector<std::string> keys = command.keys;
  for (const auto& k : command.own_keys) keys.push_back(k.name);
  if (command.database) {
    for (auto& k : names_with_prefix(common, "db.")) keys.push_back(std::move(k));
  }
  if (command.tls) {
    for (auto& k : names_with_prefix(common, "tls.")) keys.push_back(std::move(k));
  }
  keys.push_back("log.level");
  std::vector<std::string> unique;
  for (auto& k : keys) {
    if (std::find(unique.begin(), unique.end(), k) == unique.end()) unique.push_back(std::move(k));
  }
  return unique;
}

std::string usage(const Program& program, const Command& command) {
  std::string u = program.name + " " + command.name;
  if (!command.arguments.empty()) u += " " + command.arguments;
  return u;
}

constexpr const char* kSources =
    "Every key can be set in the JSON config file (--config FILE or PPI_CONFIG; nested objects\n"
    "for the dots), by the environment variable shown, or by a flag (--key=value or --key value);\n"
    "flags win over the environment, which wins over the file. In flag names a dash is an\n"
    "underscore: --batch-id is --batch_id.\n";

std::string general_options(bool serves) {
  std::string out;
  if (!serves) {
    out +=
        "  --json      print the result as one JSON document on stdout\n"
        "  --verbose   log at log.level on stderr (otherwise warnings and errors only)\n";
  }
  out +=
      "  --config <path>   env PPI_CONFIG\n      JSON configuration file\n"
      "  --version   print the version and exit\n"
      "  --help      print this text and exit\n";
  return out;
}

std::string program_help(const Program& program) {
  std::ostringstream out;
  out << "Usage: " << program.name << " "
      << (program.default_command.empty() ? "COMMAND" : "[COMMAND]")
      << " [ARGUMENTS] [--KEY=VALUE ...]\n\n"
      << program.summary << "\n\nCommands:\n";
  std::size_t width = 0;
  for (const auto& c : program.commands) {
    width = std::max(width, (c.name + " " + c.arguments).size());
  }
  for (const auto& c : program.commands) {
    std::string head = c.name + (c.arguments.empty() ? "" : " " + c.arguments);
    out << "  " << head << std::string(width + 2 - head.size(), ' ') << c.summary;
    if (c.name == program.default_command) out << " (the default)";
    out << "\n";
  }
  out << "\n'" << program.name << " COMMAND --help' lists the keys that command reads.\n"
      << kSources << "\nOptions:\n"
      << general_options(false);
  return out.str();
}

std::string command_help(const Program& program, const Command& command,
                         const config::Config& cfg) {
  std::ostringstream out;
  out << "Usage: " << usage(program, command) << " [--KEY=VALUE ...]\n\n"
      << command.summary << "\n\n"
      << kSources << "\nKeys:\n"
      << cfg.keys_help(command_keys(command)) << general_options(command.serves);
  return out.str();
}

const Command* find_command(const Program& program, const std::string& name) {
  for (const auto& c : program.commands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string command_list(const Program& program) {
  std::string list;
  for (const auto& c : program.commands) list += (list.empty() ? "" : ", ") + c.name;
  return list;
}

// The executable's keys: the shared ones, each command's own ones once, --json and --verbose.
std::vector<config::KeySpec> all_keys(const Program& program) {
  std::vector<config::KeySpec> keys = program.keys;
  auto add = [&](const config::KeySpec& k) {
    if (std::none_of(keys.begin(), keys.end(),
                     [&](const config::KeySpec& s) { return s.name == k.name; })) {
      keys.push_back(k);
    }
  };
  for (const auto& c : program.commands) {
    for (const auto& k : c.own_keys) add(k);
  }
  add(config::boolean_key("json", false, "print the result as one JSON document on stdout"));
  add(config::boolean_key("verbose", false,
                          "log at log.level on stderr (otherwise warnings and errors only)"));
  return keys;
}

}  // namespace

std::string version() {
  std::string v = PPI_VERSION;
  const std::string commit = PPI_GIT_COMMIT;
  if (!commit.empty()) v += " (commit " + commit + ")";
  return v;
}

std::string key_values(const ordered_json& fields) {
  std::string line;
  for (const auto& [key, value] : fields.items()) {
    std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    if (value.is_string() && (text.empty() || text.find_first_of(" \"=") != std::string::npos)) {
      text = value.dump();
    }
    line += (line.empty() ? "" : " ") + key + "=" + text;
  }
  return line;
}

std::string text_table(const std::vector<std::string>& columns, const ordered_json& rows) {
  std::vector<std::size_t> width;
  for (const auto& c : columns) width.push_back(c.size());
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
      width[i] = std::max(width[i], cell(row.value(columns[i], ordered_json())).size());
    }
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      l += cells[i];
      if (i + 1 < cells.size()) l += std::string(width[i] + 2 - cells[i].size(), ' ');
    }
    out += l + "\n";
  };
  std::vector<std::string> header;
  for (const auto& c : columns) {
    std::string h = c;
    std::transform(h.begin(), h.end(), h.begin(),
                   [](unsigned char ch) { return std::toupper(ch); });
    header.push_back(h);
  }
  line(header);
  for (const auto& row : rows) {
    std::vector<std::string> cells;
    for (const auto& c : columns) cells.push_back(cell(row.value(c, ordered_json())));
    line(cells);
  }
  return out;
}

void Output::record(const ordered_json& fields) {
  if (!json_) {
    std::cout << key_values(fields) << std::endl;
    return;
  }
  for (const auto& [key, value] : fields.items()) doc_[key] = value;
}

void Output::records(const std::string& key, const ordered_json& rows) {
  if (json_) {
    doc_[key] = rows;
    return;
  }
  for (const auto& row : rows) std::cout << key_values(row) << "\n";
  std::cout << std::flush;
}

void Output::table(const std::string& key, const std::vector<std::string>& columns,
                   const ordered_json& rows) {
  if (json_) {
    doc_[key] = rows;
    return;
  }
  std::cout << text_table(columns, rows) << std::flush;
}

void Output::finish() const {
  if (json_) std::cout << doc_.dump(2) << std::endl;
}

std::optional<net::TlsOptions> checked_tls(const config::Config& cfg) {
  auto tls = tls_options(cfg);
  if (tls) {
    net::check_identity(*tls);
    log::set_identity(net::certificate_common_name(tls->cert_file));
  }
  return tls;
}

int run_cli(const Program& program, int argc, const char* const* argv) {
  return run_main(program.name, [&] {
    auto cfg = config::Config::parse(program.name, program.summary, all_keys(program), argc, argv);
    if (cfg.version_requested()) {
      std::cout << program.name << " " << version() << "\n";
      return 0;
    }
    const auto& words = cfg.positional();
    const std::string name = words.empty() ? program.default_command : words[0];
    const Command* command = name.empty() ? nullptr : find_command(program, name);
    if (cfg.help_requested()) {
      std::cout << (command && !words.empty() ? command_help(program, *command, cfg)
                                              : program_help(program));
      return 0;
    }
    if (name.empty()) {
      throw Error(Errc::config,
                  "no command given (commands: " + command_list(program) + "; see --help)");
    }
    if (!command) {
      throw Error(Errc::config, "unknown command '" + name +
                                    "' (commands: " + command_list(program) + "; see --help)");
    }
    std::vector<std::string> args(words.empty() ? words.begin() : words.begin() + 1, words.end());
    if (args.size() < command->min_args || args.size() > command->max_args) {
      throw Error(Errc::config, "usage: " + usage(program, *command) + " (see " + program.name +
                                    " " + command->name + " --help)");
    }
    cfg.validate(command_keys(*command));
    cfg.validate({"json", "verbose"});
    log::set_actor(program.name);
    // A command's stdout is its result: its own progress and logs stay off it, and below
    // warn only with --verbose. A server's log is its output.
    const auto level = log::parse_level(cfg.get_string("log.level"));
    log::set_min_level(
        command->serves || cfg.get_bool("verbose") ? level : std::max(level, log::Level::warn));
    if (command->tls) checked_tls(cfg);
    std::shared_ptr<db::Database> database;
    if (command->database) database = open_database(cfg, program.name);
    Output out(cfg.get_bool("json"));
    CommandContext ctx{cfg, std::move(args), std::move(database), out};
    const int status = command->run(ctx);
    out.finish();
    return status;
  });
}

}  // namespace ppi::app
