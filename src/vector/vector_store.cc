#include "vector/vector_store.h"

#include <filesystem>
#include <mutex>

#include "util/file_util.h"
#include "vector/collection.h"

namespace kissvdb::vector {

namespace {

// Inverse of EncodeCollectionName, for reporting a directory whose manifest
// cannot be read. Malformed escapes are kept as they are.
std::string DecodeCollectionName(std::string_view enc) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < enc.size(); ++i) {
    if (enc[i] == '%' && i + 2 < enc.size() && hex(enc[i + 1]) >= 0 && hex(enc[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(enc[i + 1]) * 16 + hex(enc[i + 2])));
      i += 2;
    } else {
      out.push_back(enc[i]);
    }
  }
  return out;
}

// Loose bounds for specs coming from the log: the engine enforces the
// configured limits before logging; here we only refuse nonsense.
const VectorLimits kApplyLimits{1u << 16, UINT32_MAX, 10000, 1u << 20, 1u << 20};

}  // namespace

VectorStore::VectorStore(std::string dir) : dir_(std::move(dir)) {}
VectorStore::~VectorStore() = default;

std::string VectorStore::DirOf(std::string_view name) const { return dir_ + "/" + EncodeCollectionName(name); }

Result<std::unique_ptr<VectorStore>> VectorStore::Open(const std::string& dir, const Options& options) {
  KISSVDB_RETURN_IF_ERROR(file_util::CreateDirs(dir));
  std::unique_ptr<VectorStore> store(new VectorStore(dir));
  std::error_code list_ec;
  std::vector<std::string> names;
  for (std::filesystem::directory_iterator it(dir, list_ec), end; !list_ec && it != end; it.increment(list_ec)) {
    const std::filesystem::directory_entry& entry = *it;
    std::string name = entry.path().filename().string();
    std::error_code ec;
    if (name.size() > 4 && name.ends_with(".new")) {
      std::filesystem::remove_all(entry.path(), ec);  // an interrupted first checkpoint
      continue;
    }
    if (name.find('.') != std::string::npos || !entry.is_directory(ec)) continue;
    names.push_back(std::move(name));
  }
  if (list_ec) return file_util::ErrnoStatus("list", dir, list_ec.value());
  for (const std::string& enc : names) {
    const std::string path = dir + "/" + enc;
    auto loaded = Collection::Load(path);
    Status s = loaded.status();
    if (s.ok() && EncodeCollectionName((*loaded)->spec().name) != enc) {
      s = Status::Corruption(path + "/manifest.json: names collection \"" + (*loaded)->spec().name +
                             "\", which does not belong in this directory");
    }
    if (s.ok()) {
      std::string name = (*loaded)->spec().name;
      store->collections_.emplace(std::move(name), std::shared_ptr<Collection>(std::move(loaded.value())));
      continue;
    }
    if (s.code() != Code::kCorruption || !options.quarantine_corrupt) return s;
    const std::string aside = path + ".corrupt";
    std::error_code ec;
    std::filesystem::remove_all(aside, ec);
    std::filesystem::rename(path, aside, ec);
    if (ec) return file_util::ErrnoStatus("quarantine", path, ec.value());
    KISSVDB_RETURN_IF_ERROR(file_util::SyncDir(dir));
    store->quarantined_.emplace_back(DecodeCollectionName(enc), s);
  }
  return store;
}

std::shared_ptr<Collection> VectorStore::Find(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = collections_.find(name);
  return it == collections_.end() ? nullptr : it->second;
}

namespace {
Status NoCollection(std::string_view name) {
  return Status::NotFound("vector collection \"" + std::string(name) + "\" not found");
}
}  // namespace

std::optional<CollectionInfo> VectorStore::Info(std::string_view collection) const {
  auto c = Find(collection);
  if (c == nullptr) return std::nullopt;
  return c->Info();
}

std::vector<CollectionInfo> VectorStore::List() const {
  std::vector<std::shared_ptr<Collection>> all;
  {
    std::shared_lock lock(mu_);
    for (const auto& [name, c] : collections_) all.push_back(c);
  }
  std::vector<CollectionInfo> out;
  out.reserve(all.size());
  for (const auto& c : all) out.push_back(c->Info());
  return out;
}

bool VectorStore::Contains(std::string_view collection, std::string_view id) const {
  std::shared_lock unit(unit_mu_);
  auto c = Find(collection);
  return c != nullptr && c->Contains(id);
}

