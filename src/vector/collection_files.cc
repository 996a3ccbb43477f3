// Collection::Save / Collection::Load: the on-disk form of one collection.
// docs/vector-format.md describes every byte; keep the two in step.
//
//   <dir>/manifest.json        names the other two files with sizes and
//                              CRC32Cs; written last, so it always describes
//                              a complete set
//   <dir>/index-<gen>.hnsw     hnswlib saveIndex output (the graph and the
//                              stored vectors)
//   <dir>/rows-<gen>.bin       slot -> id, meta (and the raw vector for cosine)
//
// Each Save writes a new generation under new names, then the manifest, then
// removes everything else, so a crash at any point leaves the old set or the
// new one, both whole.
#include <fcntl.h>
#include <unistd.h>

#include <bit>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>

#include "util/crc32c.h"
#include "util/file_util.h"
#include "vector/collection.h"
#include "vector/graph_load.h"

namespace kissvdb::vector {

namespace {

static_assert(std::endian::native == std::endian::little, "vector files are little-endian");

constexpr char kManifestName[] = "manifest.json";
constexpr char kRowsMagic[8] = {'K', 'V', 'D', 'B', 'R', 'O', 'W', 'S'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kRowsHeaderSize = 28;

struct FileEntry {
  std::string name;
  uint64_t size = 0;
  uint32_t crc = 0;
};

std::string Join(const std::string& dir, const std::string& name) { return dir + "/" + name; }

Status Corrupt(const std::string& path, const std::string& what) {
  return Status::Corruption(path + ": " + what);
}

// ReadFile, with a missing file reported as corruption of the set.
Result<std::string> ReadRequired(const std::string& path) {
  auto data = file_util::ReadFile(path);
  if (!data.ok() && data.status().code() == Code::kNotFound) return Corrupt(path, "missing");
  return data;
}

void PutU32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }
void PutU64(std::string* out, uint64_t v) { out->append(reinterpret_cast<const char*>(&v), 8); }

// Bounds-checked little-endian reader over a byte string.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool U8(uint8_t* v) { return Bytes(v, 1); }
  bool U32(uint32_t* v) { return Bytes(v, 4); }
  bool U64(uint64_t* v) { return Bytes(v, 8); }
  bool Str(size_t n, std::string* s) {
    if (data_.size() < n) return false;
    s->assign(data_.data(), n);
    data_.remove_prefix(n);
    return true;
  }
  bool Bytes(void* dst, size_t n) {
    if (data_.size() < n) return false;
    std::memcpy(dst, data_.data(), n);
    data_.remove_prefix(n);
    return true;
  }
  size_t left() const { return data_.size(); }

 private:
  std::string_view data_;
};

// Size and CRC32C of a file, streamed; optionally fsyncs it first.
Status ChecksumFile(const std::string& path, bool sync, uint64_t* size, uint32_t* crc) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return file_util::ErrnoStatus("open", path, errno);
  Status s;
  if (sync && ::fsync(fd) != 0) s = file_util::ErrnoStatus("fsync", path, errno);
  std::vector<char> buf(1 << 20);
  *size = 0;
  *crc = 0;
  while (s.ok()) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      s = file_util::ErrnoStatus("read", path, errno);
    } else if (n == 0) {
      break;
    } else {
      *crc = crc32c::Extend(*crc, buf.data(), static_cast<size_t>(n));
      *size += static_cast<uint64_t>(n);
    }
  }
  ::close(fd);
  return s;
}

Json FileJson(const FileEntry& f) { return Json{{"name", f.name}, {"size", f.size}, {"crc32c", f.crc}}; }

// The manifest carries a "crc32c" of its own compact serialisation without
// that key, so a flipped digit is caught even when the JSON still parses.
std::string SealManifest(Json manifest) {
  const std::string body = manifest.dump();
  manifest["crc32c"] = crc32c::Value(body.data(), body.size());
  return manifest.dump(2) + "\n";
}

Result<Json> UnsealManifest(const std::string& path, const std::string& text) {
  Json m = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (m.is_discarded() || !m.is_object()) return Corrupt(path, "not a JSON object");
  auto it = m.find("crc32c");
  if (it == m.end() || !it->is_number_unsigned()) return Corrupt(path, "no crc32c");
  const uint32_t want = it->get<uint32_t>();
  m.erase(it);
  const std::string body = m.dump();
  if (crc32c::Value(body.data(), body.size()) != want) return Corrupt(path, "checksum mismatch");
  // The checksum covers the values; this covers every other byte.
  if (SealManifest(m) != text) return Corrupt(path, "not in canonical form");
  return m;
}

