/*
 * facesearch.h — the public API of libfacesearch, a local face search engine.
 *
 * Everything the command-line tool and the server use is declared here; nothing else in src/ is
 * public. Conventions, the same for every function:
 *   - Functions return an fs_status: FS_OK (0) on success, a negative code on failure.
 *   - Functions that can fail take an `fs_error *err` last (may be NULL). On failure it receives the
 *     code and a one-line human message naming what failed ("PATH: what went wrong"). The library
 *     never prints.
 *   - Objects are created by fs_X_open/new and released by fs_X_close/free; a function that fills an
 *     `**out` leaves it NULL on failure. There is no global mutable state.
 */
#ifndef FACESEARCH_H
#define FACESEARCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FS_VERSION "0.1.0"

typedef enum fs_status {
    FS_OK = 0,
    FS_ERR_NOMEM = -1,       /* an allocation failed */
    FS_ERR_IO = -2,          /* a file could not be read or written */
    FS_ERR_FORMAT = -3,      /* malformed input: image, model, manifest */
    FS_ERR_UNSUPPORTED = -4, /* well-formed but not something we handle (an op, a format) */
    FS_ERR_ARG = -5,         /* a caller passed an invalid argument */
    FS_ERR_INTEGRITY = -6,   /* a checksum did not match: a corrupted or wrong file */
    FS_ERR_NOT_FOUND = -7,   /* a file, pack or record that should exist does not */
    FS_ERR_LIMIT = -8,       /* input exceeds a configured limit (pixels, tensor size) */
    FS_ERR_INTERNAL = -9     /* a bug: an invariant did not hold */
} fs_status;

/* Where a failing call leaves its code and message. Plain data: put it on the stack. */
typedef struct fs_error {
    fs_status code;
    char message[512];
} fs_error;

/* A short fixed description of a status code ("out of memory", "malformed input", ...). */
const char *fs_strerror(fs_status code);

/* The library's version string, FS_VERSION. */
const char *fs_version(void);

/* ---- Folders ----------------------------------------------------------------------------- */

/* The data folder: $FACESEARCH_DATA_DIR, else $XDG_DATA_HOME/facesearch, else
 * $HOME/.local/share/facesearch. Writes a NUL-terminated path into buf. */
fs_status fs_data_dir(char *buf, size_t size, fs_error *err);

/* ---- Model packs ------------------------------------------------------------------------- */

/* Which family a pack belongs to: how its detector output is decoded and how faces are aligned. */
typedef enum fs_pack_kind {
    FS_PACK_DEFAULT = 0,   /* Ultra-Light detector + 68-point landmarks + ArcFace-style recognizer */
    FS_PACK_INSIGHTFACE = 1 /* SCRFD detector (with 5 keypoints) + ArcFace recognizer */
} fs_pack_kind;

typedef struct fs_pack fs_pack;

/* Opens a model pack by name ("default", "buffalo_l", ...) or by folder path, and verifies every
 * file it lists (presence, sha256). On failure *out is NULL and err names the bad file and the
 * command that repairs it. Release with fs_pack_close. */
fs_status fs_pack_open(const char *name_or_path, fs_pack **out, fs_error *err);
void fs_pack_close(fs_pack *pack);

const char *fs_pack_name(const fs_pack *pack);
const char *fs_pack_dir(const fs_pack *pack);
fs_pack_kind fs_pack_kind_of(const fs_pack *pack);
/* The calibrated similarity threshold of the pack. */
float fs_pack_threshold(const fs_pack *pack);
/* Number of model files and the i-th file's name (as listed in the manifest) and full path. */
size_t fs_pack_file_count(const fs_pack *pack);
const char *fs_pack_file_name(const fs_pack *pack, size_t i);
const char *fs_pack_file_path(const fs_pack *pack, size_t i);
/* Path of the file playing a role: "detector", "landmarks" or "recognizer"; NULL if none. */
const char *fs_pack_role_path(const fs_pack *pack, const char *role);

/* Names of the packs found on this machine: the data folder's packs and the insightface packs in
 * ~/.insightface/models. Calls visit(name, dir, ctx) for each. */
fs_status fs_pack_list(void (*visit)(const char *name, const char *dir, void *ctx), void *ctx,
                       fs_error *err);

#ifdef __cplusplus
}
#endif
#endif
