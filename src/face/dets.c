/*
 * dets.c — lists of detection candidates and non-maximum suppression.
 */
#include <stdlib.h>

#include "face/face.h"
#include "util/error.h"

fs_status fs_dets_push(fs_dets *d, const fs_det *item, fs_error *err)
{
    if (d->count == d->capacity) {
        size_t cap = d->capacity ? 2 * d->capacity : 64;
        fs_det *grown = realloc(d->items, cap * sizeof *grown);
        if (!grown)
            return fs_fail(err, FS_ERR_NOMEM, "out of memory for face candidates");
        d->items = grown;
        d->capacity = cap;
    }
    d->items[d->count++] = *item;
    return FS_OK;
}

void fs_dets_free(fs_dets *d)
{
    free(d->items);
    d->items = NULL;
    d->count = d->capacity = 0;
}

float fs_box_iou(const float a[4], const float b[4])
{
    float w = (a[2] < b[2] ? a[2] : b[2]) - (a[0] > b[0] ? a[0] : b[0]);
    float h = (a[3] < b[3] ? a[3] : b[3]) - (a[1] > b[1] ? a[1] : b[1]);
    if (w <= 0 || h <= 0)
        return 0;
    float inter = w * h;
    float area_a = (a[2] - a[0]) * (a[3] - a[1]), area_b = (b[2] - b[0]) * (b[3] - b[1]);
    float uni = area_a + area_b - inter;
    return uni > 0 ? inter / uni : 0;
}

static int by_score_desc(const void *pa, const void *pb)
{
    const fs_det *a = pa, *b = pb;
    return (a->score < b->score) - (a->score > b->score);
}

void fs_nms(fs_dets *d, float iou_threshold)
{
    if (d->count < 2)
        return; /* nothing to suppress (and qsort must not be given a NULL array) */
    qsort(d->items, d->count, sizeof *d->items, by_score_desc);
    size_t kept = 0;
    for (size_t i = 0; i < d->count; i++) {
        size_t j = 0;
        while (j < kept && fs_box_iou(d->items[j].box, d->items[i].box) <= iou_threshold)
            j++;
        if (j == kept)
            d->items[kept++] = d->items[i];
    }
    d->count = kept;
}
