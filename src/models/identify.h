/*
 * identify.h — what an ONNX model is, from its input/output signature, as insightface decides it:
 * an SCRFD face detector, an ArcFace-style face recognizer, or something else (the age/gender,
 * 106-point and 3D-68-point models that share a buffalo_l folder). Used by pack.c to check the
 * model files of a pack whose hashes are not pinned, and to find the detector and recognizer of a
 * pack folder that has no manifest.
 *
 * Signatures (the model is loaded with our runtime, then planned once to resolve output shapes):
 *   detector:   one 4-D input with 3 channels, spatial size fixed or symbolic (planned at
 *               FS_PROBE_SIDE when symbolic); 6 or 9 outputs: scores, boxes[, keypoints] for
 *               strides 8, 16, 32, in that order, last dimensions 1, 4[, 10], each stride with
 *               (H/s)*(W/s)*2 rows at the planned size.
 *   recognizer: input [N, 3, 112, 112]; exactly one output of shape (1, 512).
 */
#ifndef FS_MODELS_IDENTIFY_H
#define FS_MODELS_IDENTIFY_H

#include <stddef.h>

#include "facesearch.h"

typedef enum model_role {
    FS_ROLE_OTHER = 0,
    FS_ROLE_DETECTOR = 1,
    FS_ROLE_RECOGNIZER = 2
} model_role;

/* Loads the model at path and decides its role. On success *role is set and, when it is
 * FS_ROLE_OTHER, why[] says in a few words why it is neither ("1 output of shape (1,3)"). A file
 * that does not load (missing, truncated, not ONNX, unsupported op) is an error: err holds the
 * loader's message, which names the file. */
fs_status model_identify(const char *path, model_role *role, char *why, size_t why_size,
                         fs_error *err);

/* Checks that the model at path has the signature of role (FS_ROLE_DETECTOR or
 * FS_ROLE_RECOGNIZER). On failure err says "PATH: not an SCRFD face detector: WHY" or
 * "PATH: not a face recognizer: WHY" (FS_ERR_FORMAT), or the loader's message. */
fs_status model_check_role(const char *path, model_role role, fs_error *err);

/* Finds the detector and the recognizer among the .onnx files of dir, as insightface's
 * FaceAnalysis does: files in name order, the first of each role wins, others are ignored.
 * Files that do not load are skipped, but named in the error if a role is then missing.
 * On success *detector and *recognizer are malloc'd file names (not paths); caller frees.
 * On failure both are NULL and err names the folder and the missing role (FS_ERR_NOT_FOUND). */
fs_status model_identify_pack(const char *dir, char **detector, char **recognizer, fs_error *err);

#endif
