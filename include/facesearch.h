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
    FS_ERR_INTERNAL = -9,    /* a bug: an invariant did not hold */
    FS_ERR_BUSY = -10,       /* another process is writing the index */
    FS_ERR_UNAVAILABLE = -11 /* a part of a sharded library did not answer in time (an MPI rank) */
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

/* The one canonical spelling of a path (SPEC.md §5): absolute, links, "." and ".." resolved (its
 * realpath). For a path that does not exist (a folder removed since it was indexed), the real
 * path of its longest existing prefix followed by the rest, "." and ".." resolved by spelling.
 * *out is malloc'd (caller frees); NULL on failure. The index, its searches and removals use
 * this spelling for every path they are given, and report photos by it. */
fs_status fs_path_canonical(const char *path, char **out, fs_error *err);

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
/* The i-th file's sha256 (lower-case hex) as verified when the pack was opened. */
const char *fs_pack_file_sha256(const fs_pack *pack, size_t i);
/* Path of the file playing a role: "detector", "landmarks", "recognizer" or "recognizer2" (a
 * second recognizer fused with the first); NULL if none. */
const char *fs_pack_role_path(const fs_pack *pack, const char *role);

/* Names of the packs found on this machine: the data folder's packs and the insightface packs in
 * ~/.insightface/models. Calls visit(name, dir, ctx) for each. */
fs_status fs_pack_list(void (*visit)(const char *name, const char *dir, void *ctx), void *ctx,
                       fs_error *err);

/* ---- Faces ------------------------------------------------------------------------------- */

/* Room for the longest embedding of any pack: the default pack's 512 floats, dlib's 128, or both
 * fused (640). A pack's own length is fs_engine_embedding_dim; the floats past it are 0. */
#define FS_EMBEDDING_MAX 640

/* One face in an image. Coordinates are pixels of the upright (EXIF-rotated) full-size image. */
typedef struct fs_face {
    float box[4];              /* x1, y1, x2, y2 */
    float landmarks[10];       /* left eye, right eye, nose tip, left and right mouth corner: x, y */
    float score;               /* detector confidence in [0, 1] */
    /* How far the embedding can be trusted, in [0, 1]: the minimum of factors for size, detector
     * score, landmark layout, pose (nose off the eyes' midline) and sharpness (variance of the
     * Laplacian of the aligned face). Faces below 0.5 are "unsure" for people grouping. Faces an
     * index holds from before it stored qualities get it without sharpness (see
     * src/face/quality.c) until they are indexed again. */
    float quality;
    float embedding[FS_EMBEDDING_MAX]; /* L2-normalised; valid when computed */
} fs_face;

/* Damage the decoder worked around (fs_faces.warnings): the image was read all the same. */
enum {
    FS_WARN_JPEG_NO_END = 1    /* a JPEG without its end marker: every pixel was there */
};

/* The faces found in one image, best detector score first. */
typedef struct fs_faces {
    int width, height;         /* upright image size in pixels */
    unsigned warnings;         /* FS_WARN_* bits */
    size_t count;
    fs_face *faces;            /* count entries, owned; release with fs_faces_free */
} fs_faces;

void fs_faces_free(fs_faces *faces);

/* Cosine similarity of two embedded faces (a dot product: embeddings are unit vectors). */
float fs_similarity(const fs_face *a, const fs_face *b);

/* Index of the largest face (by box area), or -1 if there are none. */
long fs_faces_largest(const fs_faces *faces);

/* Several query photos of one person (search -q A -q B) are matched in one of two ways, chosen
 * with search --match: every query face as given to fs_search_folders / fs_index_search (a
 * library face's similarity is its best over them: "max"), or a template ("mean"): the n faces
 * folded into one whose embedding is the mean of theirs, L2-normalised (box, landmarks and score
 * are those of faces[0]). FS_ERR_ARG when n is 0 or the embeddings cancel out. */
fs_status fs_face_template(const fs_face *faces, size_t n, fs_face *out, fs_error *err);

/* ---- Engine ------------------------------------------------------------------------------ */

/* The arithmetic of the recognizers' dense convolutions. AUTO: bf16 where the CPU computes it
 * natively and faster than fp32: with AMX (its tile unit), or with AVX512-BF16 whose dot product
 * does at least 1.5x the multiply-adds per second of fp32 FMA (a probe of under a millisecond
 * when the engine opens: AMD Zen 4/5 yes, Intel Xeons without AMX no); else fp32. BF16: bfloat16 inputs and weights, sums in f32 (embeddings
 * stay within cosine 0.9998 of fp32's); on CPUs without a bf16 kernel it quietly runs fp32.
 * FP32: float32 everywhere, as the reference. The detector and the landmark model always run
 * fp32: in bf16 their outputs move enough to turn the embeddings by more than cosine 0.995. */
typedef enum fs_precision {
    FS_PRECISION_AUTO = 0,
    FS_PRECISION_FP32 = 1,
    FS_PRECISION_BF16 = 2
} fs_precision;

/* "auto", "fp32" or "bf16" into *out; FS_ERR_ARG naming the choices for anything else. */
fs_status fs_precision_parse(const char *name, fs_precision *out, fs_error *err);

