/*
 * pipeline.c — the whole pipeline for one photo (SPEC.md §1): decode upright → detect →
 * drop faces under min_face and faces nested in a larger one → landmarks → align → embed; and
 * small helpers on its results.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face/pipeline.h"
#include "util/error.h"
#include "util/vec.h"

void fs_faces_free(fs_faces *faces)
{
    if (!faces)
        return;
    free(faces->faces);
    memset(faces, 0, sizeof *faces);
}

/* The same dot product as the index's (util_vec_dot), so that on-the-fly and indexed searches
 * give bit-identical similarities. */
float fs_similarity(const fs_face *a, const fs_face *b)
{
    return util_vec_dot(a->embedding, b->embedding, FS_EMBEDDING_MAX);
}

long fs_faces_largest(const fs_faces *faces)
{
    long best = -1;
    float best_area = -1;
    for (size_t i = 0; i < faces->count; i++) {
        const float *b = faces->faces[i].box;
        float area = (b[2] - b[0]) * (b[3] - b[1]);
        if (area > best_area) {
            best_area = area;
            best = (long)i;
        }
    }
    return best;
}

fs_status fs_face_template(const fs_face *faces, size_t n, fs_face *out, fs_error *err)
{
    if (n == 0)
        return util_fail(err, FS_ERR_ARG, "no query face for a template");
    double sum[FS_EMBEDDING_MAX] = {0}, norm = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < FS_EMBEDDING_MAX; k++)
            sum[k] += faces[i].embedding[k];
    for (size_t k = 0; k < FS_EMBEDDING_MAX; k++)
        norm += sum[k] * sum[k];
    norm = sqrt(norm);
    if (!(norm > 1e-6 * (double)n))
        return util_fail(err, FS_ERR_ARG, "the query faces' embeddings cancel out");
    fs_face t = faces[0]; /* a copy: out may be one of faces */
    for (size_t k = 0; k < FS_EMBEDDING_MAX; k++)
        t.embedding[k] = (float)(sum[k] / norm);
    *out = t;
    return FS_OK;
}

/* The quality gate: on a close-up the detector also finds an eye or a glasses lens inside the face.
 * Such a candidate is dropped when at least NESTED_INSIDE of its box lies inside a candidate of
 * NESTED_AREA times its area or more. Measured with bench/junk_faces.sh on 400 close-up crops:
 * every junk detection that had the face around it lay wholly inside it, at most 0.13 of its area
 * (a quarter leaves a margin); no real face lay even partly inside a larger detection, there, in
 * the group photos of the development set or in the samples. The other signals overlapped: scores
 * (junk up to 0.996, real faces in tight crops down to 0.75), the face size implied by the
 * landmarks against the box width (junk up to 1.06, real from 0.99), the embedding's norm before
 * normalisation (junk up to 2.7, real from 1.7). No score or size is needed: a face that holds a
 * much larger face box around it is not a face. */
#define NESTED_INSIDE 0.7f
#define NESTED_AREA 4.0f

/* Whether candidate i of d is a face to keep: at least min_face wide and high, and not nested in
 * a larger candidate (of any size: the gate does not depend on min_face). */
static int keep(const face_dets *d, size_t i, int min_face)
{
    const float *b = d->items[i].box;
    return b[2] - b[0] >= min_face && b[3] - b[1] >= min_face &&
           !face_det_nested(d, i, NESTED_INSIDE, NESTED_AREA);
}

/* The box as reported, inside the image (a detector's box may overhang the border; landmarks
 * and alignment use the unclamped one, so embeddings do not depend on this). Never -0. */
static void clamp_box(float box[4], int width, int height)
{
    for (int k = 0; k < 4; k++) {
        float limit = (float)(k % 2 ? height : width);
        if (!(box[k] > 0.0f))
            box[k] = 0.0f; /* also -0 and NaN */
        else if (box[k] > limit)
            box[k] = limit;
    }
}

static fs_status run(fs_worker *w, const img_rgb *img, int embed, fs_faces *out, fs_error *err)
{
    face_dets dets = {0};
    double t = util_now();
    fs_status rc = face_detect(w, img, &dets, err);
    w->times.detect += util_now() - t;
    if (rc == FS_OK && dets.count) {
        out->faces = calloc(dets.count, sizeof *out->faces);
        if (!out->faces)
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory for %zu faces", dets.count);
    }
    for (size_t i = 0; rc == FS_OK && i < dets.count; i++) {
        face_det *d = &dets.items[i];
        if (!keep(&dets, i, w->engine->opt.min_face))
            continue;
        t = util_now();
        rc = face_find_landmarks(w, img, d, err);
        w->times.landmarks += util_now() - t;
        if (rc)
            break;
        fs_face *f = &out->faces[out->count];
        memcpy(f->box, d->box, sizeof f->box);
        clamp_box(f->box, img->width, img->height);
        memcpy(f->landmarks, d->landmarks, sizeof f->landmarks);
        f->score = d->score;
        float sharpness;
        if ((rc = face_sharpness(img, f->landmarks, &sharpness, err)) != FS_OK)
            break;
        f->quality = face_quality(f->score, f->box, f->landmarks, sharpness);
        if (embed)
            rc = face_embed(w, img, f->landmarks, f->embedding, err);
        out->count++;
    }
    face_dets_free(&dets);
    return rc;
}

/* The pipeline on a decoded photo (st: how decoding went), with the bookkeeping of both entry
 * points: stage times, and a failure inside the pipeline naming the photo. */
static fs_status after_decode(fs_worker *w, fs_status rc, img_rgb *img, const char *name,
                              int embed, double started, fs_faces *out, fs_error *err)
{
    w->times.decode += util_now() - started;
    if (rc)
        return rc;
    out->width = img->width;
    out->height = img->height;
    rc = run(w, img, embed, out, err);
    w->times.photos++;
    w->times.faces += out->count;
    img_free(img);
    if (rc != FS_OK) {
        if (err && strncmp(err->message, name, strlen(name)) != 0) {
            char inner[sizeof err->message];
            memcpy(inner, err->message, sizeof inner);
            util_fail(err, rc, "%s: %s", name, inner);
        }
        fs_faces_free(out);
    }
    return rc;
}

fs_status fs_detect_file(fs_worker *w, const char *path, int embed, fs_faces *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    img_rgb img = {0};
    unsigned warnings = 0;
    img_load_options lo = {.max_pixels = w->engine->opt.max_pixels, .warnings = &warnings,
                           .max_decode_ms = w->engine->opt.max_decode_ms};
    double t = util_now();
    fs_status rc = img_load(path, &lo, &img, NULL, NULL, NULL, err);
    rc = after_decode(w, rc, &img, path ? path : "", embed, t, out, err);
    if (rc == FS_OK)
        out->warnings = warnings;
    return rc;
}

fs_status fs_detect_buffer(fs_worker *w, const void *data, size_t size, const char *name,
                           int embed, fs_faces *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    img_rgb img = {0};
    unsigned warnings = 0;
    img_load_options lo = {.max_pixels = w->engine->opt.max_pixels, .warnings = &warnings,
                           .max_decode_ms = w->engine->opt.max_decode_ms};
    double t = util_now();
    fs_status rc = img_load_buffer(data, size, name, &lo, &img, NULL, NULL, NULL, err);
    rc = after_decode(w, rc, &img, name ? name : "(buffer)", embed, t, out, err);
    if (rc == FS_OK)
        out->warnings = warnings;
    return rc;
}
