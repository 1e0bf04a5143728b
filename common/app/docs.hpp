#pragma once
// The documentation routes every REST actor serves:
//   GET /openapi.yaml  the actor's OpenAPI document (openapi/<actor>.yaml, compiled in)
//   GET /docs          a Swagger UI page showing /openapi.yaml
//   GET /docs/{file}   the Swagger UI assets the page loads, read from swagger_ui_dir
// Swagger UI itself is not compiled in: it is the npm package swagger-ui-dist, installed by
// scripts/install-web-deps.sh. Without it, /docs and /docs/{file} answer 503 saying so.

#include <string>
#include <string_view>

#include "net/router.hpp"

namespace ppi::app {

// Throws Error(internal) when no openapi/<actor>.yaml was compiled in.
void add_docs_routes(net::Router& router, std::string_view actor,
                     const std::string& swagger_ui_dir);

}  // namespace ppi::app