typedef struct fs_engine_options {
    int threads;               /* default threads of one inference, for workers made with
                                * threads 0 (fs_worker_new); 0 = all cores */
    fs_precision precision;    /* 0 = FS_PRECISION_AUTO */
    float det_threshold;       /* detector score threshold; 0 = the pack's default */
    int min_face;              /* drop faces whose width or height is below this (pixels); 0 = 20 */
    uint64_t max_pixels;       /* refuse larger images; 0 = 100 megapixels */
    int max_decode_ms;         /* stop decoding a photo that takes longer (FS_ERR_LIMIT, "NAME:
                                * takes too long to decode (over N ms)"); 0 = no limit */
} fs_engine_options;

typedef struct fs_engine fs_engine;
typedef struct fs_worker fs_worker;

/* Opens a verified model pack and loads its networks. The engine is read-only afterwards and may
 * be shared by many workers. opt may be NULL for defaults. */
fs_status fs_engine_open(const char *pack, const fs_engine_options *opt, fs_engine **out,
                         fs_error *err);
void fs_engine_close(fs_engine *engine);
const fs_pack *fs_engine_pack(const fs_engine *engine);
/* The precision the engine's recognizers compute in on this CPU: "fp32" or "bf16". */
const char *fs_engine_precision(const fs_engine *engine);
/* The length of the engine's embeddings (<= FS_EMBEDDING_MAX; the rest of fs_face.embedding is 0). */
int fs_engine_embedding_dim(const fs_engine *engine);

/* A worker runs the pipeline; it holds the per-thread state (planned networks, buffers). One
 * worker is used by one thread at a time; make one per thread. threads: how many threads each of
 * its inferences uses (0 = the engine's fs_engine_options.threads): all cores for one photo at a
 * time, 1 for workers that each take a photo in parallel. One engine serves both. */
fs_status fs_worker_new(fs_engine *engine, int threads, fs_worker **out, fs_error *err);
void fs_worker_free(fs_worker *worker);

/* Time a worker has spent in each stage since it was made, in seconds, and the photos and faces
 * it has processed (for benchmarks and --verbose). */
typedef struct fs_stage_times {
    double decode, detect, landmarks, align, embed;
    size_t photos, faces;
} fs_stage_times;
void fs_worker_times(const fs_worker *worker, fs_stage_times *out);

/* Decodes the image at path, detects faces (box, score, 5 landmarks) and, if embed is non-zero,
 * computes each face's embedding. Faces come best score first. On failure *out is empty. */
fs_status fs_detect_file(fs_worker *worker, const char *path, int embed, fs_faces *out,
                         fs_error *err);

/* The same for a photo already in memory: size bytes of a whole image file at data; name (a
 * path, or any label) is used in messages. */
fs_status fs_detect_buffer(fs_worker *worker, const void *data, size_t size, const char *name,
                           int embed, fs_faces *out, fs_error *err);

/* Writes a copy of the photo at path with each face's box and landmarks drawn (format from
 * out_path's extension: .jpg, .png, .webp) into a new file: an existing file at out_path is
 * never replaced (FS_ERR_IO, "OUT: already exists; facesearch never writes over a file"). */
fs_status fs_draw_faces(fs_engine *engine, const char *path, const fs_faces *faces,
                        const char *out_path, fs_error *err);

/* Writes the crop of one face (its box with a margin of a quarter of its size on every side,
 * clamped to the photo) from the photo at path into a new file, never over an existing one (as
 * fs_draw_faces). */
fs_status fs_save_face_crop(fs_engine *engine, const char *path, const fs_face *face,
                            const char *out_path, fs_error *err);

/* A JPEG of (part of) the photo at path, upright (EXIF orientation applied): the region
 * {x1, y1, x2, y2} in pixels of the upright full-size photo (NULL = the whole photo; clamped to
 * it), scaled so that its longer side is at most max_side pixels (0 = full size; never enlarged).
 * max_pixels refuses larger photos (0 = 100 megapixels). *jpeg is malloc'd (caller frees), *size
 * its bytes; photo_w and photo_h (may be NULL) receive the upright full size. On failure *jpeg is
 * NULL. */
fs_status fs_photo_jpeg(const char *path, const float *region, int max_side, uint64_t max_pixels,
                        unsigned char **jpeg, size_t *size, int *photo_w, int *photo_h,
                        fs_error *err);

/* The upright size (EXIF orientation applied) of the image at path, from its header only. */
fs_status fs_image_size(const char *path, int *width, int *height, fs_error *err);

/* ---- Searching folders on the fly (search --no-index) ------------------------------------ */

typedef struct fs_match {
    char *path;                /* the photo (owned) */
    int face_number;           /* 1-based number of the face in its photo, in detection order */
    fs_face face;
    float similarity;          /* best similarity to any of the query faces */
    int64_t photo_id, face_id; /* ids in the index (fs_index_photo, fs_index_face); 0 on the fly */
} fs_match;

typedef struct fs_matches {
    fs_match *items;           /* best first; ties by path, then face number */
    size_t count;
    size_t files, files_failed, faces;  /* photos read, photos that failed, faces seen */
} fs_matches;

