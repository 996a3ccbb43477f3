// /v1/auth/keys: API key management (original-api.md §2 "auth"), and the
// admin-only guard shared with /v1/admin/*.
//
// Unlike the original, roles are enforced: only an admin principal (the
// bootstrap key or an admin API key) manages keys (403 forbidden
// otherwise); read_only keys get 403 on every route marked as writing (the
// HTTP server checks RouteInfo::writes). Keys are stored as SHA-256
// digests; the plain key appears only in the POST response.
#pragma once

#include "api/api.h"

namespace kissvdb::api {

// False (after answering 403 forbidden) unless the caller is an admin.
bool RequireAdmin(const Request& req, const Responder& res);

// POST /v1/auth/keys {name, role?="read_write", permissions?={}}
//   -> 200 {id, key, name, role, permissions, created_at_ms}
void CreateApiKey(const ApiContext& ctx, Request& req, const Responder& res);
// GET /v1/auth/keys -> [{id, name, role, permissions, created_at_ms, revoked, revoked_at_ms?}]
void ListApiKeys(const ApiContext& ctx, Request& req, const Responder& res);
// DELETE /v1/auth/keys/{id} -> 204; 404 for an unknown id.
void RevokeApiKey(const ApiContext& ctx, Request& req, const Responder& res);

}  // namespace kissvdb::api
