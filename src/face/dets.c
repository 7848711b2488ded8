/*
 * dets.c — lists of detection candidates, non-maximum suppression, and candidates nested in a
 * larger one.
 */
#include <assert.h>
#include <stdlib.h>

#include "face/face.h"
#include "util/error.h"
#include "util/grow.h"

fs_status face_dets_push(face_dets *d, const face_det *item, fs_error *err)
{
    face_det *grown = util_grow(d->items, &d->capacity, d->count + 1, sizeof *grown, 64);
    if (!grown)
        return util_fail(err, FS_ERR_NOMEM, "out of memory for face candidates");
    d->items = grown;
    d->items[d->count++] = *item;
    return FS_OK;
}

void face_dets_free(face_dets *d)
{
    free(d->items);
    d->items = NULL;
    d->count = d->capacity = 0;
}

static float box_area(const float b[4])
{
    return (b[2] - b[0]) * (b[3] - b[1]);
}

static float box_intersection(const float a[4], const float b[4])
{
    float w = (a[2] < b[2] ? a[2] : b[2]) - (a[0] > b[0] ? a[0] : b[0]);
    float h = (a[3] < b[3] ? a[3] : b[3]) - (a[1] > b[1] ? a[1] : b[1]);
    return w > 0 && h > 0 ? w * h : 0;
}

float face_box_iou(const float a[4], const float b[4])
{
    float inter = box_intersection(a, b);
    if (inter <= 0)
        return 0;
    float area_a = box_area(a), area_b = box_area(b);
    float uni = area_a + area_b - inter;
    return uni > 0 ? inter / uni : 0;
}

int face_det_nested(const face_dets *d, size_t i, float min_inside, float min_area_ratio)
{
    assert(i < d->count);
    const float *box = d->items[i].box;
    float area = box_area(box);
    if (!(area > 0))
        return 0;
    for (size_t j = 0; j < d->count; j++) {
        const float *outer = d->items[j].box;
        if (j != i && box_area(outer) >= min_area_ratio * area &&
            box_intersection(box, outer) >= min_inside * area)
            return 1;
    }
    return 0;
}

static int by_score_desc(const void *pa, const void *pb)
{
    const face_det *a = pa, *b = pb;
    return (a->score < b->score) - (a->score > b->score);
}

void face_nms(face_dets *d, float iou_threshold)
{
    if (d->count < 2)
        return; /* nothing to suppress (and qsort must not be given a NULL array) */
    qsort(d->items, d->count, sizeof *d->items, by_score_desc);
    size_t kept = 0;
    for (size_t i = 0; i < d->count; i++) {
        size_t j = 0;
        while (j < kept && face_box_iou(d->items[j].box, d->items[i].box) <= iou_threshold)
            j++;
        if (j == kept)
            d->items[kept++] = d->items[i];
    }
    d->count = kept;
}