typedef struct fs_scan_options {
    int workers;               /* photos processed in parallel; 0 = all cores */
    int include_hidden;        /* also walk hidden files and folders */
    float threshold;           /* keep faces with similarity >= threshold */
    size_t top;                /* keep the best top matches; 0 = all */
    const char *skip;          /* a folder left out of the walk (search -o DIR); NULL = none */
    int min_face;              /* faces narrower or lower than this (pixels) are not matched nor
                                * counted; 0 = every face the engine finds */
    /* Called (from any worker, one call at a time) with a one-line message for each photo or
     * folder that could not be read; the scan goes on. May be NULL. */
    void (*on_problem)(const char *message, void *ctx);
    void *ctx;
} fs_scan_options;

/* Walks the given folders (or files), runs the pipeline on every photo and keeps the faces
 * similar to any of the n_query query faces. Nothing is written anywhere. Fails only if a root
 * cannot be read or memory runs out; per-photo failures are counted and reported. */
fs_status fs_search_folders(fs_engine *engine, const fs_face *query, size_t n_query,
                            const char *const *roots, size_t n_roots, const fs_scan_options *opt,
                            fs_matches *out, fs_error *err);
void fs_matches_free(fs_matches *matches);

/* ---- The persistent index (index, search, remove, stats) --------------------------------- */

typedef struct fs_index fs_index;

/* The default index folder: $FACESEARCH_DB, else DATA/index (see fs_data_dir). */
fs_status fs_index_default_dir(char *buf, size_t size, fs_error *err);

/* How fs_index_open opens an index: flags, or-ed. */
enum {
    FS_INDEX_READ = 0,     /* search and stats: needs no write access, takes no lock */
    FS_INDEX_WRITE = 1,    /* index, remove: creates the folder and index if absent, and takes
                            * the writer lock (one writer at a time, SPEC.md §5) */
    FS_INDEX_WAIT = 2,     /* with WRITE: wait for a running writer instead of failing */
    FS_INDEX_EXISTING = 4  /* with WRITE: never create; an absent index is FS_ERR_NOT_FOUND */
};

/* Opens the index in folder dir (NULL = the default) with the FS_INDEX_* flags. engine gives the
 * model pack; an index built with another pack is refused. engine may be NULL for read-only use
 * that needs no pack (stats). A writer while another writer has the index open fails at once
 * with FS_ERR_BUSY, "DIR: another index run is active (pid N)" (unless FS_INDEX_WAIT). */
fs_status fs_index_open(const char *dir, fs_engine *engine, int flags, fs_index **out,
                        fs_error *err);
void fs_index_close(fs_index *index);

/* The name of the model pack the index in folder dir (NULL = the default) was built with, into
 * buf: what a tool opens when the user names no pack, so that an index keeps its pack without
 * --models on every command. FS_ERR_NOT_FOUND when there is no index there. */
fs_status fs_index_pack(const char *dir, char *buf, size_t size, fs_error *err);

/* What an index run did, and its progress while it runs. */
typedef struct fs_index_progress {
    size_t total;        /* photos found by the walk */
    size_t done;         /* photos settled so far (any outcome) */
    size_t added, changed, unchanged, moved, removed, failed;
    size_t faces;        /* faces found in the photos processed by this run */
    size_t shared;       /* of those, photos embedded by another process (sharing, below) */
    double seconds;      /* since the run started */
} fs_index_progress;

typedef struct fs_index_run fs_index_run;
typedef struct fs_index_sharing fs_index_sharing;

typedef struct fs_index_options {
    int workers;                 /* photos processed in parallel; 0 = all cores */
    int include_hidden;
    const char *skip;            /* a folder left out of the walk (search -o DIR); NULL = none */
    /* Set to non-zero (e.g. from a signal handler) to stop: the current batch is finished and
     * committed, everything done so far is kept. May be NULL. */
    volatile int *stop;
    void (*on_progress)(const fs_index_progress *p, void *ctx);   /* a few times a second */
    void (*on_problem)(const char *message, void *ctx);           /* a photo that failed, once */
    void *ctx;
    /* One shard of a sharded library (fs_shards_*): when photos is not NULL the roots are not
     * walked, the run takes these photos (as fs_walk_photos lists them) as its walk's, and the
     * roots only bound the removal of vanished photos. An entry of this index at a path of
     * foreign (photos of the same walk that belong to another shard: their content changed) is
     * removed. Both NULL for an ordinary run. */
    const struct fs_photo_list *photos;
    const struct fs_photo_list *foreign;
    /* Lets other processes embed some of this run's photos (below); NULL = none. */
    const fs_index_sharing *sharing;
} fs_index_options;

/* Adds or refreshes the photos under the given folders (or single files): new and changed
 * photos are processed, unchanged ones skipped (size and mtime, then content hash: a moved photo
 * is not re-embedded), entries of photos that no longer exist under the folders are removed.
 * A photo that cannot be read is recorded as failed with its reason and reported; it never stops
 * the run. summary (may be NULL) receives the totals. */
fs_status fs_index_update(fs_index *index, const char *const *roots, size_t n_roots,
                          const fs_index_options *opt, fs_index_progress *summary,
                          fs_error *err);