// Reads an unsigned field of the manifest.
bool GetU64(const Json& m, const char* key, uint64_t* out) {
  auto it = m.find(key);
  if (it == m.end() || !it->is_number_unsigned()) return false;
  *out = it->get<uint64_t>();
  return true;
}

bool GetFile(const Json& m, const char* key, FileEntry* f) {
  auto it = m.find("files");
  if (it == m.end() || !it->is_object()) return false;
  auto e = it->find(key);
  if (e == it->end() || !e->is_object()) return false;
  auto name = e->find("name");
  uint64_t crc = 0;
  if (name == e->end() || !name->is_string() || !GetU64(*e, "size", &f->size) || !GetU64(*e, "crc32c", &crc) ||
      crc > UINT32_MAX) {
    return false;
  }
  f->name = name->get<std::string>();
  f->crc = static_cast<uint32_t>(crc);
  // Names come from our own writer; refuse anything that could leave the dir.
  return !f->name.empty() && f->name.find('/') == std::string::npos && f->name[0] != '.';
}

// Removes every entry of `dir` except `keep` (old generations, temp files).
void RemoveOthers(const std::string& dir, const std::set<std::string>& keep) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ignored;  // best effort: the next Save retries
    if (keep.count(it->path().filename().string()) == 0) std::filesystem::remove_all(it->path(), ignored);
  }
}

}  // namespace

Status Collection::Save(const std::string& target) {
  std::shared_lock lock(mu_);
  if (!Dirty()) return Status::OK();
  const uint64_t gen = generation_ + 1;
  // A collection's first set is staged in "<target>.new" and renamed into
  // place when complete, so a collection directory without a manifest is
  // always damage, never an interrupted first checkpoint.
  const bool first = gen == 1;
  const std::string dir = first ? target + ".new" : target;
  std::error_code ec;
  if (first) std::filesystem::remove_all(dir, ec);
  KISSVDB_RETURN_IF_ERROR(file_util::CreateDirs(dir));

  // 1. The graph: hnswlib writes through an ofstream without reporting
  //    errors, so check the size it should have, then checksum and fsync.
  FileEntry index_file{"index-" + std::to_string(gen) + ".hnsw"};
  const std::string index_path = Join(dir, index_file.name);
  const std::string index_tmp = index_path + ".tmp";
  try {
    index_->saveIndex(index_tmp);
  } catch (const std::exception& e) {
    ::unlink(index_tmp.c_str());
    return Status::IOError("save " + index_tmp + ": " + e.what());
  }
  Status s = ChecksumFile(index_tmp, /*sync=*/true, &index_file.size, &index_file.crc);
  if (s.ok() && index_file.size != index_->indexFileSize()) {
    s = Status::IOError("save " + index_tmp + ": short write (disk full?)");
  }
  if (s.ok() && ::rename(index_tmp.c_str(), index_path.c_str()) != 0) {
    s = file_util::ErrnoStatus("rename", index_tmp, errno);
  }
  if (!s.ok()) {
    ::unlink(index_tmp.c_str());
    return s;
  }

  // 2. The rows: header, one record per slot, CRC32C trailer.
  std::string rows;
  const bool has_raw = spec_.metric == Metric::kCosine;
  rows.append(kRowsMagic, sizeof(kRowsMagic));
  PutU32(&rows, kFormatVersion);
  PutU32(&rows, spec_.dim);
  rows.push_back(static_cast<char>(spec_.metric));
  rows.push_back(static_cast<char>(has_raw));
  rows.append(2, '\0');
  PutU64(&rows, rows_.size());
  for (const Row& row : rows_) {
    rows.push_back(static_cast<char>(row.live));
    if (!row.live) continue;
    PutU32(&rows, static_cast<uint32_t>(row.id.size()));
    rows += row.id;
    std::string meta;
    try {
      if (!row.meta.is_null()) meta = row.meta.dump();
    } catch (const std::exception& e) {  // only non-UTF-8 strings built in code, never parsed JSON
      return Status::Internal("meta of \"" + row.id + "\" cannot be serialised: " + e.what());
    }
    PutU32(&rows, static_cast<uint32_t>(meta.size()));
    rows += meta;
    if (has_raw) rows.append(reinterpret_cast<const char*>(row.raw.data()), row.raw.size() * sizeof(float));
  }
  PutU32(&rows, crc32c::Value(rows.data(), rows.size()));
  FileEntry rows_file{"rows-" + std::to_string(gen) + ".bin", rows.size(), crc32c::Value(rows.data(), rows.size())};
  KISSVDB_RETURN_IF_ERROR(file_util::AtomicWriteFile(Join(dir, rows_file.name), rows));

  // 3. The manifest, last: it is what makes the new generation current.
  Json manifest = {
      {"format_version", kFormatVersion},
      {"collection", spec_.name},
      {"dim", spec_.dim},
      {"metric", MetricName(spec_.metric)},
      {"m", spec_.hnsw.m},
      {"ef_construction", spec_.hnsw.ef_construction},
      {"ef_search", spec_.hnsw.ef_search},
      {"count", labels_.size()},
      {"slots", rows_.size()},
      {"upsert_count", upsert_count_},
      {"applied_offset", applied_offset_},
      {"created_at_ms", created_at_ms_},
      {"updated_at_ms", updated_at_ms_},
      {"generation", gen},
      {"files", {{"index", FileJson(index_file)}, {"rows", FileJson(rows_file)}}},
  };
  const std::string manifest_text = SealManifest(std::move(manifest));
  KISSVDB_RETURN_IF_ERROR(file_util::AtomicWriteFile(Join(dir, kManifestName), manifest_text));

  if (first) {
    // Nothing can live in `target` yet: a stale directory of this name
    // (a dropped incarnation) is replaced.
    std::filesystem::remove_all(target, ec);
    std::filesystem::rename(dir, target, ec);
    if (ec) return file_util::ErrnoStatus("rename", dir, ec.value());
    KISSVDB_RETURN_IF_ERROR(file_util::SyncDir(std::filesystem::path(target).parent_path().string()));
  }

  generation_ = gen;
  persisted_offset_ = applied_offset_;
  file_bytes_ = index_file.size + rows_file.size + manifest_text.size();
  RemoveOthers(target, {kManifestName, index_file.name, rows_file.name});
  return file_util::SyncDir(target);
}

