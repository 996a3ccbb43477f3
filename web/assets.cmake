# Compiles the dashboard and docs page (web/*.html, *.js, *.css, *.svg) and
# the OpenAPI spec (docs/openapi.yaml, plus a JSON copy for the browser)
# into kissvdb_api: one binary, nothing to install beside it.
# Included by the top-level CMakeLists.txt after the api module exists.
set(KISSVDB_WEB_DIR ${CMAKE_SOURCE_DIR}/web)
set(KISSVDB_WEB_GEN ${CMAKE_BINARY_DIR}/generated)
file(GLOB kissvdb_web_files CONFIGURE_DEPENDS
     ${KISSVDB_WEB_DIR}/*.html ${KISSVDB_WEB_DIR}/*.js ${KISSVDB_WEB_DIR}/*.css ${KISSVDB_WEB_DIR}/*.svg)

# Debian's python3 with python3-yaml (scripts/setup.sh installs both).
add_custom_command(
  OUTPUT ${KISSVDB_WEB_GEN}/openapi.json
  COMMAND ${CMAKE_COMMAND} -E make_directory ${KISSVDB_WEB_GEN}
  COMMAND /usr/bin/python3 ${KISSVDB_WEB_DIR}/tools/openapi_to_json.py
          ${CMAKE_SOURCE_DIR}/docs/openapi.yaml ${KISSVDB_WEB_GEN}/openapi.json
  DEPENDS ${CMAKE_SOURCE_DIR}/docs/openapi.yaml ${KISSVDB_WEB_DIR}/tools/openapi_to_json.py
  COMMENT "Converting docs/openapi.yaml to JSON"
  VERBATIM)

set(kissvdb_embedded ${kissvdb_web_files} ${CMAKE_SOURCE_DIR}/docs/openapi.yaml ${KISSVDB_WEB_GEN}/openapi.json)
add_custom_command(
  OUTPUT ${KISSVDB_WEB_GEN}/web_assets.cc
  COMMAND ${CMAKE_COMMAND} -DOUT=${KISSVDB_WEB_GEN}/web_assets.cc "-DFILES=${kissvdb_embedded}"
          -P ${KISSVDB_WEB_DIR}/tools/embed_files.cmake
  DEPENDS ${kissvdb_embedded} ${KISSVDB_WEB_DIR}/tools/embed_files.cmake
  COMMENT "Embedding web/ and the OpenAPI spec"
  VERBATIM)

target_sources(kissvdb_api PRIVATE ${KISSVDB_WEB_GEN}/web_assets.cc)
