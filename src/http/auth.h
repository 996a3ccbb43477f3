// Auth: who may call the API.
//
// A request carries its token in one of three places, tried in this order
// (the original system's order): `Authorization: Bearer <token>`, then
// `X-API-Key: <token>`, then the query parameter `api_key`. An Authorization
// header that does not start with "Bearer " (case-sensitive) is refused at
// once, without trying the other places. Failures are 401 `unauthorized`
// with the original messages: "missing authorization header", "invalid
// authorization header format", "invalid api key".
//
// The bootstrap key (configured, or generated on first start and kept in
// <data_dir>/api_key) is always valid and maps to Principal{"bootstrap",
// "admin"}. Stored API keys with roles plug in through SetKeyLookup().
// Comparisons against the bootstrap key take time independent of where the
// first difference is. Tokens never reach the logs.
//
// Thread-safety: Authenticate() may be called from many threads at once.
// Call SetKeyLookup() before handing the Authenticator to HttpServer, which
// keeps its own copy.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "http/request.h"
#include "kissvdb/config.h"
#include "kissvdb/status.h"

namespace kissvdb::http {

class Authenticator {
 public:
  // Resolves a token that is not the bootstrap key: a principal, nullopt for
  // an unknown/revoked key (401), or an error (e.g. the key store failed:
  // answered as 500 internal).
  using KeyLookup = std::function<Result<std::optional<Principal>>(std::string_view token)>;

  // REQUIRES: !bootstrap_key.empty()
  explicit Authenticator(std::string bootstrap_key);

  void SetKeyLookup(KeyLookup lookup) { lookup_ = std::move(lookup); }

  // Finds the token in `req` (headers) or `query` and checks it.
  Status Authenticate(const BeastRequest& req, const std::map<std::string, std::string>& query,
                      Principal* principal) const;

  // Checks one token.
  Status Check(std::string_view token, Principal* principal) const;

 private:
  std::string bootstrap_key_;
  KeyLookup lookup_;
};

// True when every byte matches; the running time depends only on the
// length of `given`, never on the content of `secret`.
bool ConstantTimeEquals(std::string_view given, std::string_view secret);

// True for 127.0.0.0/8, ::1, ::ffff:127.x.y.z and "localhost".
bool IsLoopbackAddress(std::string_view bind);

// Start-up policy: binding a non-loopback address requires an API key
// chosen by the operator (InvalidArgument otherwise).
Status CheckBindPolicy(const Config& config);

enum class KeySource { kConfig, kFile, kGenerated };

// The bootstrap key: config.api_key when set; otherwise the content of
// <data_dir>/api_key; otherwise a new random 32-byte hex token written there
// atomically with mode 0600 (the data directory is created if needed).
Result<std::string> ResolveApiKey(const Config& config, KeySource* source);

// The path of the generated key file.
std::string ApiKeyPath(const std::string& data_dir);

}  // namespace kissvdb::http
