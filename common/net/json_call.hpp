#pragma once
// A REST call between actors: JSON in, JSON out, and a problem+json answer turned back into
// the ppi::Error it came from (same code, the peer's detail), so errors keep their meaning
// across hops (a dealer's 410 reaches the client as `gone`).

#include <nlohmann/json.hpp>

#include "net/http_client.hpp"

namespace ppi::net {

Errc errc_for_status(unsigned status) noexcept;

// Throws Error(unavailable) when the peer cannot be reached, or the Error of its problem
// answer; returns the parsed body of a 2xx answer.
nlohmann::json call_json(const ClientOptions& options, http::verb method, const std::string& url,
                         const nlohmann::json& body = nullptr);

}  // namespace ppi::net