Result<std::unique_ptr<Collection>> Collection::Load(const std::string& dir) {
  // Manifest.
  const std::string manifest_path = Join(dir, kManifestName);
  auto text = ReadRequired(manifest_path);
  if (!text.ok()) return text.status();
  auto sealed = UnsealManifest(manifest_path, *text);
  if (!sealed.ok()) return sealed.status();
  const Json& m = *sealed;
  auto bad = [&](const char* field) { return Corrupt(manifest_path, std::string("bad field ") + field); };

  uint64_t version = 0, dim = 0, mm = 0, efc = 0, efs = 0, count = 0, slots = 0, upserts = 0, applied = 0,
           created = 0, updated = 0, gen = 0;
  if (!GetU64(m, "format_version", &version) || version != kFormatVersion) return bad("format_version");
  auto name_it = m.find("collection");
  auto metric_it = m.find("metric");
  if (name_it == m.end() || !name_it->is_string()) return bad("collection");
  if (metric_it == m.end() || !metric_it->is_string()) return bad("metric");
  auto metric = ParseMetric(metric_it->get<std::string>());
  if (!metric.ok()) return bad("metric");
  if (!GetU64(m, "dim", &dim) || dim == 0 || dim > (1u << 16)) return bad("dim");
  if (!GetU64(m, "m", &mm) || mm < 2 || mm > 10000) return bad("m");
  if (!GetU64(m, "ef_construction", &efc) || efc == 0 || efc > UINT32_MAX) return bad("ef_construction");
  if (!GetU64(m, "ef_search", &efs) || efs == 0 || efs > UINT32_MAX) return bad("ef_search");
  if (!GetU64(m, "count", &count)) return bad("count");
  if (!GetU64(m, "slots", &slots) || slots < count) return bad("slots");
  if (!GetU64(m, "upsert_count", &upserts)) return bad("upsert_count");
  if (!GetU64(m, "applied_offset", &applied)) return bad("applied_offset");
  if (!GetU64(m, "created_at_ms", &created)) return bad("created_at_ms");
  if (!GetU64(m, "updated_at_ms", &updated)) return bad("updated_at_ms");
  if (!GetU64(m, "generation", &gen) || gen == 0) return bad("generation");
  FileEntry index_file, rows_file;
  if (!GetFile(m, "index", &index_file)) return bad("files.index");
  if (!GetFile(m, "rows", &rows_file)) return bad("files.rows");

  CollectionSpec spec;
  spec.name = name_it->get<std::string>();
  spec.dim = static_cast<uint32_t>(dim);
  spec.metric = *metric;
  spec.hnsw = {static_cast<uint32_t>(mm), static_cast<uint32_t>(efc), static_cast<uint32_t>(efs)};
  std::unique_ptr<Collection> c(new Collection(std::move(spec)));
  const CollectionSpec& sp = c->spec_;

  // Rows.
  const std::string rows_path = Join(dir, rows_file.name);
  auto rows = ReadRequired(rows_path);
  if (!rows.ok()) return rows.status();
  if (rows->size() != rows_file.size) return Corrupt(rows_path, "size differs from the manifest");
  if (crc32c::Value(rows->data(), rows->size()) != rows_file.crc) return Corrupt(rows_path, "checksum mismatch");
  if (rows->size() < kRowsHeaderSize + 4) return Corrupt(rows_path, "too short");
  uint32_t trailer;
  std::memcpy(&trailer, rows->data() + rows->size() - 4, 4);
  if (crc32c::Value(rows->data(), rows->size() - 4) != trailer) return Corrupt(rows_path, "trailer checksum mismatch");
  Reader r(std::string_view(*rows).substr(0, rows->size() - 4));
  char magic[8];
  uint32_t rversion = 0, rdim = 0;
  uint8_t rmetric = 0, has_raw = 0, pad = 0;
  uint64_t rslots = 0;
  if (!r.Bytes(magic, 8) || std::memcmp(magic, kRowsMagic, 8) != 0 || !r.U32(&rversion) ||
      rversion != kFormatVersion || !r.U32(&rdim) || rdim != sp.dim || !r.U8(&rmetric) ||
      rmetric != static_cast<uint8_t>(sp.metric) || !r.U8(&has_raw) ||
      has_raw != (sp.metric == Metric::kCosine ? 1 : 0) || !r.U8(&pad) || !r.U8(&pad) || !r.U64(&rslots) ||
      rslots != slots) {
    return Corrupt(rows_path, "header does not match the manifest");
  }
  c->rows_.resize(slots);
  for (uint64_t label = 0; label < slots; ++label) {
    Row& row = c->rows_[label];
    uint8_t live = 0;
    if (!r.U8(&live) || live > 1) return Corrupt(rows_path, "bad slot " + std::to_string(label));
    if (!live) continue;
    uint32_t id_len = 0, meta_len = 0;
    std::string meta;
    if (!r.U32(&id_len) || id_len == 0 || !r.Str(id_len, &row.id) || !r.U32(&meta_len) || !r.Str(meta_len, &meta)) {
      return Corrupt(rows_path, "truncated slot " + std::to_string(label));
    }
    if (meta_len > 0) {
      row.meta = Json::parse(meta, nullptr, false);
      if (row.meta.is_discarded()) return Corrupt(rows_path, "bad meta in slot " + std::to_string(label));
    }
    if (has_raw) {
      row.raw.resize(sp.dim);
      if (!r.Bytes(row.raw.data(), sp.dim * sizeof(float))) return Corrupt(rows_path, "truncated vector");
    }
    row.live = true;
    if (!c->labels_.emplace(row.id, label).second) return Corrupt(rows_path, "duplicate id \"" + row.id + "\"");
  }
  if (r.left() != 0) return Corrupt(rows_path, "trailing bytes");
  if (c->labels_.size() != count) return Corrupt(rows_path, "live count differs from the manifest");

  // Graph.
  const std::string index_path = Join(dir, index_file.name);
  KISSVDB_RETURN_IF_ERROR(LoadGraph(index_path, c->space_.get(),
                                    GraphFileExpectation{index_file.size, index_file.crc, slots, sp.hnsw.m,
                                                         std::max<size_t>(slots, kInitialCapacity)},
                                    &c->index_));
  c->AdviseIndexMemory();
  hnswlib::HierarchicalNSW<float>& index = *c->index_;
  if (index.cur_element_count != slots || index.M_ != sp.hnsw.m ||
      index.label_offset_ - index.offsetData_ != sp.dim * sizeof(float)) {
    return Corrupt(index_path, "graph does not match the manifest");
  }
  for (size_t label = 0; label < slots; ++label) {
    const auto slot = static_cast<hnswlib::tableint>(label);
    if (index.getExternalLabel(slot) != label || index.isMarkedDeleted(slot) == c->rows_[label].live) {
      return Corrupt(index_path, "slot " + std::to_string(label) + " does not match " + rows_file.name);
    }
  }
  // Reuse the lowest free slot first.
  for (size_t label = slots; label-- > 0;) {
    if (!c->rows_[label].live) c->free_.push_back(label);
  }
  index.level_generator_.seed(kRandomSeed + slots);
  index.update_probability_generator_.seed(kRandomSeed + slots + 1);

  c->created_at_ms_ = created;
  c->updated_at_ms_ = updated;
  c->upsert_count_ = upserts;
  c->applied_offset_ = applied;
  c->persisted_offset_ = applied;
  c->generation_ = gen;
  c->file_bytes_ = index_file.size + rows_file.size + text->size();
  return c;
}

}  // namespace kissvdb::vector
