#pragma once
// A whole local deployment for integration tests: certificates, one database per actor on the
// chosen backend, and the real executables (super dealer, n dealers, model owner) started as
// processes on free loopback ports. Batches are loaded with the material test fixture (a
// trusted dealer, tests only) until the dealers generate material themselves.

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "db/database.hpp"
#include "material/plan.hpp"
#include "net/http_client.hpp"
#include "process.hpp"
#include "ring/z2k.hpp"

namespace ppi::test {

std::string binary(const std::string& actor);

// A directory of certificates: a CA and one certificate per identity.
class Certificates {
 public:
  explicit Certificates(const std::vector<std::string>& identities);
  ~Certificates();
  const std::filesystem::path& dir() const { return dir_; }
  std::vector<std::string> tls_flags(const std::string& identity) const;
  net::ClientOptions client(const std::string& identity) const;

 private:
  std::filesystem::path dir_;
};

struct ActorProcess {
  std::string identity, url, db_url;
  std::unique_ptr<ChildProcess> process;
};

// Waits until GET url/healthz answers 200; fails the test with the process output otherwise.
void wait_healthy(ChildProcess& process, const net::ClientOptions& options, const std::string& url);

class Deployment {
 public:
  Deployment(db::Dialect dialect, int dealer_count);
  ~Deployment();

  db::Dialect dialect() const { return dialect_; }
  const Certificates& certs() const { return certs_; }
  std::vector<std::string> dealer_ids() const;
  ActorProcess& dealer(const std::string& id);

  // `model_owner register MODEL PLAN` as its own process; returns its exit status.
  int register_model(const std::string& model_id, const material::MaterialPlan& plan,
                     std::string& output);
  // Loads `count` fixture batches for the given dealers; returns their ids.
  std::vector<std::string> load_batches(const std::string& model_id,
                                        const material::MaterialPlan& plan,
                                        const std::vector<std::string>& dealers, int count);
  u128 fixture_alpha(const std::string& batch_id) const { return alphas_.at(batch_id); }

  // Runs the client executable (its certificate, its database, model_owner.url set).
  int run_client(std::vector<std::string> args, std::string& output,
                 const std::string& identity = "client");
  const std::string& client_db_url() const { return client_db_url_; }

  std::shared_ptr<db::Database> open(const std::string& db_url) const;

  ActorProcess super_dealer, model_owner;
  std::vector<ActorProcess> dealers;

 private:
  ActorProcess start(const std::string& exe, const std::string& identity,
                     std::vector<std::string> env);

  db::Dialect dialect_;
  Certificates certs_;
  std::string client_db_url_;
  std::map<std::string, u128> alphas_;
};

}  // namespace ppi::test
