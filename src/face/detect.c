/*
 * detect.c — finding faces in a whole photo, from 20-pixel faces in group shots to full-frame
 * close-ups: the Ultra-Light detector of the default pack run at several scales, and SCRFD for
 * the insightface packs.
 *
 * One input size cannot serve every face size: the Ultra-Light priors span 10 to 256 pixels of
 * its input, so a 1920 px photo shrunk to 320 px loses faces under ~60 px, while a face that
 * fills the frame is larger than the biggest prior and gets a loose box (then squeezed landmarks
 * and a poor alignment). So it runs in up to three passes, each keeping the faces it sees well,
 * merged by NMS:
 *   - coarse: long side 320, the training size: faces from COARSE_MIN_BOX input pixels up to
 *     CLOSE_UP of the photo's shorter side;
 *   - fine (only when it would be much larger than coarse): sized so that min_face photo pixels
 *     cover the smallest prior (10 px), capped at FINE_MAX_SIDE: faces up to FINE_MAX_BOX input
 *     pixels (at larger sizes skin and texture start to look like faces to it);
 *   - close-up: the photo shrunk into the middle of a mid-grey canvas CLOSE_UP_CANVAS times its
 *     size, so that even a face filling the photo sits well inside the priors, with context
 *     around it: faces of at least CLOSE_UP of the photo's shorter side. Only run when the coarse
 *     pass saw a face of at least CLOSE_UP_HINT of the shorter side (loose as its box may be), or
 *     no face at all: a group photo of small faces does not pay for it.
 *   - tiles (crowds): the fine pass sees faces of min_face pixels at the smallest prior, where it
 *     misses a third of the 20-30 px faces of the crowd development set (bench/fetch_crowds.py,
 *     eval_accuracy --crowds). Where it saw small faces, the small net runs again on the photo at
 *     the scale that maps min_face to TILE_PRIOR input pixels (at most full size), in TILE_IN x
 *     TILE_IN tiles (one planned network), only those whose core (the tile less TILE_MARGIN on
 *     each side, > half the largest face kept) holds the centre of a hint: a fine-pass candidate
 *     of at most HINT_MAX_SIDE x min_face photo pixels scoring at least HINT_THRESHOLD (kept or
 *     not), when there are at least HINT_MIN_COUNT hints (a crowd, not one face far away). A tile
 *     keeps the faces centred in its core, so a face is found by one tile, whole.
 *     Only worth it when the tiles' scale is TILE_GAIN times the fine pass's or more. Photos
 *     without small faces run no tile (none of the six samples does); a crowd runs most of them.
 *     Measured on the development set: visible faces of 20+ px found 0.818 -> 0.901 (20-30 px
 *     0.69 -> 0.91, 30-60 px 0.84 -> 0.89); a tile threshold of 0.6 instead of the engine's 0.7
 *     found 1 more face in 242 for 2.5 times the detections off any face, 0.75 lost 2; hints from
 *     0.3 lost 2 faces (from 0.15 none more, but two samples then ran tiles: a single hint each,
 *     hence HINT_MIN_COUNT); hints up to 2 x min_face ran fewer tiles but lost faces. Merged with the other passes by NMS at TILES_NMS_IOU
 *     (0.4 left a face's tile and fine boxes both: 0.52 -> 0.48 unmatched detections per photo).
 * Those 0.48 false positives per photo (11 in 23 photos) are 9 masked faces found but boxed
 * otherwise than their labels (taller, from a mask-detection set: IoU 0.32-0.49 with a label no
 * other detection took; none a duplicate, so not an NMS matter), a hand holding a phone and an
 * ear: at IoU 0.3, 0.09 per photo at the same recall (bench/crowd_fp.py). Score thresholds cannot
 * remove the nine without losing faces (0.85 everywhere: 0.30 per photo at IoU 0.5, recall 0.884);
 * 0.6 for 30-60 px faces found 2 more of 138 for 1 more detection on no face: too few to change.
 * Inputs keep the photo's aspect ratio (the network is fully convolutional), padded to sizes that
 * photos of similar shapes share (CANVAS_STEP). The photo is shrunk once, to the fine size, that
 * to the coarse size, and the close-up input is made from the coarse one.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face/pipeline.h"
#include "util/error.h"

#define COARSE_SIDE 320
#define FINE_MAX_SIDE 1280
#define FINE_PRIOR 10.0 /* the smallest prior; 8 lost 40% of 21-34 px faces in a measured mosaic */
#define FINE_MAX_BOX 56.0f
#define COARSE_MIN_BOX 16.0f
#define HANDOVER_SLACK 0.9f /* the coarse pass starts a little below the fine pass's largest */
#define CLOSE_UP 0.4f
#define CLOSE_UP_CANVAS 1.6
#define CLOSE_UP_HINT 0.25f
#define NMS_IOU 0.4f
#define TILE_PRIOR 20.0
#define TILE_GAIN 1.3
#define TILE_IN 512
#define TILE_MARGIN 32
#define HINT_THRESHOLD 0.2f
#define HINT_MIN_COUNT 2
#define HINT_MAX_SIDE 3.0f
#define TILES_NMS_IOU 0.3f

