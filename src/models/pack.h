/*
 * pack.h — what the library reads of an open model pack beyond the public fs_pack_* calls: the
 * manifest's per-role settings (the tensors a network is run up to, the kind of each model, the
 * weights of fused recognizers).
 */
#ifndef FS_MODELS_PACK_H
#define FS_MODELS_PACK_H

#include "facesearch.h"
#include "models/manifest.h"

/* The tensors to run role's network up to (small: for small inputs), from the pack's manifest;
 * a set with count 0 when the manifest names none (then the graph's own outputs are used), and
 * NULL for an unknown role. Owned by the pack. */
const model_manifest_outputs *model_pack_outputs(const fs_pack *p, const char *role, int small);

/* The kind of the model playing role ("arcface", "dlib", ...), NULL when the pack has none. */
const char *model_pack_role_kind(const fs_pack *p, const char *role);

/* The weight of the recognizer's similarity in the fused similarity: the manifest's 'fusion'
 * when the pack has a recognizer2 (whose weight is 1 minus it), else 1. */
float model_pack_fusion(const fs_pack *p);

#endif
