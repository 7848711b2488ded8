/*
 * manifest.h — the model-pack manifest: a small line-oriented text file naming the pack's files,
 * their sha256, the role of each model and the calibrated threshold. The same file is read by
 * scripts/fetch-models.sh; models/NAME/manifest in the repository is the source of truth and is
 * compiled into the binary (builtin_manifests.c), so verification never trusts a copy on disk.
 *
 * Lines: `KEY VALUE...`; `#` starts a comment. Keys: name, package, package_sha256, detector KIND
 * FILE, landmarks KIND FILE, recognizer KIND FILE, recognizer2 KIND FILE (a second recognizer whose
 * embedding is fused with the first's), fusion W (the weight of the first recognizer's similarity,
 * in (0, 1); the second's is 1 - W; required with recognizer2), threshold T, file NAME SOURCE
 * SHA256 (repeatable; SHA256 may be '-' for a file whose published hash we do not know: it is then
 * checked for structure only), convert NAME TOOL FROM SHA256 (a file made at install time by
 * scripts/TOOL.py from the listed file FROM; verified like any file), outputs ROLE all|small
 * TENSOR... (the tensors a role's network is run up to, when the pipeline reads its raw outputs
 * rather than the graph's own: for the whole input, and for small inputs where only the fine
 * levels are run). A pack made of several npm packages repeats `package` and `package_sha256`;
 * the `file` lines after them come from that package (scripts/fetch-models.sh).
 */
#ifndef FS_MODELS_MANIFEST_H
#define FS_MODELS_MANIFEST_H

#include <stddef.h>

#include "facesearch.h"

typedef struct model_manifest_file {
    char *name;      /* file name inside the pack folder */
    char sha256[65]; /* lower-case hex, or "" when the manifest does not pin it */
} model_manifest_file;

#define MODEL_MAX_OUTPUTS 6

/* Names of tensors to run a network up to; count 0 means the graph's own outputs. */
typedef struct model_manifest_outputs {
    char *names[MODEL_MAX_OUTPUTS];
    size_t count;
} model_manifest_outputs;

typedef struct model_manifest_role {
    char *kind;      /* e.g. "ultraface", "scrfd", "landmark68", "arcface"; NULL if absent */
    char *file;      /* file name inside the pack folder */
    model_manifest_outputs all, small; /* 'outputs ROLE all|small ...'; empty when absent */
} model_manifest_role;

typedef struct model_manifest {
    char *name;
    char *package;   /* npm package it comes from, or NULL */
    model_manifest_role detector, landmarks, recognizer, recognizer2;
    float fusion;    /* weight of recognizer's similarity when recognizer2 is fused; else 0 */
    float threshold;
    model_manifest_file *files;
    size_t file_count;
} model_manifest;

/* Parses text (len bytes, need not be NUL-terminated). origin names the text in messages.
 * On failure nothing is left allocated in *out. */
fs_status model_manifest_parse(const char *text, size_t len, const char *origin,
                               model_manifest *out, fs_error *err);
void model_manifest_free(model_manifest *m);

/* The manifest compiled into the binary for a known pack name, or NULL. */
const char *model_builtin_manifest(const char *name);

#endif