/* Input sizes are rounded up to multiples of CANVAS_STEP (the photo at the top-left, mid-grey
 * beyond): photos of similar shapes then share a few input sizes, and so their planned networks. */
#define CANVAS_STEP 64

static int canvas(int v)
{
    return (v + CANVAS_STEP - 1) / CANVAS_STEP * CANVAS_STEP;
}

/* Where the photo goes in the detector's input: resized to region_w x region_h at (x, y) of an
 * in_w x in_h canvas (mid-grey elsewhere). Kept faces: larger side within [min_side, max_side]
 * photo pixels and within [min_box, max_box] input pixels. */
typedef struct placement {
    int in_w, in_h, x, y, region_w, region_h;
    float min_box, max_box, min_side, max_side;
    int small; /* run the detector up to levels 0 and 1 only (faces up to ~60 input pixels) */
    /* tiles: photo pixels added after scaling (the tile's corner), the score threshold (0 = the
     * engine's), and the tile's core in input pixels (a face is kept only if its centre lies in
     * it; all zero = no core) */
    float ox, oy, threshold;
    float core[4];
} placement;

static fs_status make_input(const img_rgb *img, const placement *p, float *tensor, fs_error *err)
{
    img_rgb region = {0};
    const img_rgb *placed = img;
    if (img->width != p->region_w || img->height != p->region_h) {
        fs_status rc = img_resize(img, p->region_w, p->region_h, &region, err);
        if (rc)
            return rc;
        placed = &region;
    }
    face_image_to_tensor_at(placed, p->x, p->y, p->in_w, p->in_h, 127.0f, 128.0f, 127, tensor);
    img_free(&region);
    return FS_OK;
}

/* Runs the detector on one placement of the photo (photo_w x photo_h pixels; src holds its pixels
 * at any resolution) and appends the faces it keeps, in photo pixels. *largest receives the larger
 * side of the largest face it saw, kept or not (0 if none). */