/* ---- Sharing an index run's photos (work stealing between the ranks of a sharded library) ----
 * Another process that shares the file system (an MPI rank, src/mpi) may take photos of a run
 * that no worker has started, read, hash and embed them (fs_photo_analyse) and hand the results
 * back; the run writes them as its own workers' results, with the same checks (content already
 * indexed, or embedded twice in this run, is copied instead). Only the run writes its index. */

/* A photo read once, hashed and run through the pipeline: what an index run writes for it. */
typedef struct fs_photo_result {
    fs_status status;          /* FS_OK: faces holds its faces (maybe none); else why not */
    char sha256[65];           /* its content's hash, hex; "" when it could not be read */
    fs_faces faces;            /* owned; fs_faces_free */
    char message[512];         /* the failure, as reported */
} fs_photo_result;

/* Reads the photo at path, hashes it and detects and embeds its faces into *out (cleared first).
 * The photo's failure is out->status and out->message, as an index run records it. */
void fs_photo_analyse(fs_worker *worker, const char *path, fs_photo_result *out);

struct fs_index_sharing {
    /* Called on the run's thread (the caller of fs_index_update) every few milliseconds while
     * the run's workers embed photos, and until every photo given away is put back: only here
     * may fs_index_run_give and fs_index_run_put be called. A failure (err filled) ends the run
     * with it, without waiting for the photos given away. */
    fs_status (*poll)(fs_index_run *run, void *ctx, fs_error *err);
    void *ctx;
};

/* In poll: up to max of the photos no worker has started, from the end of the run's queue and
 * at most half of them (the run keeps the rest): their numbers in the run (ids) and paths (valid
 * until the run ends). Returns how many; 0 once the run has none to give (it never has again). */
size_t fs_index_run_give(fs_index_run *run, size_t max, uint64_t *ids, const char **paths);

/* In poll: what became of a photo given away. With res, its result, written as a worker's (its
 * faces are taken: res->faces is left empty). Without (NULL), it was not analysed (the other
 * process stopped): the photo is left as it was, for the next run. FS_ERR_ARG for an id that
 * is not out. */
fs_status fs_index_run_put(fs_index_run *run, uint64_t id, fs_photo_result *res, fs_error *err);

/* A photo found by a walk: its canonical path (owned), size and modification time. */
typedef struct fs_photo_entry {
    char *path;
    int64_t size, mtime_ns;
} fs_photo_entry;

typedef struct fs_photo_list {
    fs_photo_entry *items;     /* sorted by path (byte order), each path once; owned */
    size_t count;
} fs_photo_list;

/* The photos under the roots (folders or single files) as an index run walks them: canonical
 * paths, a photo reached twice listed once, hidden entries only with include_hidden, the folder
 * skip (may be NULL) left out. A root that cannot be read is an error; problems below a root go
 * to on_problem (may be NULL). Release with fs_photo_list_free. */
fs_status fs_walk_photos(const char *const *roots, size_t n_roots, int include_hidden,
                         const char *skip, void (*on_problem)(const char *message, void *ctx),
                         void *ctx, fs_photo_list *out, fs_error *err);
void fs_photo_list_free(fs_photo_list *list);

/* unchanged[i] = 1 when the index holds photos->items[i] with the same size and mtime (an index
 * run would skip it), else 0. */
fs_status fs_index_unchanged(fs_index *index, const fs_photo_list *photos,
                             unsigned char *unchanged, fs_error *err);

/* Searches the index (never re-embeds): faces similar to any of the query faces, best first,
 * restricted to the given folders or files when n_folders > 0 (with the folders their symbolic
 * links lead to: the photos an index run of those folders reaches), and to faces at least min_face
 * pixels wide and high (0 = all: the index keeps every face the detector finds above the
 * pack's floor, so --min-size is applied here, as fs_search_folders applies it). Results as
 * fs_search_folders:
 * identical to them for libraries under 100,000 faces (an exact scan); above, the top faces of a
 * single query face come from the library's graph (recall@10 ~0.999 measured at a million faces,
 * see bench/search_scale.sh), and all matches (top 0, several query faces) from the exact scan.
 * With min_face and a top, a few times the top are taken from the graph and filtered; if fewer
 * than top are left, every hit is read (the exact scan). */
fs_status fs_index_search(fs_index *index, const fs_face *query, size_t n_query,
                          const char *const *folders, size_t n_folders, float threshold,
                          size_t top, int min_face, fs_matches *out, fs_error *err);

/* As fs_index_search, but restricted to the photos whose paths lie under the folders themselves:
 * the folders their links lead to are not searched, and the folders are not walked to find those
 * links (a walk of a large library at every search). For a caller that shows only photos under
 * its folders (the server under its roots). */
fs_status fs_index_search_within(fs_index *index, const fs_face *query, size_t n_query,
                                 const char *const *folders, size_t n_folders, float threshold,
                                 size_t top, int min_face, fs_matches *out, fs_error *err);

/* Drops a file or everything under a folder from the index; *removed gets the file count. */
fs_status fs_index_remove(fs_index *index, const char *path, size_t *removed, fs_error *err);

