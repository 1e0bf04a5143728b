#pragma once
// `super_dealer audit` on a deployment (docs/audit.md), with the model owner's ledger among the
// audited ones; and the check that ends the converter, concurrency and online tests: whatever
// they did, every actor's ledger agrees (issue 11, "How it is checked").

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "deployment.hpp"
#include "process.hpp"

namespace ppi::test {

inline int run_audit(Deployment& d, std::vector<std::string> args, std::string& out) {
  args.insert(args.begin(), {binary("super_dealer"), "audit"});
  for (auto& f : d.certs().tls_flags("super_dealer")) args.push_back(f);
  return run_program(std::move(args),
                     {"PPI_DB_URL=" + d.super_dealer.db_url,
                      "PPI_AUDIT_MODEL_OWNERS=model_owner=" + d.model_owner.url},
                     out);
}

inline void require_clean_audit(Deployment& d) {
  std::string out;
  CHECK_MESSAGE(run_audit(d, {}, out) == 0, out);
  CHECK_MESSAGE(out.find(" 0 violations") != std::string::npos, out);
}

}  // namespace ppi::test