static fs_status detect_at(fs_worker *w, const img_rgb *src, int photo_w, int photo_h,
                           const placement *p, face_dets *out, float *largest, face_dets *hints,
                           float hint_threshold, float hint_max_side, fs_error *err)
{
    *largest = 0;
    /* the fine pass keeps small faces only: levels 0 and 1 (strides 8, 16) suffice */
    nn_net *net = p->small ? w->engine->detector_small : w->engine->detector;
    nn_plan *plan;
    float *tensor = face_worker_tensor(w, (size_t)3 * p->in_w * p->in_h, err);
    fs_status rc = tensor ? face_worker_detect_plan(w, net, p->in_w, p->in_h, &plan, err)
                          : FS_ERR_NOMEM;
    if (rc == FS_OK)
        rc = make_input(src, p, tensor, err);
    if (rc == FS_OK)
        rc = nn_plan_run(plan, tensor, err);
    if (rc)
        return rc;

    /* outputs: (logits, boxes) of all levels concatenated, or a pair per level for the small net */
    face_dets found = {0};
    int pairs = p->small ? 2 : 1;
    float threshold = p->threshold > 0 ? p->threshold : w->engine->opt.det_threshold;
    float keep_threshold = threshold;
    if (hints && hint_threshold < threshold)
        threshold = hint_threshold;
    for (int k = 0; rc == FS_OK && k < pairs; k++) {
        int64_t shape_s[NN_MAX_DIMS], shape_b[NN_MAX_DIMS];
        int nd_s, nd_b;
        const float *logits = nn_plan_output(plan, 2 * k, shape_s, &nd_s);
        const float *boxes = nn_plan_output(plan, 2 * k + 1, shape_b, &nd_b);
        if (nd_s != 3 || nd_b != 3 || shape_s[2] != 2 || shape_b[2] != 4 ||
            shape_s[1] != shape_b[1]) {
            rc = util_fail(err, FS_ERR_FORMAT, "%s: unexpected detector output shapes",
                           fs_pack_name(w->engine->pack));
            break;
        }
        size_t n = (size_t)shape_s[1];
        rc = p->small ? face_ultraface_decode_level(logits, boxes, n, p->in_w, p->in_h, k,
                                                    threshold, 1, 1, &found, err)
                      : face_ultraface_decode(logits, boxes, n, p->in_w, p->in_h, threshold, 1, 1,
                                              &found, err);
    }
    float sx = (float)photo_w / p->region_w, sy = (float)photo_h / p->region_h;
    for (size_t i = 0; rc == FS_OK && i < found.count; i++) {
        face_det d = found.items[i];
        float in_side = fmaxf(d.box[2] - d.box[0], d.box[3] - d.box[1]);
        float cx = (d.box[0] + d.box[2]) / 2, cy = (d.box[1] + d.box[3]) / 2;
        if (p->core[2] > 0 &&
            !(cx >= p->core[0] && cx < p->core[2] && cy >= p->core[1] && cy < p->core[3]))
            continue; /* another tile's face (or one cut by this tile's edge) */
        d.box[0] = (d.box[0] - p->x) * sx + p->ox;
        d.box[2] = (d.box[2] - p->x) * sx + p->ox;
        d.box[1] = (d.box[1] - p->y) * sy + p->oy;
        d.box[3] = (d.box[3] - p->y) * sy + p->oy;
        float side = fmaxf(d.box[2] - d.box[0], d.box[3] - d.box[1]);
        if (hints && side <= hint_max_side)
            rc = face_dets_push(hints, &d, err);
        if (rc || d.score < keep_threshold)
            continue;
        *largest = fmaxf(*largest, side);
        if (in_side >= p->min_box && in_side <= p->max_box && side >= p->min_side &&
            side <= p->max_side)
            rc = face_dets_push(out, &d, err);
    }
    face_dets_free(&found);
    return rc;
}

/* img shrunk to about w x h with a box filter: first by the largest whole factor that keeps it at
 * least w - 1 x h - 1 (cheap), then by img_resize only if that is still more than
 * SHRINK_SLACK too large (the fine pass only needs min_face to cover at least the smallest prior).
 * The whole factor drops at most factor - 1 pixels at the right and bottom edges, under a pixel of
 * the photo once mapped back (boxes are mapped with the exact scale of the result). */
#define SHRINK_SLACK 1.15
static fs_status shrink_to(const img_rgb *img, int w, int h, img_rgb *out, fs_error *err)
{
    int fx = img->width / (w > 1 ? w - 1 : 1), fy = img->height / (h > 1 ? h - 1 : 1);
    int factor = fx < fy ? fx : fy;
    if (factor < 2)
        return img_resize(img, w, h, out, err);
    img_rgb part = {0};
    fs_status rc = img_shrink(img, factor, &part, err);
    if (rc)
        return rc;
    if (part.width <= w * SHRINK_SLACK && part.height <= h * SHRINK_SLACK) {
        *out = part;
        return FS_OK;
    }
    rc = img_resize(&part, w, h, out, err);
    img_free(&part);
    return rc;
}