/* An indexed photo by id, as the index holds it. */
typedef struct fs_photo {
    int64_t id;
    char *path;                /* its canonical path (owned) */
    int64_t size, mtime_ns;    /* bytes and modification time (ns) when it was indexed */
    int failed;                /* 1: it could not be read when indexed (no faces) */
    fs_matches faces;          /* every face, by face number; similarity 0, ids filled */
} fs_photo;

/* The photo with this id and its faces. FS_ERR_NOT_FOUND ("photo N: not in the index") when
 * there is none. On failure *out is empty. Release with fs_photo_free. */
fs_status fs_index_photo(fs_index *index, int64_t photo_id, fs_photo *out, fs_error *err);
void fs_photo_free(fs_photo *photo);

/* The face with this id (with its embedding, its photo's path and ids) as the one item of *out,
 * similarity 1. FS_ERR_NOT_FOUND ("face N: not in the index") when there is none. Release with
 * fs_matches_free. */
fs_status fs_index_face(fs_index *index, int64_t face_id, fs_matches *out, fs_error *err);

typedef struct fs_index_stats {
    long long files, failed, faces, folders, bytes;
    char pack[128];
} fs_index_stats;
fs_status fs_index_stats_get(fs_index *index, fs_index_stats *out, fs_error *err);

/* ---- Sharded libraries ------------------------------------------------------------------
 * A sharded library is a folder DIR of ordinary indexes, DIR/shard-000 ... (each one opened and
 * searched alone by fs_index_open), and a manifest DIR/shards: model pack, pipeline version, shard
 * count and the assignment rule. A photo belongs to the shard its content fixes (fs_shard_of its
 * sha256), so moved, renamed and duplicated photos stay in one shard and are embedded once, as in
 * one index. The MPI runs that fill and search the shards are include/facesearch_mpi.h. */

typedef struct fs_shards_info {
    char pack[128];            /* model pack of every shard */
    char pipeline[16];         /* face pipeline version of the embeddings */
    int count;                 /* shards: shard-000 to shard-(count-1) */
} fs_shards_info;

/* Makes the sharded library DIR for count shards (1-999) of pack's faces: the folder and its
 * manifest (written to a temporary file, then linked into place: a manifest is never replaced).
 * When DIR already has one, checks it instead: another pack, pipeline or count is FS_ERR_ARG
 * naming both values. */
fs_status fs_shards_create(const char *dir, const char *pack, int count, fs_error *err);

/* Reads the manifest of DIR into *out. FS_ERR_NOT_FOUND when DIR has none ("DIR: not a sharded
 * library (no DIR/shards)"), FS_ERR_FORMAT when it is malformed, FS_ERR_ARG when its pipeline is
 * not this facesearch's. */
fs_status fs_shards_open(const char *dir, fs_shards_info *out, fs_error *err);

/* The folder of shard k of DIR ("DIR/shard-007") into buf. */
fs_status fs_shard_dir(const char *dir, int k, char *buf, size_t size, fs_error *err);

/* The shard (0 to count-1) of the content with this sha256: its first 8 bytes as a big-endian
 * number, modulo count. */
int fs_shard_of(const uint8_t sha256[32], int count);

/* A photo's or face's id across a library of count shards, from its id in shard k (they number
 * their rows each on its own): shard_id * count + k, so a one-shard library keeps its shard's
 * ids. 0 when shard_id, k or count is out of range. */
int64_t fs_library_id(int64_t shard_id, int k, int count);
/* The shard (*k) and the id in it (*shard_id) of a library id; -1 when id is no library id. */
int fs_library_id_split(int64_t id, int count, int *k, int64_t *shard_id);

/* The shard of the photo at path by its content (read and hashed). A photo that cannot be read
 * belongs to the shard of the sha256 of its path, so that its failure is recorded in one shard
 * until it can be read. */
int fs_photo_shard(const char *path, int count);

/* Merges the n result lists of one search over several shards into *out, best first (the order
 * of fs_index_search), keeping the best top (0 = all): the exact result of one index holding
 * every shard's photos when each list holds its shard's best top. The items move into *out (the
 * parts are left empty); counts are summed. */
fs_status fs_matches_merge(fs_matches *parts, size_t n, size_t top, fs_matches *out,
                           fs_error *err);

/* ---- People: faces grouped into persons ---------------------------------------------------
 * Every face of the index can belong to one person. `fs_people_update` groups the faces not yet
 * grouped (or, with rebuild, all of them); the user's decisions (name, merge, move, reject) always
 * win over the grouping and outlive re-indexing, moved photos and re-detected faces: they are
 * kept by the photo's content and the face's box. Rules: two faces of one photo are never one
 * person; a face rejected from a person never goes back to it; faces of low quality (tiny,
 * low detector score, not laid out like a face) are "unsure" and not grouped automatically.
 * Writing functions need an index opened with FS_INDEX_WRITE; each is one transaction (a kill
 * leaves the index as before or after it). Person ids are positive. */

typedef enum fs_people_algorithm {
    FS_PEOPLE_GRAPH = 0,    /* threshold graph + Chinese whispers (the default: see
                             * bench/people.sh) */
    FS_PEOPLE_LINKAGE = 1   /* average-linkage agglomeration */
} fs_people_algorithm;

