#include "engine/auth_keys.h"

#include <mutex>

namespace kissvdb::auth_keys {

namespace {

constexpr size_t kMaxNameBytes = 128;

Status Malformed(const Event& event, const std::string& why) {
  return Status::Corruption("event " + std::to_string(event.offset) + " (" + event.type + ") " + why);
}

Json RecordJson(const ApiKeyInfo& info, const std::string& digest_hex) {
  return Json{{"id", info.id},
              {"name", info.name},
              {"role", info.role},
              {"permissions", info.permissions},
              {"hash", digest_hex},
              {"created_at_ms", info.created_at_ms},
              {"revoked_at_ms", info.revoked_at_ms}};
}

// Parses a stored record; *digest_hex gets its hash when not null.
Result<ApiKeyInfo> ParseRecord(std::string_view raw, std::string* digest_hex) {
  Json j = Json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::Corruption("auth_keys: a record is not a JSON object");
  try {
    ApiKeyInfo info;
    info.id = j.at("id").get<std::string>();
    info.name = j.at("name").get<std::string>();
    info.role = j.at("role").get<std::string>();
    info.permissions = j.value("permissions", Json::object());
    info.created_at_ms = j.at("created_at_ms").get<uint64_t>();
    info.revoked_at_ms = j.value("revoked_at_ms", uint64_t{0});
    if (digest_hex != nullptr) *digest_hex = j.at("hash").get<std::string>();
    return info;
  } catch (const Json::exception& e) {
    return Status::Corruption(std::string("auth_keys: malformed record: ") + e.what());
  }
}

bool ParseDigest(const std::string& hex, sha256::Digest* out) {
  if (hex.size() != 64) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < 32; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace

bool IsValidRole(std::string_view role) {
  return role == "admin" || role == "read_write" || role == "read_only";
}

Status Validate(const NewApiKey& key) {
  if (key.name.empty() || key.name.size() > kMaxNameBytes) {
    return Status::InvalidArgument("name must be 1..128 bytes");
  }
  if (!IsValidRole(key.role)) {
    return Status::InvalidArgument("role must be one of admin, read_write, read_only");
  }
  if (!key.permissions.is_object()) return Status::InvalidArgument("permissions must be an object");
  return Status::OK();
}

std::string DigestHex(std::string_view token) { return sha256::HexHash(token); }

Json CreatedEventData(const ApiKeyInfo& info, const std::string& digest_hex) {
  return Json{{"id", info.id},
              {"name", info.name},
              {"role", info.role},
              {"permissions", info.permissions},
              {"hash", digest_hex},
              {"created_at_ms", info.created_at_ms}};
}

// ---- AuthKeyStore ----

Result<AuthKeyStore> AuthKeyStore::Open(kv::Txn& txn) {
  auto dbi = txn.OpenDb("auth_keys", MDB_CREATE);
  if (!dbi.ok()) return dbi.status();
  return AuthKeyStore(*dbi);
}

bool AuthKeyStore::Handles(std::string_view event_type) {
  return event_type == event_type::kAuthKeyCreated || event_type == event_type::kAuthKeyRevoked;
}

Status AuthKeyStore::ApplyEvent(kv::Txn& txn, const Event& event) const {
  const Json& d = event.data;
  if (!d.is_object() || !d.contains("id") || !d["id"].is_string()) return Malformed(event, "has no id");
  const std::string id = d["id"].get<std::string>();
  if (event.type == event_type::kAuthKeyCreated) {
    ApiKeyInfo info;
    info.id = id;
    try {
      info.name = d.at("name").get<std::string>();
      info.role = d.at("role").get<std::string>();
      info.permissions = d.value("permissions", Json::object());
      info.created_at_ms = d.at("created_at_ms").get<uint64_t>();
      const std::string hash = d.at("hash").get<std::string>();
      return txn.Put(dbi_, id, RecordJson(info, hash).dump());
    } catch (const Json::exception& e) {
      return Malformed(event, std::string("has a malformed payload: ") + e.what());
    }
  }
  // Revoked: keep the record (listed as revoked), mark the time.
  auto raw = txn.Get(dbi_, id);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return Malformed(event, "revokes unknown key " + id);
  std::string hash;
  auto info = ParseRecord(**raw, &hash);
  if (!info.ok()) return info.status();
  info->revoked_at_ms = d.value("revoked_at_ms", event.ts_ms);
  if (info->revoked_at_ms == 0) info->revoked_at_ms = 1;  // 0 means active
  return txn.Put(dbi_, id, RecordJson(*info, hash).dump());
}

Result<std::optional<ApiKeyInfo>> AuthKeyStore::Get(const kv::Txn& txn, const std::string& id) const {
  auto raw = txn.Get(dbi_, id);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<ApiKeyInfo>();
  auto info = ParseRecord(**raw, nullptr);
  if (!info.ok()) return info.status();
  return std::optional<ApiKeyInfo>(std::move(info.value()));
}

Result<std::vector<ApiKeyInfo>> AuthKeyStore::List(const kv::Txn& txn) const {
  auto c = kv::Cursor::Open(txn, dbi_);
  if (!c.ok()) return c.status();
  std::vector<ApiKeyInfo> out;
  for (bool v = c->First(); v; v = c->Next()) {
    auto info = ParseRecord(c->value(), nullptr);
    if (!info.ok()) return info.status();
    out.push_back(std::move(info.value()));
  }
  return out;
}

Status AuthKeyStore::ForEachActive(const kv::Txn& txn,
                                   const std::function<void(const ApiKeyInfo&, const std::string&)>& fn) const {
  auto c = kv::Cursor::Open(txn, dbi_);
  if (!c.ok()) return c.status();
  for (bool v = c->First(); v; v = c->Next()) {
    std::string hash;
    auto info = ParseRecord(c->value(), &hash);
    if (!info.ok()) return info.status();
    if (info->revoked_at_ms == 0) fn(*info, hash);
  }
  return Status::OK();
}

// ---- AuthKeyIndex ----

uint64_t AuthKeyIndex::Bucket(const sha256::Digest& d) {
  uint64_t b = 0;
  for (int i = 0; i < 8; ++i) b = b << 8 | d[i];
  return b;
}

void AuthKeyIndex::InsertLocked(const std::string& digest_hex, ApiKeyPrincipal principal) {
  Entry e;
  if (!ParseDigest(digest_hex, &e.digest)) return;  // never matches anything
  e.principal = std::move(principal);
  by_bucket_[Bucket(e.digest)].push_back(std::move(e));
}

Status AuthKeyIndex::Load(const kv::Txn& txn, const AuthKeyStore& store) {
  std::unique_lock lk(mu_);
  by_bucket_.clear();
  return store.ForEachActive(txn, [&](const ApiKeyInfo& info, const std::string& hash) {
    InsertLocked(hash, ApiKeyPrincipal{info.id, info.role});
  });
}

void AuthKeyIndex::Apply(const Event& event) {
  if (!event.data.is_object()) return;
  const std::string id = event.data.value("id", std::string());
  std::unique_lock lk(mu_);
  if (event.type == event_type::kAuthKeyCreated) {
    InsertLocked(event.data.value("hash", std::string()), ApiKeyPrincipal{id, event.data.value("role", "")});
  } else if (event.type == event_type::kAuthKeyRevoked) {
    for (auto it = by_bucket_.begin(); it != by_bucket_.end();) {
      std::erase_if(it->second, [&](const Entry& e) { return e.principal.id == id; });
      it = it->second.empty() ? by_bucket_.erase(it) : std::next(it);
    }
  }
}

std::optional<ApiKeyPrincipal> AuthKeyIndex::Lookup(std::string_view token) const {
  if (token.substr(0, kKeyPrefix.size()) != kKeyPrefix) return std::nullopt;
  const sha256::Digest digest = sha256::Hash(token);
  std::shared_lock lk(mu_);
  auto it = by_bucket_.find(Bucket(digest));
  if (it == by_bucket_.end()) return std::nullopt;
  for (const Entry& e : it->second) {
    if (sha256::Equal(e.digest, digest)) return e.principal;
  }
  return std::nullopt;
}

}  // namespace kissvdb::auth_keys