/* The tiles pass: the small net on TILE_IN x TILE_IN tiles of the photo scaled by scale (the
 * tiles' cores partition it), on the cores that hold a hint's centre. */
static fs_status detect_tiles(fs_worker *w, const img_rgb *img, double scale,
                              const face_dets *hints, face_dets *out, fs_error *err)
{
    int core = TILE_IN - 2 * TILE_MARGIN;
    img_rgb scaled = {0};
    const img_rgb *src = img;
    fs_status rc = FS_OK;
    int sw = (int)lround(img->width * scale), sh = (int)lround(img->height * scale);
    if (sw != img->width || sh != img->height) {
        rc = img_resize(img, sw < 1 ? 1 : sw, sh < 1 ? 1 : sh, &scaled, err);
        src = &scaled;
    }
    int cols = (src->width + core - 1) / core, rows = (src->height + core - 1) / core;
    unsigned char *mark = rc ? NULL : calloc((size_t)cols * rows, 1);
    if (rc == FS_OK && !mark)
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory for detector tiles");
    for (size_t i = 0; rc == FS_OK && i < hints->count; i++) {
        const float *b = hints->items[i].box;
        int c = (int)((b[0] + b[2]) / 2 * scale) / core, r = (int)((b[1] + b[3]) / 2 * scale) / core;
        if (c >= 0 && c < cols && r >= 0 && r < rows)
            mark[r * cols + c] = 1;
    }
    for (int r = 0; rc == FS_OK && r < rows; r++)
        for (int c = 0; rc == FS_OK && c < cols; c++) {
            if (!mark[r * cols + c])
                continue;
            int x0 = c * core - TILE_MARGIN, y0 = r * core - TILE_MARGIN;
            int cx0 = x0 < 0 ? 0 : x0, cy0 = y0 < 0 ? 0 : y0;
            int cx1 = x0 + TILE_IN > src->width ? src->width : x0 + TILE_IN;
            int cy1 = y0 + TILE_IN > src->height ? src->height : y0 + TILE_IN;
            img_rgb tile = {0};
            rc = img_crop(src, cx0, cy0, cx1, cy1, &tile, err);
            if (rc)
                break;
            /* the core, in the tile's input pixels (the tile at the input's top-left) */
            float k0 = (float)(c * core - cx0), k1 = (float)(r * core - cy0);
            placement p = {TILE_IN, TILE_IN, 0, 0, tile.width, tile.height, 0, FINE_MAX_BOX, 0,
                           INFINITY, 1, (float)(cx0 / scale), (float)(cy0 / scale), 0,
                           {k0, k1, k0 + core, k1 + core}};
            float unused;
            rc = detect_at(w, &tile, (int)lround(tile.width / scale),
                           (int)lround(tile.height / scale), &p, out, &unused, NULL, 0, 0, err);
            img_free(&tile);
        }
    free(mark);
    img_free(&scaled);
    return rc;
}

