/*
 * align.c — face alignment: the five reference points of each recognizer (ArcFace's 112 x 112
 * template, dlib's 150 x 150 chip), the least-squares similarity transform that maps a face's five
 * landmarks onto them, the aligned face sampled bilinearly from the full-resolution image, and
 * conversion of 68-point landmarks to those five points.
 */
#include "face/face.h"
#include "face/pipeline.h"
#include "image/image.h"
#include "util/error.h"

/* The ArcFace template for a 112 x 112 crop (insightface's arcface_dst). */
const float face_arcface_template[10] = {
    38.2946f, 51.6963f, 73.5318f, 51.5014f, 56.0252f,
    71.7366f, 41.5493f, 92.3655f, 70.7299f, 92.2041f,
};

/* dlib's face chip (get_face_chip_details, size 150, padding 0.25): its mean face shape, in unit
 * coordinates, placed at (0.25 + p) / 1.5 * 150. The five points are those of our landmarks, taken
 * from that mean shape as face_landmarks68_to_5 takes them from 68 points: the eye centres (means
 * of points 36-41 and 42-47), the nose tip (30), the mouth corners (48, 54). */
const float face_dlib_template[10] = {
    47.5492f, 46.5990f, 100.4761f, 46.5990f, 74.0127f,
    76.5625f, 50.4149f, 103.0233f, 97.6104f, 103.0233f,
};

/* In 2-D the least-squares similarity (Umeyama's method restricted to rotations) has a closed
 * form: with both point sets centred, a = Σ(x·u + y·v) / Σ(x² + y²) and b = Σ(x·v − y·u) / Σ(x² +
 * y²) give the scaled rotation [a −b; b a]; the translation moves the source centroid onto the
 * destination centroid. Computed in double precision. */
int face_similarity_fit(const float *src, const float *dst, int n, float m[6])
{
    double msx = 0, msy = 0, mdx = 0, mdy = 0;
    for (int i = 0; i < n; i++) {
        msx += src[2 * i]; msy += src[2 * i + 1];
        mdx += dst[2 * i]; mdy += dst[2 * i + 1];
    }
    msx /= n; msy /= n; mdx /= n; mdy /= n;
    double num_a = 0, num_b = 0, var = 0;
    for (int i = 0; i < n; i++) {
        double x = src[2 * i] - msx, y = src[2 * i + 1] - msy;
        double u = dst[2 * i] - mdx, v = dst[2 * i + 1] - mdy;
        num_a += x * u + y * v;
        num_b += x * v - y * u;
        var += x * x + y * y;
    }
    if (var < 1e-12)
        return -1;
    double a = num_a / var, b = num_b / var;
    m[0] = (float)a;
    m[1] = (float)-b;
    m[2] = (float)(mdx - (a * msx - b * msy));
    m[3] = (float)b;
    m[4] = (float)a;
    m[5] = (float)(mdy - (b * msx + a * msy));
    return 0;
}

int face_affine_invert(const float m[6], float inv[6])
{
    double det = (double)m[0] * m[4] - (double)m[1] * m[3];
    if (det > -1e-12 && det < 1e-12)
        return -1;
    double a = m[4] / det, b = -m[1] / det, c = -m[3] / det, d = m[0] / det;
    inv[0] = (float)a;
    inv[1] = (float)b;
    inv[2] = (float)(-(a * m[2] + b * m[5]));
    inv[3] = (float)c;
    inv[4] = (float)d;
    inv[5] = (float)(-(c * m[2] + d * m[5]));
    return 0;
}

/* Eye centres are the means of the six eyelid points (36–41, 42–47), the nose tip is point 30,
 * the mouth corners are points 48 and 54. Left/right are as seen in the image, matching the
 * template (the template's "left eye" has the smaller x). */
void face_landmarks68_to_5(const float p[136], float out[10])
{
    for (int e = 0; e < 2; e++) {
        float x = 0, y = 0;
        for (int i = 36 + 6 * e; i < 42 + 6 * e; i++) {
            x += p[2 * i];
            y += p[2 * i + 1];
        }
        out[2 * e] = x / 6;
        out[2 * e + 1] = y / 6;
    }
    out[4] = p[2 * 30];
    out[5] = p[2 * 30 + 1];
    out[6] = p[2 * 48];
    out[7] = p[2 * 48 + 1];
    out[8] = p[2 * 54];
    out[9] = p[2 * 54 + 1];
}

void face_image_to_tensor(const img_rgb *img, float mean, float std, float *out)
{
    face_image_to_tensor_at(img, 0, 0, img->width, img->height, mean, std, 0, out);
}

void face_image_to_tensor_at(const img_rgb *img, int x, int y, int in_w, int in_h, float mean,
                             float std, uint8_t pad, float *out)
{
    const size_t plane = (size_t)in_w * (size_t)in_h;
    const float scale = 1.0f / std, pad_value = (pad - mean) * scale;
    const int placed = x == 0 && y == 0 && img->width == in_w && img->height == in_h;
    if (!placed)
        for (size_t i = 0; i < 3 * plane; i++)
            out[i] = pad_value;
    for (int row = 0; row < img->height; row++) {
        const uint8_t *px = img->rgb + (size_t)3 * img->width * row;
        size_t at = (size_t)(y + row) * in_w + x;
        float *r = out + at, *g = out + plane + at, *b = out + 2 * plane + at;
        for (int i = 0; i < img->width; i++, px += 3) {
            r[i] = (px[0] - mean) * scale;
            g[i] = (px[1] - mean) * scale;
            b[i] = (px[2] - mean) * scale;
        }
    }
}

fs_status face_align_to(const img_rgb *img, const float landmarks[10], const float tmpl[10],
                        int size, img_rgb *out, fs_error *err)
{
    float fwd[6], inv[6];
    if (face_similarity_fit(landmarks, tmpl, 5, fwd) || face_affine_invert(fwd, inv))
        return util_fail(err, FS_ERR_INTERNAL, "landmarks do not define an alignment");
    fs_status rc = img_new(size, size, out, err);
    if (rc)
        return rc;
    img_warp_affine(img, inv, out);
    return FS_OK;
}

fs_status face_align(const img_rgb *img, const float landmarks[10], img_rgb *out, fs_error *err)
{
    return face_align_to(img, landmarks, face_arcface_template, FS_ALIGNED_SIZE, out, err);
}