/* How far a grouping run is (fs_people_options.on_progress). Stages, in order: "loading" (the
 * faces to group; done counts them), "neighbours" (each new face's nearest faces in the index,
 * incremental runs; done of total), "grouping" (the similarity graph and the clustering),
 * "writing" (each face's person; done of total). total is 0 where it is not known. */
typedef struct fs_people_progress {
    const char *stage;               /* static string */
    size_t done, total;
    double seconds;                  /* since the run started */
} fs_people_progress;

typedef struct fs_people_options {
    int rebuild;                     /* regroup every face (the user's decisions are kept) */
    fs_people_algorithm algorithm;
    float threshold;                 /* similarity that joins two faces; 0 = the pack's
                                      * grouping threshold (stricter than its search one) */
    float min_quality;               /* faces of lower fs_face.quality are unsure (left out);
                                      * 0 = the default, 0.5; negative: no face is unsure */
    /* Called from the calling thread at each stage and every few thousand steps; may be NULL. */
    void (*on_progress)(const fs_people_progress *p, void *ctx);
    void *ctx;
} fs_people_options;

typedef struct fs_people_summary {
    size_t faces;        /* faces considered by this run */
    size_t grouped;      /* of them, now in a person */
    size_t unsure;       /* of them, unsure (low quality) */
    size_t people;       /* people in the index after the run */
    size_t new_people;   /* people created by this run */
    double seconds;
    size_t edits_dropped; /* a sharded library's: the user's pins and rejects that no longer
                           * apply, their unit swallowed by a shard into one placed otherwise
                           * (fs_library_people_update) */
} fs_people_summary;

/* Groups the faces not yet grouped (all with rebuild). opt may be NULL (defaults). summary may
 * be NULL. */
fs_status fs_people_update(fs_index *index, const fs_people_options *opt,
                           fs_people_summary *summary, fs_error *err);

typedef struct fs_person {
    int64_t id;
    char *name;                /* owned; NULL when unnamed */
    size_t faces, photos;
    int64_t face_id;           /* the representative face (best quality), 0 if none */
    char *face_path;           /* its photo (owned; NULL if none) */
    float face_box[4];
} fs_person;

typedef struct fs_people {
    fs_person *items;          /* most faces first; owned */
    size_t count;
    size_t unsure;             /* faces judged unsure */
    size_t ungrouped;          /* faces of good quality in no person (seen once) */
    size_t unseen;             /* faces no update has seen yet */
} fs_people;

/* Every person of the index. Release with fs_people_free. */
fs_status fs_people_list(fs_index *index, fs_people *out, fs_error *err);
void fs_people_free(fs_people *people);

/* The person named `key` exactly, else the person whose id is the number `key`; FS_ERR_NOT_FOUND
 * if none. *out is filled (name and face_path owned: release with fs_person_clear). */
fs_status fs_people_find(fs_index *index, const char *key, fs_person *out, fs_error *err);
/* The person numbered id; FS_ERR_NOT_FOUND ("person N: no such person") if none. */
fs_status fs_people_get(fs_index *index, int64_t id, fs_person *out, fs_error *err);
void fs_person_clear(fs_person *person);

/* One face of a person. */
typedef struct fs_person_face {
    int64_t face_id;
    int64_t photo_id;          /* its photo's id (fs_index_photo) */
    char *path;                /* its photo (owned) */
    int face_number;           /* 1-based, in detection order, as search prints it */
    float box[4];
    float landmarks[10];       /* as fs_face.landmarks */
    float score;               /* detector score */
    float quality;             /* quality score in [0, 1] (fs_face.quality) */
    int pinned;                /* placed by the user */
    int64_t person_id;         /* the person of its index it is in (a library's face: of its
                                * shard; 0 when in none) */
} fs_person_face;

typedef struct fs_person_faces {
    fs_person_face *items;     /* best quality first; owned */
    size_t count;
} fs_person_faces;

/* The faces of person id. Release with fs_person_faces_free. */
fs_status fs_person_faces_get(fs_index *index, int64_t id, fs_person_faces *out, fs_error *err);
void fs_person_faces_free(fs_person_faces *faces);

/* The faces judged unsure (tiny, low detector score, not laid out like a face), which no update
 * groups: best quality first. Release with fs_person_faces_free. */
fs_status fs_people_unsure(fs_index *index, fs_person_faces *out, fs_error *err);

/* Names person id (a name is unique; FS_ERR_ARG when another person has it). NULL or ""
 * removes the name. */
fs_status fs_people_name(fs_index *index, int64_t id, const char *name, fs_error *err);
/* Merges person from into person into: its faces, name (if into has none) and decisions. The
 * faces are pinned to into. FS_ERR_ARG if both have faces in one photo (the merged person would
 * hold two faces of it). */
fs_status fs_people_merge(fs_index *index, int64_t into, int64_t from, fs_error *err);
/* Puts face face_id into person to (0: a new person, whose id goes to *person, may be NULL) and
 * pins it there; it is also rejected from the person it leaves. FS_ERR_ARG if `to` already has a
 * face of that photo. */