/* The Ultra-Light passes described at the top of the file. */
static fs_status detect_ultraface(fs_worker *w, const img_rgb *img, face_dets *out, fs_error *err)
{
    int long_side = img->width > img->height ? img->width : img->height;
    int short_side = img->width > img->height ? img->height : img->width;
    double aw = (double)img->width / long_side, ah = (double)img->height / long_side;
    float close_up = CLOSE_UP * short_side;

    double fine = (double)long_side * FINE_PRIOR / w->engine->opt.min_face;
    if (fine > FINE_MAX_SIDE)
        fine = FINE_MAX_SIDE;
    int with_fine = fine >= 1.5 * COARSE_SIDE;

    /* The photo is shrunk once to the fine size, that to the coarse size (both whole-factor box
     * shrinks when the sizes allow), and the close-up input is made from the coarse one. */
    float coarse_largest = 0, unused;
    img_rgb fine_img = {0};
    const img_rgb *coarse_src = img;
    fs_status rc = FS_OK;
    int fw = (int)lround(fine * aw), fh = (int)lround(fine * ah);
    if (with_fine) {
        rc = shrink_to(img, fw < 1 ? 1 : fw, fh < 1 ? 1 : fh, &fine_img, err);
        coarse_src = &fine_img;
    }
    int cw = (int)lround(COARSE_SIDE * aw), ch = (int)lround(COARSE_SIDE * ah);
    img_rgb coarse = {0};
    if (rc == FS_OK)
        rc = shrink_to(coarse_src, cw < 1 ? 1 : cw, ch < 1 ? 1 : ch, &coarse, err);
    if (rc == FS_OK) {
        /* the coarse pass takes over where the fine pass stops (FINE_MAX_BOX input pixels there),
         * or below COARSE_MIN_BOX when a capped fine pass (large photos, small min_face) stops
         * earlier: else faces between the two were kept by neither */
        float min_box = with_fine ? COARSE_MIN_BOX : 0;
        float handover = FINE_MAX_BOX * (float)coarse.width / (float)fine_img.width;
        if (with_fine && handover < min_box)
            min_box = HANDOVER_SLACK * handover;
        placement p = {canvas(coarse.width), canvas(coarse.height), 0, 0, coarse.width,
                       coarse.height, min_box, INFINITY, 0, close_up, 0, 0, 0, 0, {0}};
        rc = detect_at(w, &coarse, img->width, img->height, &p, out, &coarse_largest, NULL, 0, 0,
                       err);
    }
    /* the tiles' scale: min_face photo pixels to TILE_PRIOR input pixels, at most full size */
    double tiles_scale = TILE_PRIOR / w->engine->opt.min_face;
    if (tiles_scale > 1)
        tiles_scale = 1;
    int with_tiles = with_fine && tiles_scale >= TILE_GAIN * fine / long_side;
    face_dets hints = {0};
    if (rc == FS_OK && with_fine) {
        placement p = {canvas(fine_img.width), canvas(fine_img.height), 0, 0, fine_img.width,
                       fine_img.height, 0, FINE_MAX_BOX, 0, close_up, 1, 0, 0, 0, {0}};
        rc = detect_at(w, &fine_img, img->width, img->height, &p, out, &unused,
                       with_tiles ? &hints : NULL, HINT_THRESHOLD,
                       HINT_MAX_SIDE * (float)w->engine->opt.min_face, err);
    }
    int tiled = rc == FS_OK && hints.count >= HINT_MIN_COUNT;
    if (tiled)
        rc = detect_tiles(w, img, tiles_scale, &hints, out, err);
    face_dets_free(&hints);
    if (rc == FS_OK && (coarse_largest == 0 || coarse_largest >= CLOSE_UP_HINT * short_side)) {
        int in_w = canvas(coarse.width), in_h = canvas(coarse.height);
        int rw = (int)lround(coarse.width / CLOSE_UP_CANVAS);
        int rh = (int)lround(coarse.height / CLOSE_UP_CANVAS);
        rw = rw < 1 ? 1 : rw;
        rh = rh < 1 ? 1 : rh;
        placement p = {in_w, in_h, (in_w - rw) / 2, (in_h - rh) / 2, rw, rh, 0, INFINITY, close_up,
                       INFINITY, 0, 0, 0, 0, {0}};
        rc = detect_at(w, &coarse, img->width, img->height, &p, out, &unused, NULL, 0, 0, err);
    }
    img_free(&coarse);
    img_free(&fine_img);
    if (rc == FS_OK)
        face_nms(out, tiled ? TILES_NMS_IOU : NMS_IOU);
    return rc;
}