Result<VectorRecord> VectorStore::Get(std::string_view collection, std::string_view id) const {
  std::shared_lock unit(unit_mu_);
  auto c = Find(collection);
  if (c == nullptr) return NoCollection(collection);
  return c->Get(id);
}

bool VectorStore::Accepts(std::string_view collection, std::string_view id, const JsonFilter* filter,
                          Json* meta) const {
  auto c = Find(collection);
  return c != nullptr && c->Accepts(id, filter, meta);
}

std::vector<bool> VectorStore::Live(std::string_view collection, const std::vector<std::string_view>& ids) const {
  std::shared_lock unit(unit_mu_);
  auto c = Find(collection);
  return c == nullptr ? std::vector<bool>(ids.size(), false) : c->Live(ids);
}

Status VectorStore::ForEachItem(std::string_view collection,
                                const std::function<Status(std::string_view id, const Json& meta)>& fn) const {
  auto c = Find(collection);
  return c == nullptr ? Status::OK() : c->ForEach(fn);
}

Result<std::vector<SearchHit>> VectorStore::Search(std::string_view collection, const SearchRequest& req,
                                                   SearchStats* stats) const {
  std::shared_lock unit(unit_mu_);
  auto c = Find(collection);
  if (c == nullptr) return NoCollection(collection);
  return c->Search(req, stats);
}

Status VectorStore::ApplyCreate(uint64_t offset, uint64_t ts_ms, const CollectionSpec& spec) {
  KISSVDB_RETURN_IF_ERROR(ValidateSpec(spec, kApplyLimits));
  std::unique_lock lock(mu_);
  auto it = collections_.find(spec.name);
  if (it != collections_.end()) {
    if (it->second->applied_offset() >= offset) return Status::OK();  // replay over newer files
    return Status(Code::kAlreadyExists, "vector collection \"" + spec.name + "\" already exists");
  }
  collections_.emplace(spec.name, std::make_shared<Collection>(spec, ts_ms, offset));
  return Status::OK();
}

Status VectorStore::ApplyDrop(uint64_t offset, std::string_view collection) {
  std::unique_lock lock(mu_);
  auto it = collections_.find(collection);
  if (it == collections_.end() || it->second->applied_offset() >= offset) return Status::OK();
  collections_.erase(it);
  pending_drops_[std::string(collection)] = offset;
  return Status::OK();
}

Status VectorStore::ApplyUpsert(uint64_t offset, uint64_t ts_ms, std::string_view collection, std::string_view id,
                                std::span<const float> vector, const Json& meta) {
  auto c = Find(collection);
  if (c == nullptr) return NoCollection(collection);
  return c->Upsert(offset, ts_ms, id, vector, meta);
}

Status VectorStore::ApplyDelete(uint64_t offset, uint64_t ts_ms, std::string_view collection, std::string_view id) {
  auto c = Find(collection);
  if (c == nullptr) return NoCollection(collection);
  return c->Delete(offset, ts_ms, id);
}

Status VectorStore::Checkpoint() {
  std::lock_guard checkpoint(checkpoint_mu_);
  std::map<std::string, uint64_t, std::less<>> drops;
  std::vector<std::pair<std::string, std::shared_ptr<Collection>>> live;
  {
    std::shared_lock lock(mu_);
    drops = pending_drops_;
    for (const auto& [name, c] : collections_) live.emplace_back(name, c);
  }
  // Dropped directories go first: a collection re-created under the same
  // name is then written into a fresh directory.
  for (const auto& [name, offset] : drops) {
    std::error_code ec;
    std::filesystem::remove_all(DirOf(name), ec);
    if (ec) return file_util::ErrnoStatus("remove dropped collection", DirOf(name), ec.value());
  }
  if (!drops.empty()) {
    KISSVDB_RETURN_IF_ERROR(file_util::SyncDir(dir_));
    std::unique_lock lock(mu_);
    for (const auto& [name, offset] : drops) {
      auto it = pending_drops_.find(name);
      if (it != pending_drops_.end() && it->second == offset) pending_drops_.erase(it);  // not dropped again since
    }
  }
  for (const auto& [name, c] : live) {
    KISSVDB_RETURN_IF_ERROR(c->Save(DirOf(name)));
  }
  return file_util::SyncDir(dir_);
}

}  // namespace kissvdb::vector
