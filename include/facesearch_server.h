/*
 * facesearch_server.h — the public entry of the server library (src/server, `facesearch serve`):
 * the HTTP server (the page and the JSON API under /api/v1/) over the index, as the command-line
 * tool starts it. The server itself uses only the public API (facesearch.h), like the tool; the
 * build gives both include/ and nothing of src/ (the server its own folder besides).
 */
#ifndef FACESEARCH_SERVER_H
#define FACESEARCH_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "facesearch.h"

#define FS_SERVER_ROOTS_MAX 64

/* The searches of a sharded library (serve --shards, facesearch_mpi.h), as the server calls them
 * from its request threads, several at once: the matches of query (one face) among the photos
 * under the folders, as fs_index_search_within gives them for one index holding every shard's
 * photos (the ids of a match are its shard's). FS_ERR_UNAVAILABLE when a part of the library
 * did not answer in time (the request gets 503). */
typedef fs_status (*fs_server_search_fn)(void *ctx, const fs_face *query,
                                         const char *const *folders, size_t n_folders,
                                         float threshold, size_t top, int min_face,
                                         fs_matches *out, fs_error *err);

/* FS_ERR_UNAVAILABLE when a search would fail at once (a part of the library is down), asked
 * before the work that comes before a search (an uploaded photo detected and embedded). */
typedef fs_status (*fs_server_ready_fn)(void *ctx, fs_error *err);

/* A sharded library's photo or face by library id (fs_library_id: the ids its searches give),
 * as fs_index_photo and fs_index_face give them for one index. */
typedef fs_status (*fs_server_photo_fn)(void *ctx, int64_t id, fs_photo *out, fs_error *err);
typedef fs_status (*fs_server_face_fn)(void *ctx, int64_t id, fs_matches *out, fs_error *err);

/* A sharded library's person by its id (fs_library_person_get) and its faces, as
 * fs_mpi_front_person gives them. */
typedef fs_status (*fs_server_person_fn)(void *ctx, int64_t id, fs_person *person,
                                         fs_person_faces *faces, fs_error *err);
/* A sharded library's unsure faces, as fs_mpi_front_unsure gives them. */
typedef fs_status (*fs_server_unsure_fn)(void *ctx, fs_person_faces *faces, fs_error *err);
/* A sharded library's people grouped again, as fs_mpi_front_people_update does it (called from
 * the server's background thread for POST /api/v1/people/update). */
typedef fs_status (*fs_server_group_fn)(void *ctx, const fs_people_options *opt,
                                        fs_people_summary *summary, fs_error *err);

typedef struct fs_server_config {
    const char *host;            /* address to listen on; "127.0.0.1" by default */
    int port;                    /* 8080 by default; 0 = any free port (printed at start) */
    const char *token;           /* required of every request when set; NULL = none */
    const char *db;              /* index folder; NULL = the default */
    const char *models;          /* model pack */
    const char *roots[FS_SERVER_ROOTS_MAX]; /* the folders whose photos it may index and show */
    size_t n_roots;
    int workers;                 /* heavy requests (search, pictures) at once; 0 = cores */
    int threads;                 /* threads of one inference; 0 = all cores */
    fs_precision precision;      /* of the networks; 0 = auto (fs_engine_options) */
    size_t max_upload;           /* bytes of a request body (default 20 MiB) */
    uint64_t max_pixels;         /* pixels of an uploaded photo (default 40 megapixels) */
    int max_decode_ms;           /* decoding one photo, uploaded or indexed; 0 = no limit */
    /* A sharded library instead of the index at db: set, the server opens no index; db names
     * the library's folder. Searches go to search(search_ctx, ...), photos, faces and persons by
     * id to photo, face and person (library ids), the unsure faces to unsure, a grouping of
     * people to group; ready (may be NULL) is asked before an uploaded photo is searched for;
     * the people and their edits are the library's (fs_library_people_*). What needs one
     * index's writer or stats (index runs, stats) answers 501. */
    fs_server_search_fn search;
    fs_server_ready_fn ready;
    fs_server_photo_fn photo;
    fs_server_face_fn face;
    fs_server_person_fn person;
    fs_server_unsure_fn unsure;
    fs_server_group_fn group;
    void *search_ctx;
} fs_server_config;

/* Runs the server until SIGINT or SIGTERM: opens the engine and the index (creating an empty one
 * if there is none), listens, serves. Returns 0 after a clean stop, 2 after printing why it could
 * not start ("facesearch: ..."). */
int fs_server_run(const fs_server_config *cfg);

#endif