fs_status fs_people_move(fs_index *index, int64_t face_id, int64_t to, int64_t *person,
                         fs_error *err);
/* Takes face face_id out of person from, for good: it will never be put back there. */
fs_status fs_people_reject(fs_index *index, int64_t face_id, int64_t from, fs_error *err);
/* Deletes person id, its name and decisions; its faces are grouped again by the next update. */
fs_status fs_people_forget(fs_index *index, int64_t id, fs_error *err);
/* Brings the names and decisions of the index in folder other_dir (e.g. the index of the model
 * pack used before: an index holds one pack's faces) into this one; a person whose name exists
 * here is merged into it. The next fs_people_update places the faces by content and box overlap
 * (the new pack's boxes differ a little). *people and *decisions (may be NULL) get the counts. */
fs_status fs_people_import(fs_index *index, const char *other_dir, size_t *people,
                           size_t *decisions, fs_error *err);

/* The faces with these ids (ids absent from the index are skipped), as fs_person_faces holds
 * them: best quality first. Release with fs_person_faces_free. */
fs_status fs_person_faces_by_ids(fs_index *index, const int64_t *ids, size_t n,
                                 fs_person_faces *out, fs_error *err);
/* Puts faces best quality first, then by face id (fs_person_faces_get's order): for the faces of
 * one person gathered from several shards. */
void fs_person_faces_sort(fs_person_faces *faces);

/* ---- People of a sharded library ------------------------------------------------------------
 * Each shard groups its own faces (fs_people_update), so a person with photos in several shards
 * is a person of each, and one with a single photo in each is in none. The library's people join
 * them: every shard's units (its persons, and its faces of good quality in no person) are
 * grouped across the shards by the similarity of their mean embeddings, at the grouping
 * threshold, with fs_people_update's grouping (FS_PEOPLE_GRAPH); units of one shard never join
 * (the shard kept them apart). A group of two faces or more is a person of the library. They are
 * kept in DIR/people.db with their names; an update gives a group the id (and name) of the
 * earlier person that held more than half of its faces, when no larger group took it, else of a
 * named person left without faces whose name one of its units has. The user's edits of the
 * library's people (name, merge, move, reject: fs_library_people_*) are written to
 * DIR/people.db alone (the shards' persons are not changed) and kept by later updates as a
 * single index keeps its own. The MPI run that gathers the units is fs_mpi_people_update
 * (facesearch_mpi.h). */

/* A unit of a library person: a person of a shard, or a face of a shard in no person. */
typedef struct fs_library_member {
    int shard;
    int64_t person_id;       /* the shard's person, or 0 */
    int64_t face_id;         /* when person_id is 0: the face (the shard's id) */
} fs_library_member;

/* A unit the library's file names (a member, pin or reject: fs_library_people_known) and its
 * representative face then (the shard's face id; a face in no person is its own). */
typedef struct fs_library_known {
    fs_library_member unit;
    int64_t lead;
    int32_t kept;            /* 1: a member or pin puts it in a person (a reject alone: 0) */
} fs_library_known;

/* A unit the library's file names whose faces another unit holds now: a face in no person that
 * has joined one of its shard's persons, a person merged into another on its shard or given
 * another id by the shard's regrouping (fs_people_units_follow). */
typedef struct fs_unit_rename {
    fs_library_member from, to;
} fs_unit_rename;

typedef struct fs_people_unit {
    int shard;               /* its shard (0 to count-1), set by whoever gathers the units */
    int64_t person_id;       /* a person of the shard, or 0: one face in no person */
    int64_t face_id;         /* that face; for a person, its representative (best quality) one */
    size_t faces, photos;
    char *name;              /* the shard person's name (owned; NULL when unnamed) */
    char *path;              /* face_id's photo (owned) */
    float box[4];            /* face_id's box */
} fs_people_unit;

typedef struct fs_people_units {
    fs_people_unit *items;   /* owned */
    size_t count;
    int dim;
    /* each unit's mean embedding, normalised, as int8 codes (count x dim; value = code x scale)
     * with a scale per unit: a quarter of the memory of floats, as fs_people_update keeps the
     * faces it groups (both owned) */
    int8_t *codes;
    float *scales;
    size_t unsure, unseen;   /* the index's faces judged unsure, and not seen by an update yet
                              * (fs_people), when the units were read; summed over shards */
    fs_unit_rename *renames; /* the library's units these units hold now (owned; any order) */
    size_t n_renames;
} fs_people_units;

/* The units of an index (one shard), as its last fs_people_update left them: persons most faces
 * first, then faces in no person by id (shard 0). Release with fs_people_units_free. */
fs_status fs_people_units_get(fs_index *index, fs_people_units *out, fs_error *err);
void fs_people_units_free(fs_people_units *units);

/* The units of the library dir's file (its members, pins and rejects), sorted by unit, into
 * *known (malloc'd, *n of them; free): what fs_people_units_follow needs to keep the user's
 * edits when a shard changes its units. None, FS_OK, before the first update. */
fs_status fs_library_people_known(const char *dir, fs_library_known **known, size_t *n,
                                  fs_error *err);
