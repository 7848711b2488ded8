/*
 * render.c — pictures of results: a photo with its faces drawn (detect --draw) and the crop of a
 * matched face (search -o).
 */
#include <math.h>

#include "face/pipeline.h"
#include "util/error.h"

static fs_status load_full(fs_engine *e, const char *path, img_rgb *img, fs_error *err)
{
    img_load_options lo = {.max_pixels = e->opt.max_pixels};
    return img_load(path, &lo, img, NULL, NULL, NULL, err);
}

fs_status fs_draw_faces(fs_engine *e, const char *path, const fs_faces *faces, const char *out_path,
                        fs_error *err)
{
    img_rgb img = {0};
    fs_status rc = load_full(e, path, &img, err);
    if (rc)
        return rc;
    int long_side = img.width > img.height ? img.width : img.height;
    int thick = long_side / 500 + 1;
    for (size_t i = 0; i < faces->count; i++) {
        const fs_face *f = &faces->faces[i];
        img_draw_rect(&img, (int)lroundf(f->box[0]), (int)lroundf(f->box[1]),
                      (int)lroundf(f->box[2]), (int)lroundf(f->box[3]), thick, 0, 255, 0);
        for (int k = 0; k < 5; k++)
            img_draw_dot(&img, f->landmarks[2 * k], f->landmarks[2 * k + 1], thick + 1, 255, 0, 0);
    }
    rc = img_save(&img, out_path, err);
    img_free(&img);
    return rc;
}

fs_status fs_save_face_crop(fs_engine *e, const char *path, const fs_face *face,
                            const char *out_path, fs_error *err)
{
    img_rgb img = {0}, crop = {0};
    fs_status rc = load_full(e, path, &img, err);
    if (rc)
        return rc;
    float mw = (face->box[2] - face->box[0]) / 4, mh = (face->box[3] - face->box[1]) / 4;
    rc = img_crop(&img, (int)floorf(face->box[0] - mw), (int)floorf(face->box[1] - mh),
                  (int)ceilf(face->box[2] + mw), (int)ceilf(face->box[3] + mh), &crop, err);
    if (rc == FS_OK)
        rc = img_save(&crop, out_path, err);
    img_free(&crop);
    img_free(&img);
    return rc;
}
