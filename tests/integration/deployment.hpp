#pragma once
// A whole local deployment for integration tests: certificates, one database per actor on the
// chosen backend, and the real executables (super dealer, n dealers, model owner) started as
// processes on free loopback ports. Batches come either from the material test fixture (a
// trusted dealer, tests only: load_batches) or from the dealers' own generation (form_group,
// add_pool, then the super dealer's pool keeper fills the pool).

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <chrono>

#include "core/bytes.hpp"
#include "db/database.hpp"
#include "material/plan.hpp"
#include "material/verify.hpp"
#include "net/http_client.hpp"
#include "process.hpp"
#include "ring/z2k.hpp"

namespace ppi::test {

std::string binary(const std::string& actor);

// The super dealer's settings for a pool kept between these sizes, checked and retried fast.
std::vector<std::string> pool_env(int min_size, int max_size);

// A directory of certificates: a CA and one certificate per identity (make-certs.sh
// NAME[:ROLE]; the role defaults by name).
class Certificates {
 public:
  explicit Certificates(const std::vector<std::string>& identities);
  ~Certificates();
  const std::filesystem::path& dir() const { return dir_; }
  std::vector<std::string> tls_flags(const std::string& identity) const;
  // Calls as `identity` to whichever server answers (any_server); .to(id) pins one.
  net::ClientOptions client(const std::string& identity) const;

 private:
  std::filesystem::path dir_;
};

struct ActorProcess {
  std::string identity, url, db_url;
  std::unique_ptr<ChildProcess> process;
  std::string exe;               // what restart() runs again
  std::vector<std::string> env;  // with the same ports and database
};

// Waits until GET url/healthz answers 200; fails the test with the process output otherwise.
void wait_healthy(ChildProcess& process, const net::ClientOptions& options, const std::string& url);

class Deployment {
 public:
  Deployment(db::Dialect dialect, int dealer_count);
  // super_dealer_env: extra PPI_* settings of the super dealer (e.g. its pool sizes).
  Deployment(db::Dialect dialect, int dealer_count, std::vector<std::string> super_dealer_env);
  ~Deployment();

  db::Dialect dialect() const { return dialect_; }
  const Certificates& certs() const { return certs_; }
  std::vector<std::string> dealer_ids() const;
  ActorProcess& dealer(const std::string& id);

  // `model_owner register MODEL PLAN` as its own process; returns its exit status.
  int register_model(const std::string& model_id, const material::MaterialPlan& plan,
                     std::string& output);
  // The model owner executable with `args` (a command such as register or plaintext).
  int run_model_owner(std::vector<std::string> args, std::string& output);
  // Loads `count` fixture batches for the given dealers; returns their ids.
  std::vector<std::string> load_batches(const std::string& model_id,
                                        const material::MaterialPlan& plan,
                                        const std::vector<std::string>& dealers, int count);
  u128 fixture_alpha(const std::string& batch_id) const { return alphas_.at(batch_id); }

  // Runs the client executable (its certificate, its database, model_owner.url set).
  int run_client(std::vector<std::string> args, std::string& output,
                 const std::string& identity = "client");
  const std::string& client_db_url() const { return client_db_url_; }
  const std::string& online_endpoint() const { return online_endpoint_; }

  std::shared_ptr<db::Database> open(const std::string& db_url) const;

  // Generation: forms a group of these dealers (POST /v1/groups) and asks for a pool of the
  // model for it (POST /v1/pools), both as the operator. Both fail the test on an error.
  void form_group(const std::vector<std::string>& dealers);
  void add_pool(const std::string& model_id, const std::vector<std::string>& dealers);
  // Waits until the super dealer has at least `count` available batches (not mask sets) of
  // (model, group);
  // returns their ids. Fails the test after `timeout`.
  std::vector<std::string> wait_available(const std::string& model_id,
                                          const std::vector<std::string>& dealers, int count,
                                          std::chrono::seconds timeout);
  // Waits until the super dealer's mask set of (model, group) is generated (available, or bound
  // already); returns its id. Fails the test after `timeout`.
  std::string wait_mask_set(const std::string& model_id, const std::vector<std::string>& dealers,
                            std::chrono::seconds timeout);
  // The material of a converted batch, from the model owner's stored share (its inference
  // must be 'ready') and the client's stored seeds expanded; fails the test when either is
  // missing or has the wrong size. For verify_batch.
  material::OpenedBatch open_converted(const std::string& batch_id,
                                       const material::MaterialPlan& plan);
  // This dealer's stored share of a batch (16 bytes alpha_i, then 32 bytes per element).
  Bytes dealer_share(const std::string& dealer_id, const std::string& batch_id);

  // kill -9, and a restart on the same ports and database.
  void kill(ActorProcess& actor);
  void restart(ActorProcess& actor);

  ActorProcess super_dealer, model_owner;
  std::vector<ActorProcess> dealers;

 private:
  ActorProcess start(const std::string& exe, const std::string& identity,
                     std::vector<std::string> env);
  void launch(ActorProcess& actor);

  db::Dialect dialect_;
  Certificates certs_;
  std::string client_db_url_;
  std::string online_endpoint_;  // the model owner's gRPC online service
  std::map<std::string, u128> alphas_;
};

}  // namespace ppi::test