/* Adds to units (fs_people_units_get's, of the library's shard `shard`) a rename for each known
 * unit of that shard (known sorted by shard, as fs_library_people_known gives it; the other
 * shards' are skipped) that is none of them but whose face (lead) one of
 * them holds now. The library's update then moves the file's rows to those units, so that a
 * face the user moved stays where it was put after its shard grouped it with another. A kept
 * known unit that is an unsure face of the shard (placed by fs_library_people_place) is added
 * to units as a unit of its own (and no longer counted unsure). */
fs_status fs_people_units_follow(fs_index *index, int shard, const fs_library_known *known,
                                 size_t n, fs_people_units *units, fs_error *err);

/* Groups the units of every shard of the sharded library dir (each item's shard set; any order)
 * into the library's persons and writes them to DIR/people.db, in one transaction, after moving
 * the file's rows of renamed units (units->renames) to the units that hold their faces now (a
 * transaction of its own; a unit that two rows name keeps the row its own key had, else the
 * first by the renamed key; a pin or reject moves only to a unit the file does not know yet,
 * else it is dropped: summary->edits_dropped). threshold:
 * 0 = the grouping threshold of a pack whose search threshold is search_threshold.
 * summary (may be NULL): people and new_people (the library's), faces (of the units), seconds. */
fs_status fs_library_people_update(const char *dir, const fs_people_units *units,
                                   float threshold, float search_threshold,
                                   fs_people_summary *summary, fs_error *err);

/* The persons of the library dir, most faces first (face_id a library id, fs_library_id; the
 * counts of unsure, ungrouped and unseen faces as the last update found them, the ungrouped ones
 * being the faces in no library person, less those put in one since). FS_ERR_NOT_FOUND when no
 * update has grouped them yet. Release with fs_people_free. */
fs_status fs_library_people_list(const char *dir, fs_people *out, fs_error *err);

/* The library person named key exactly, else numbered key, into *out (as fs_people_find), and
 * its members into *members (malloc'd, *n of them; free). FS_ERR_NOT_FOUND if none. */
fs_status fs_library_person_find(const char *dir, const char *key, fs_person *out,
                                 fs_library_member **members, size_t *n, fs_error *err);
/* The same for the library person numbered id. */
fs_status fs_library_person_get(const char *dir, int64_t id, fs_person *out,
                                fs_library_member **members, size_t *n, fs_error *err);
/* Drops from faces (library ids: the shards' unsure faces, fs_mpi_people_unsure) those the user
 * has placed in a library person (fs_library_people_place), keeping the others' order. */
fs_status fs_library_people_unplaced(const char *dir, fs_person_faces *faces, fs_error *err);

/* Names library person id (a name is unique; FS_ERR_ARG when another person has it). NULL or
 * "" removes the name. Names outlive updates (see above). */
fs_status fs_library_people_name(const char *dir, int64_t id, const char *name, fs_error *err);

/* The edits below but forget move units, not faces: a face of a shard's person moves with that
 * person's other faces (edit a shard's own people with its index: --db DIR/shard-NNN). Each is
 * kept for later updates: the units it leaves in a person are pinned there, a unit taken out of
 * a person never joins it again. FS_ERR_FORMAT for a people file of an older facesearch, until
 * an update rewrites it. */

/* Merges library person from into into: its units and, if into has none, its name. */
fs_status fs_library_people_merge(const char *dir, int64_t into, int64_t from, fs_error *err);
/* Moves unit (of library person from) to person to (0: a new person, whose id goes to *person,
 * may be NULL); FS_ERR_NOT_FOUND when it is not one of from's. */
fs_status fs_library_people_move(const char *dir, const fs_library_member *unit, int64_t from,
                                 int64_t to, int64_t *person, fs_error *err);
/* Places face, one of a shard's unsure faces (fs_people_unsure's, its ids made library ids),
 * in library person to (0: a new person, whose id goes to *person, may be NULL): a unit of its
 * own, pinned there. Its shard's units keep it from then on (fs_people_units_follow), so the
 * next update leaves it where it was put. to_faces: to's faces (fs_mpi_person_faces), none of
 * which may be of face's photo (FS_ERR_ARG: two faces of one photo are never one person).
 * FS_ERR_ARG when it is in a person already. */
fs_status fs_library_people_place(const char *dir, const fs_person_face *face, int64_t to,
                                  const fs_person_faces *to_faces, int64_t *person,
                                  fs_error *err);
/* Takes unit out of library person from, for good. */
fs_status fs_library_people_reject(const char *dir, const fs_library_member *unit,
                                   int64_t from, fs_error *err);
/* Deletes library person id, its name and decisions; its units are grouped again by the next
 * update. */
fs_status fs_library_people_forget(const char *dir, int64_t id, fs_error *err);
/* The unit that holds library face face_id, among faces: a library person's faces as
 * fs_mpi_person_faces gives them, in a library of count shards. FS_ERR_NOT_FOUND if none. */
fs_status fs_library_face_unit(const fs_person_faces *faces, int count, int64_t face_id,
                               fs_library_member *unit, fs_error *err);

#ifdef __cplusplus
}
#endif
#endif
