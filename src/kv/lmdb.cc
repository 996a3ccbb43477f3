#include "kv/lmdb.h"

#include <cstring>
#include <string>

namespace kissvdb::kv {

Status LmdbStatus(std::string_view what, int rc) {
  std::string msg = std::string(what) + ": " + mdb_strerror(rc);
  if (rc == ENOSPC || rc == MDB_MAP_FULL) return Status(Code::kInsufficientStorage, msg);
  if (rc == MDB_CORRUPTED || rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_PAGE_NOTFOUND) {
    return Status::Corruption(msg);
  }
  return Status::IOError(msg);
}

Result<std::unique_ptr<LmdbEnv>> LmdbEnv::Open(const Options& options) {
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != 0) return LmdbStatus("mdb_env_create", rc);
  std::unique_ptr<LmdbEnv> holder(new LmdbEnv(env));
  if ((rc = mdb_env_set_maxdbs(env, options.max_dbs)) != 0) return LmdbStatus("mdb_env_set_maxdbs", rc);
  if ((rc = mdb_env_set_maxreaders(env, options.max_readers)) != 0) return LmdbStatus("mdb_env_set_maxreaders", rc);
  if ((rc = mdb_env_set_mapsize(env, options.map_size)) != 0) return LmdbStatus("mdb_env_set_mapsize", rc);
  rc = mdb_env_open(env, options.path.c_str(), MDB_NOSUBDIR | MDB_NOTLS | MDB_NOSYNC | MDB_NOMETASYNC, 0644);
  if (rc != 0) return LmdbStatus("open " + options.path, rc);
  return holder;
}

LmdbEnv::~LmdbEnv() {
  if (env_ != nullptr) mdb_env_close(env_);
}

Status LmdbEnv::Sync() {
  int rc = mdb_env_sync(env_, 1);
  return rc == 0 ? Status::OK() : LmdbStatus("mdb_env_sync", rc);
}

Result<Txn> Txn::Begin(const LmdbEnv& env, bool read_only, Txn* parent) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env.get(), parent ? parent->get() : nullptr, read_only ? MDB_RDONLY : 0, &txn);
  if (rc != 0) return LmdbStatus("mdb_txn_begin", rc);
  return Txn(txn);
}

Txn& Txn::operator=(Txn&& other) noexcept {
  if (this != &other) {
    Abort();
    txn_ = other.txn_;
    other.txn_ = nullptr;
  }
  return *this;
}

Status Txn::Commit() {
  MDB_txn* txn = txn_;
  txn_ = nullptr;
  int rc = mdb_txn_commit(txn);
  return rc == 0 ? Status::OK() : LmdbStatus("mdb_txn_commit", rc);
}

void Txn::Abort() {
  if (txn_ != nullptr) {
    mdb_txn_abort(txn_);
    txn_ = nullptr;
  }
}

Result<MDB_dbi> Txn::OpenDb(const char* name, unsigned flags) {
  MDB_dbi dbi = 0;
  int rc = mdb_dbi_open(txn_, name, flags, &dbi);
  if (rc != 0) return LmdbStatus(std::string("mdb_dbi_open ") + name, rc);
  return dbi;
}

Result<std::optional<std::string_view>> Txn::Get(MDB_dbi dbi, std::string_view key) const {
  MDB_val k = ToVal(key);
  MDB_val v{0, nullptr};
  int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>();
  if (rc != 0) return LmdbStatus("mdb_get", rc);
  return std::optional<std::string_view>(FromVal(v));
}

Status Txn::Put(MDB_dbi dbi, std::string_view key, std::string_view value) {
  MDB_val k = ToVal(key);
  MDB_val v = ToVal(value);
  int rc = mdb_put(txn_, dbi, &k, &v, 0);
  return rc == 0 ? Status::OK() : LmdbStatus("mdb_put", rc);
}

Result<bool> Txn::Del(MDB_dbi dbi, std::string_view key) {
  MDB_val k = ToVal(key);
  int rc = mdb_del(txn_, dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != 0) return LmdbStatus("mdb_del", rc);
  return true;
}

Result<Cursor> Cursor::Open(const Txn& txn, MDB_dbi dbi) {
  MDB_cursor* c = nullptr;
  int rc = mdb_cursor_open(txn.get(), dbi, &c);
  if (rc != 0) return LmdbStatus("mdb_cursor_open", rc);
  return Cursor(c);
}

Cursor::~Cursor() {
  if (cursor_ != nullptr) mdb_cursor_close(cursor_);
}

bool Cursor::Step(MDB_cursor_op op, std::string_view key) {
  if (op == MDB_SET_RANGE) key_ = ToVal(key);
  return mdb_cursor_get(cursor_, &key_, &value_, op) == 0;
}

Status Cursor::Put(std::string_view key, std::string_view value) {
  MDB_val k = ToVal(key);
  MDB_val v = ToVal(value);
  int rc = mdb_cursor_put(cursor_, &k, &v, 0);
  return rc == 0 ? Status::OK() : LmdbStatus("mdb_cursor_put", rc);
}

Result<bool> Cursor::Insert(std::string_view key, std::string_view value) {
  MDB_val k = ToVal(key);
  MDB_val v = ToVal(value);
  int rc = mdb_cursor_put(cursor_, &k, &v, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST) {  // v is the stored value
    key_ = k;
    value_ = v;
    return false;
  }
  if (rc != 0) return LmdbStatus("mdb_cursor_put", rc);
  return true;
}

Status Cursor::Append(std::string_view key, std::string_view value) {
  MDB_val k = ToVal(key);
  MDB_val v = ToVal(value);
  int rc = mdb_cursor_put(cursor_, &k, &v, MDB_APPEND);
  if (rc == MDB_KEYEXIST) return Put(key, value);
  return rc == 0 ? Status::OK() : LmdbStatus("mdb_cursor_put(APPEND)", rc);
}

Status Cursor::Delete() {
  int rc = mdb_cursor_del(cursor_, 0);
  return rc == 0 ? Status::OK() : LmdbStatus("mdb_cursor_del", rc);
}

bool Cursor::Seek(std::string_view key) { return Step(MDB_SET_RANGE, key); }
bool Cursor::Find(std::string_view key) {
  key_ = ToVal(key);
  return mdb_cursor_get(cursor_, &key_, &value_, MDB_SET_KEY) == 0;
}
bool Cursor::First() { return Step(MDB_FIRST); }
bool Cursor::Next() { return Step(MDB_NEXT); }
bool Cursor::Last() { return Step(MDB_LAST); }
bool Cursor::Prev() { return Step(MDB_PREV); }

std::string U64BEThen(uint64_t v, std::string_view rest) {
  std::string k;
  k.reserve(8 + rest.size());
  PutU64BE(&k, v);
  k.append(rest);
  return k;
}

void PutU64LE(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out->append(b, 8);
}

uint64_t GetU64LE(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void PutU64BE(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * (7 - i))) & 0xff);
  out->append(b, 8);
}

uint64_t GetU64BE(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace kissvdb::kv
