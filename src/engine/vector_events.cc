#include "engine/vector_events.h"

namespace kissvdb::vector_events {

Json CreatedData(const vector::CollectionSpec& spec) {
  return Json{{"collection", spec.name},
              {"dim", spec.dim},
              {"metric", std::string(vector::MetricName(spec.metric))},
              {"m", spec.hnsw.m},
              {"ef_construction", spec.hnsw.ef_construction},
              {"ef_search", spec.hnsw.ef_search}};
}

Json RecordData(const std::string& collection, const std::string& id, const Json& meta) {
  return Json{{"collection", collection}, {"id", id}, {"meta", meta}};
}

bool IsVectorEvent(const std::string& type) { return type.rfind("vector_", 0) == 0; }

Status Apply(vector::VectorStore& store, const Event& ev) {
  // A collection's text index lives in TextDefs and the text index.
  if (ev.type == event_type::kVectorTextIndexSet || ev.type == event_type::kVectorTextIndexDropped) {
    return Status::OK();
  }
  const Json& d = ev.data;
  try {
    const std::string& collection = d.at("collection").get_ref<const std::string&>();
    if (ev.type == event_type::kVectorCollectionCreated) {
      vector::CollectionSpec spec;
      spec.name = collection;
      spec.dim = d.at("dim").get<uint32_t>();
      auto metric = vector::ParseMetric(d.at("metric").get<std::string>());
      if (!metric.ok()) return Status::Corruption(metric.status().message());
      spec.metric = *metric;
      spec.hnsw.m = d.value("m", spec.hnsw.m);
      spec.hnsw.ef_construction = d.value("ef_construction", spec.hnsw.ef_construction);
      spec.hnsw.ef_search = d.value("ef_search", spec.hnsw.ef_search);
      return store.ApplyCreate(ev.offset, ev.ts_ms, spec);
    }
    if (ev.type == event_type::kVectorCollectionDropped) return store.ApplyDrop(ev.offset, collection);
    const std::string& id = d.at("id").get_ref<const std::string&>();
    if (ev.type == event_type::kVectorDeleted) return store.ApplyDelete(ev.offset, ev.ts_ms, collection, id);
    if (ev.type == event_type::kVectorAdded || ev.type == event_type::kVectorUpserted ||
        ev.type == event_type::kVectorUpdated) {
      if (!ev.floats.empty()) {
        return store.ApplyUpsert(ev.offset, ev.ts_ms, collection, id, ev.floats,
                                 d.contains("meta") ? d["meta"] : Json());
      }
      // A record as events built before the floats existed carry it.
      const auto& arr = d.at("vector").get_ref<const Json::array_t&>();
      std::vector<float> vec;
      vec.reserve(arr.size());
      for (const Json& x : arr) vec.push_back(x.get<float>());
      return store.ApplyUpsert(ev.offset, ev.ts_ms, collection, id, vec, d.contains("meta") ? d["meta"] : Json());
    }
  } catch (const Json::exception& e) {
    return Status::Corruption("event " + std::to_string(ev.offset) + " (" + ev.type + ") has a malformed payload: " +
                              e.what());
  }
  return Status::OK();
}

}  // namespace kissvdb::vector_events
