// Handlers of /v1/vector (vector.cc); the table is in routes.cc.
#pragma once

#include "api/api.h"

namespace kissvdb::api {

void ListVectorCollections(const ApiContext& ctx, Request& req, const Responder& res);
void CreateVectorCollection(const ApiContext& ctx, Request& req, const Responder& res);
void GetVectorCollection(const ApiContext& ctx, Request& req, const Responder& res);
void DropVectorCollection(const ApiContext& ctx, Request& req, const Responder& res);
void AddVector(const ApiContext& ctx, Request& req, const Responder& res);
void UpsertVector(const ApiContext& ctx, Request& req, const Responder& res);
void UpdateVector(const ApiContext& ctx, Request& req, const Responder& res);
void DeleteVector(const ApiContext& ctx, Request& req, const Responder& res);
void UpsertVectorBatch(const ApiContext& ctx, Request& req, const Responder& res);
void DeleteVectorBatch(const ApiContext& ctx, Request& req, const Responder& res);
void GetVector(const ApiContext& ctx, Request& req, const Responder& res);
void SearchVectors(const ApiContext& ctx, Request& req, const Responder& res);
void SearchVectorsBatch(const ApiContext& ctx, Request& req, const Responder& res);

}  // namespace kissvdb::api
