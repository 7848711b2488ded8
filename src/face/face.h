/*
 * face.h — the face pipeline's internal pieces, shared by the files of src/face/:
 * candidate lists and NMS, the detector decoders (Ultra-Light RFB, SCRFD), landmarks, alignment.
 * The public entry points (fs_engine, fs_worker, fs_detect_file) are in facesearch.h.
 */
#ifndef FS_FACE_H
#define FS_FACE_H

#include <stddef.h>

#include "facesearch.h"
#include "image/image.h"

/* The version of the face pipeline, recorded in every index: change it whenever detection,
 * landmarks, alignment or embedding give different results, so that an index made by the old
 * pipeline is refused instead of mixing incomparable embeddings. */
#define FS_PIPELINE_VERSION "4" /* 4: the tiles pass and the coarse/fine handover (detect.c) */

/* The smallest face (pixels, width and height) the engine keeps: its min_face option, by
 * default the pack's floor of 20. An index records the floor its faces were detected with. */
int face_engine_floor(const fs_engine *engine);

/* A detection candidate, in full-image pixels. */
typedef struct face_det {
    float box[4];          /* x1, y1, x2, y2 */
    float score;
    float landmarks[10];   /* valid when has_landmarks */
    int has_landmarks;
} face_det;

typedef struct face_dets {
    face_det *items;
    size_t count, capacity;
} face_dets;

fs_status face_dets_push(face_dets *d, const face_det *item, fs_error *err);
void face_dets_free(face_dets *d);

/* Intersection over union of two boxes. */
float face_box_iou(const float a[4], const float b[4]);

/* Sorts by score, best first, and keeps a box only if its IoU with every kept better box is at
 * most iou_threshold. In place. */
void face_nms(face_dets *d, float iou_threshold);

/* Whether candidate i of d lies mostly inside a much larger candidate of d: at least min_inside
 * of its box's area inside the box of another candidate (kept or not) with at least min_area_ratio
 * times its area. NMS keeps such a pair (their IoU is small): on a close-up, an eye or a glasses
 * lens inside the face. */
int face_det_nested(const face_dets *d, size_t i, float min_inside, float min_area_ratio);

/* Ultra-Light RFB detector (default pack): decodes the raw outputs of an in_w x in_h input —
 * logits[n][2] (background, face) and regressions[n][4] (dcx, dcy, dw, dh against the priors) —
 * keeping candidates with face probability >= threshold. Boxes are mapped to image pixels by
 * multiplying input pixels by (sx, sy). n must be the prior count for that input size, else
 * FS_ERR_INTERNAL. */
fs_status face_ultraface_decode(const float *logits, const float *regressions, size_t n, int in_w,
                                int in_h, float threshold, float sx, float sy, face_dets *out,
                                fs_error *err);

/* Number of priors the Ultra-Light detector has for an in_w x in_h input. */
size_t face_ultraface_prior_count(int in_w, int in_h);

/* The Ultra-Light detector's levels (strides 8, 16, 32, 64): the priors of one level, 0 for a
 * level out of range, and the decoding of one level's outputs alone (as face_ultraface_decode). */
#define FS_ULTRAFACE_LEVELS 4
size_t face_ultraface_level_count(int in_w, int in_h, int level);
fs_status face_ultraface_decode_level(const float *logits, const float *regressions, size_t n,
                                      int in_w, int in_h, int level, float threshold, float sx,
                                      float sy, face_dets *out, fs_error *err);

/* SCRFD detector (insightface packs): decodes the per-stride outputs (strides 8, 16, 32) of an
 * in_w x in_h input: scores[s] (counts[s] values), boxes[s] (4 per anchor), kps[s] (10 per anchor,
 * or kps == NULL for models without keypoints). Coordinates are multiplied by scale to get image
 * pixels (the input is the image resized by 1/scale and padded at the right and bottom). */
fs_status face_scrfd_decode(const float *const scores[3], const float *const boxes[3],
                            const float *const kps[3], const size_t counts[3], int in_w, int in_h,
                            float threshold, float scale, face_dets *out, fs_error *err);

/* The side of an aligned face, in pixels (the recognizer's input). */
#define FS_ALIGNED_SIZE 112

/* The ArcFace 112 x 112 five-point template: left eye, right eye, nose, left and right mouth. */
extern const float face_arcface_template[10];

/* The side of dlib's face chip (its recognizer's input), and the same five points in that chip. */
#define FS_DLIB_CHIP_SIZE 150
extern const float face_dlib_template[10];

/* Least-squares similarity transform (rotation, uniform scale, translation; no reflection) that
 * maps the n points src to dst (x, y pairs): dst ≈ [a -b; b a] src + [tx; ty].
 * m receives [a, -b, tx, b, a, ty]. Returns -1 if src is degenerate (all points equal). */
int face_similarity_fit(const float *src, const float *dst, int n, float m[6]);

/* Inverts a similarity (or any invertible affine) transform m (2 x 3, row-major). Returns -1 if
 * singular. */
int face_affine_invert(const float m[6], float inv[6]);

/* From 68 landmarks (x, y pairs, iBUG 300-W order) to the five ArcFace points. */
void face_landmarks68_to_5(const float pts68[136], float pts5[10]);

/* Fills out (NCHW, 3 planes of w*h) from an RGB image with (v - mean) / std per channel. */
void face_image_to_tensor(const img_rgb *img, float mean, float std, float *out);

/* The same for an in_w x in_h input holding img at (x, y) (inside it), every other pixel being
 * the grey level pad. */
void face_image_to_tensor_at(const img_rgb *img, int x, int y, int in_w, int in_h, float mean,
                             float std, uint8_t pad, float *out);

/* Quality (quality.c): the face's quality in [0, 1] from its detector score, box (pixels), five
 * landmarks and sharpness (face_sharpness; < 0: not measured, the other factors only). */
float face_quality(float score, const float box[4], const float landmarks[10], float sharpness);
/* The nose's offset from the eyes' midline along the eye axis, in eye distances (0: frontal). */
float face_pose_offset(const float landmarks[10]);
/* The sharpness of a face aligned to 112 x 112 (variance of the grey Laplacian over the variance
 * of the grey levels, in its inner part), and the same measured on the face of img at landmarks. */
float face_sharpness_of(const img_rgb *aligned);
fs_status face_sharpness(const img_rgb *img, const float landmarks[10], float *sharpness,
                         fs_error *err);

#endif
