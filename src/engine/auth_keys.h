// AuthKeys: API keys as an event-sourced model.
//
// Creating or revoking a key is an event (event_type::kAuthKeyCreated /
// kAuthKeyRevoked) through the commit pipeline like every other write, so
// keys survive restarts, replay deterministically and are part of every
// backup. Only the SHA-256 digest of a key is ever stored or logged.
//
// Two halves:
//   AuthKeyStore  the LMDB named database "auth_keys": id -> JSON record
//                 {id,name,role,permissions,hash,created_at_ms,revoked_at_ms}.
//                 Written by ApplyEvent inside the commit (or replay) txn.
//   AuthKeyIndex  the in-memory view of the active keys used on every
//                 request: digest bucket -> (digest, id, role). Loaded from
//                 LMDB at boot and updated by Apply() after each commit, so a
//                 revocation is in force before its request is answered.
//                 Lookups hash the token, find candidates by the first 8
//                 digest bytes, and compare full digests in constant time.
//
// Thread safety: AuthKeyStore is stateless apart from its dbi. AuthKeyIndex
// Lookup() may run on any thread at any time (shared_mutex, read-mostly);
// Load()/Apply() come from the commit thread or boot.
#pragma once

#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kissvdb/engine.h"
#include "kissvdb/event.h"
#include "kissvdb/status.h"
#include "kv/lmdb.h"
#include "util/sha256.h"

namespace kissvdb::auth_keys {

inline constexpr std::string_view kKeyPrefix = "kvdb_";

bool IsValidRole(std::string_view role);
// Name, role and permissions of a new key.
Status Validate(const NewApiKey& key);

// The digest stored for a plain key (64 hex digits).
std::string DigestHex(std::string_view token);

// The payload of a kAuthKeyCreated event.
Json CreatedEventData(const ApiKeyInfo& info, const std::string& digest_hex);

class AuthKeyStore {
 public:
  static Result<AuthKeyStore> Open(kv::Txn& txn);
  static bool Handles(std::string_view event_type);

  Status ApplyEvent(kv::Txn& txn, const Event& event) const;
  // nullopt when the id is unknown.
  Result<std::optional<ApiKeyInfo>> Get(const kv::Txn& txn, const std::string& id) const;
  Result<std::vector<ApiKeyInfo>> List(const kv::Txn& txn) const;

  // Calls fn(info, digest_hex) for every active key.
  Status ForEachActive(const kv::Txn& txn,
                       const std::function<void(const ApiKeyInfo&, const std::string&)>& fn) const;

 private:
  explicit AuthKeyStore(MDB_dbi dbi) : dbi_(dbi) {}
  MDB_dbi dbi_;
};

class AuthKeyIndex {
 public:
  // Replaces the index with the active keys in `txn`.
  Status Load(const kv::Txn& txn, const AuthKeyStore& store);
  // Applies one durable event (ignores other types).
  void Apply(const Event& event);
  std::optional<ApiKeyPrincipal> Lookup(std::string_view token) const;

 private:
  struct Entry {
    sha256::Digest digest;
    ApiKeyPrincipal principal;
  };
  static uint64_t Bucket(const sha256::Digest& d);
  void InsertLocked(const std::string& digest_hex, ApiKeyPrincipal principal);

  mutable std::shared_mutex mu_;
  std::unordered_map<uint64_t, std::vector<Entry>> by_bucket_;
};

}  // namespace kissvdb::auth_keys