/* SCRFD (insightface packs), as insightface runs it: the photo resized to fit the detector's input
 * keeping its aspect ratio, at the top-left of a black canvas; (v - 127.5) / 128. The input is
 * SCRFD_SIZE x SCRFD_SIZE unless the model fixes its own size (insightface then uses the model's).
 */
#define SCRFD_SIZE 640

static fs_status detect_scrfd(fs_worker *w, const img_rgb *img, face_dets *out, fs_error *err)
{
    int64_t declared[NN_MAX_DIMS];
    int nd_in = nn_net_input_shape(w->engine->detector, declared);
    int in_w = SCRFD_SIZE, in_h = SCRFD_SIZE;
    if (nd_in == 4 && declared[2] > 0 && declared[3] > 0 && declared[2] <= 4096 &&
        declared[3] <= 4096) {
        in_h = (int)declared[2];
        in_w = (int)declared[3];
    }
    /* insightface: the photo's height/width ratio against the input's decides which side fills */
    double ratio = (double)img->height / img->width, model_ratio = (double)in_h / in_w;
    int new_w = ratio > model_ratio ? (int)(in_h / ratio) : in_w;
    int new_h = ratio > model_ratio ? in_h : (int)(in_w * ratio);
    if (new_w < 1) new_w = 1;
    if (new_h < 1) new_h = 1;
    img_rgb small = {0};
    fs_status rc = img_resize(img, new_w, new_h, &small, err);
    nn_plan *plan = NULL;
    float *tensor = rc ? NULL : face_worker_tensor(w, (size_t)3 * in_w * in_h, err);
    if (rc == FS_OK && !tensor)
        rc = FS_ERR_NOMEM;
    if (rc == FS_OK)
        rc = face_worker_detect_plan(w, w->engine->detector, in_w, in_h, &plan, err);
    if (rc == FS_OK) {
        face_image_to_tensor_at(&small, 0, 0, in_w, in_h, 127.5f, 128.0f, 0, tensor);
        rc = nn_plan_run(plan, tensor, err);
    }
    img_free(&small);
    if (rc)
        return rc;

    size_t n_out = nn_net_output_count(w->engine->detector);
    if (n_out != 6 && n_out != 9)
        return util_fail(err, FS_ERR_FORMAT, "%s: SCRFD detector must have 6 or 9 outputs, not %zu",
                         fs_pack_name(w->engine->pack), n_out);
    const float *maps[9];
    size_t counts[9];
    for (size_t i = 0; i < n_out; i++) {
        int64_t shape[NN_MAX_DIMS];
        int nd;
        maps[i] = nn_plan_output(plan, i, shape, &nd);
        int64_t numel = 1;
        for (int d = 0; d < nd; d++)
            numel *= shape[d];
        int64_t per = i < 3 ? 1 : i < 6 ? 4 : 10;
        if (nd < 1 || shape[nd - 1] != per)
            return util_fail(err, FS_ERR_FORMAT, "%s: SCRFD output %zu has an unexpected shape",
                             fs_pack_name(w->engine->pack), i);
        counts[i] = (size_t)(numel / per);
    }
    for (int s = 0; s < 3; s++)
        if (counts[s] != counts[s + 3] || (n_out == 9 && counts[s] != counts[s + 6]))
            return util_fail(err, FS_ERR_FORMAT, "%s: SCRFD outputs disagree in size",
                             fs_pack_name(w->engine->pack));
    float scale = (float)img->height / new_h;
    rc = face_scrfd_decode(maps, maps + 3, n_out == 9 ? maps + 6 : NULL, counts, in_w, in_h,
                           w->engine->opt.det_threshold, scale, out, err);
    if (rc == FS_OK)
        face_nms(out, NMS_IOU);
    return rc;
}

fs_status face_detect(fs_worker *w, const img_rgb *img, face_dets *out, fs_error *err)
{
    if (w->engine->kind == FS_PACK_INSIGHTFACE)
        return detect_scrfd(w, img, out, err);
    return detect_ultraface(w, img, out, err);
}
