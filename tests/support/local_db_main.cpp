// ppi_local_db: one database server for a local deployment (scripts/run-local.sh), started in a
// temporary data directory with the same harness the tests use. Creates one database (and user)
// per name, writes their URLs to an env file (mode 600), and runs until SIGTERM or SIGINT,
// then stops the server and removes its directory.
//
//   ppi_local_db --dialect postgresql|mysql --env-file FILE NAME...
#include <signal.h>
#include <sys/stat.h>

#include <cctype>
#include <fstream>
#include <iostream>
#include <memory>

#include "core/error.hpp"
#include "db_servers.hpp"

namespace {

std::string env_key(std::string name) {
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return "DB_URL_" + name;
}

int run(int argc, char** argv) {
  std::string dialect, env_file;
  std::vector<std::string> names;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--dialect" && i + 1 < argc) {
      dialect = argv[++i];
    } else if (arg == "--env-file" && i + 1 < argc) {
      env_file = argv[++i];
    } else if (arg.rfind("--", 0) == 0) {
      throw ppi::Error(ppi::Errc::config, "unknown option " + arg);
    } else {
      names.push_back(arg);
    }
  }
  if ((dialect != "postgresql" && dialect != "mysql") || env_file.empty() || names.empty()) {
    throw ppi::Error(ppi::Errc::config,
                     "usage: ppi_local_db --dialect postgresql|mysql --env-file FILE NAME...");
  }
  // Blocked before any thread starts, so that only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::unique_ptr<ppi::test::DbServer> server;
  if (dialect == "postgresql") {
    server = std::make_unique<ppi::test::PostgresServer>();
  } else {
    server = std::make_unique<ppi::test::MariaDbServer>();
  }
  {
    std::string tmp = env_file + ".tmp";
    ::umask(077);
    std::ofstream out(tmp);
    for (const auto& name : names)
      out << env_key(name) << "='" << server->create_database(name) << "'\n";
    out.close();
    if (!out || std::rename(tmp.c_str(), env_file.c_str()) != 0) {
      throw ppi::Error(ppi::Errc::internal, "cannot write " + env_file);
    }
  }
  std::cerr << "ppi_local_db: ready (" << names.size() << " databases)\n";
  int sig = 0;
  sigwait(&stop_signals, &sig);
  server->stop();
  std::cerr << "ppi_local_db: stopped\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const ppi::Error& e) {
    std::cerr << "ppi_local_db: error: " << e.what() << "\n";
    return e.code() == ppi::Errc::config ? 2 : 1;
  }
}
