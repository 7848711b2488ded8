/*
 * test_nn_parity.c — our runtime against onnxruntime on the three default-pack models, on real
 * inputs: max|ours - ort| <= 1e-4 * max|ort| for every output.
 *
 * The oracle runs at test time: tests/ort/run_ort.js (node + onnxruntime-node, installed by
 * `make test` via scripts/fetch-oracle.sh) on the same input file. Inputs come from
 * tests/nn/fixtures/ (uint8 pixels made by tests/nn/make_fixtures.py from the sample photos):
 * the detector sees sample1 at 240x320, and the same picture upscaled (bilinear) to 480x640 and
 * 720x1280; the landmark and feature models see the faces the detector found in sample1 and
 * sample2. Models are found like the library finds them (fs_data_dir()); a missing model,
 * fixture or oracle fails the test loudly. Also checked: the fast backend matches the reference
 * backend, two plans of one net run on two threads at once give the sequential results, and the
 * full fr_detect graph (fixed 240x320 priors) at another size is a plan error, not a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <pthread.h>
#include <unistd.h>
#include <cmocka.h>

#include "nn/nn.h"

#define MAX_OUT 4

static const char *source_dir(void)
{
    const char *d = getenv("FS_SOURCE_DIR");
    if (!d)
        fail_msg("FS_SOURCE_DIR is not set (run the tests with ctest)");
    return d;
}

static void model_path(const char *name, char *buf, size_t size)
{
    char dir[4096];
    fs_error err = {0};
    assert_int_equal(fs_data_dir(dir, sizeof dir, &err), FS_OK);
    snprintf(buf, size, "%s/models/default/%s.onnx", dir, name);
    if (access(buf, R_OK) != 0)
        fail_msg("%s is missing: run scripts/fetch-models.sh (or make test)", buf);
}

static uint8_t *read_fixture(const char *name, size_t size)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/tests/nn/fixtures/%s", source_dir(), name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("fixture %s is missing (tests/nn/make_fixtures.py makes it)", path);
    uint8_t *buf = malloc(size);
    assert_non_null(buf);
    size_t n = fread(buf, 1, size, f);
    fclose(f);
    assert_int_equal(n, size);
    return buf;
}

/* The detector input: sample1 (240x320 RGB) bilinearly resized to h x w, (v - 127) / 128, NCHW. */
static float *detect_input(int h, int w)
{
    uint8_t *px = read_fixture("detect_240x320.rgb", 240 * 320 * 3);
    float *x = malloc(sizeof(float) * 3 * (size_t)h * (size_t)w);
    assert_non_null(x);
    for (int y = 0; y < h; y++) {
        float sy = (float)y * 239.0f / (float)(h - 1);
        int y0 = (int)sy, y1 = y0 < 239 ? y0 + 1 : 239;
        float fy = sy - (float)y0;
        for (int xx = 0; xx < w; xx++) {
            float sx = (float)xx * 319.0f / (float)(w - 1);
            int x0 = (int)sx, x1 = x0 < 319 ? x0 + 1 : 319;
            float fx = sx - (float)x0;
            for (int c = 0; c < 3; c++) {
                float a = px[(y0 * 320 + x0) * 3 + c], b = px[(y0 * 320 + x1) * 3 + c];
                float d = px[(y1 * 320 + x0) * 3 + c], e = px[(y1 * 320 + x1) * 3 + c];
                float v = (a * (1 - fx) + b * fx) * (1 - fy) + (d * (1 - fx) + e * fx) * fy;
                x[((size_t)c * h + y) * w + xx] = (v - 127.0f) / 128.0f;
            }
        }
    }
    free(px);
    return x;
}

/* Face n as the feature model's input (112x112 RGB, (v - 127.5) / 127.5, NCHW) or the landmark
 * model's (64x64 gray, v / 255). */
static float *face_input(int n, int gray)
{
    char name[64];
    int side = gray ? 64 : 112, ch = gray ? 1 : 3;
    snprintf(name, sizeof name, gray ? "face%d_64.gray" : "face%d_112.rgb", n);
    uint8_t *px = read_fixture(name, (size_t)side * side * ch);
    float *x = malloc(sizeof(float) * (size_t)side * side * ch);
    assert_non_null(x);
    for (int c = 0; c < ch; c++)
        for (int i = 0; i < side * side; i++)
            x[c * side * side + i] = gray ? px[i] / 255.0f : (px[i * 3 + c] - 127.5f) / 127.5f;
    free(px);
    return x;
}

typedef struct ort_result {
    int n;
    float *data[MAX_OUT];
    size_t count[MAX_OUT];
} ort_result;

/* Runs onnxruntime on input; names: comma-separated output names or NULL. */
static void run_ort(const char *model, const float *input, const int64_t *shape,
                    const char *names, ort_result *r)
{
    char dir[] = "/tmp/fs_ort_XXXXXX", path[512], cmd[8192];
    assert_non_null(mkdtemp(dir));
    size_t count = (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
    snprintf(path, sizeof path, "%s/in.f32", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(input, sizeof(float), count, f), count);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "node '%s/tests/ort/run_ort.js' '%s' '%s' %lld,%lld,%lld,%lld '%s' %s > '%s/log' 2>&1",
             source_dir(), model, path, (long long)shape[0],
             (long long)shape[1], (long long)shape[2], (long long)shape[3], dir,
             names ? names : "", dir);
    int rc = system(cmd);
    if (rc != 0) {
        char log[2048] = "", lp[512];
        snprintf(lp, sizeof lp, "%s/log", dir);
        FILE *lf = fopen(lp, "r");
        if (lf) {
            size_t n = fread(log, 1, sizeof log - 1, lf);
            log[n] = 0;
            fclose(lf);
        }
        fail_msg("onnxruntime oracle failed (rc %d; run scripts/fetch-oracle.sh):\n%s", rc, log);
    }
    memset(r, 0, sizeof *r);
    for (int i = 0; i < MAX_OUT; i++) {
        snprintf(path, sizeof path, "%s/out%d.f32", dir, i);
        f = fopen(path, "rb");
        if (!f)
            break;
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, 0, SEEK_SET);
        r->data[i] = malloc((size_t)size + 4);
        assert_non_null(r->data[i]);
        assert_int_equal(fread(r->data[i], 1, (size_t)size, f), (size_t)size);
        fclose(f);
        r->count[i] = (size_t)size / sizeof(float);
        r->n++;
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/in.f32", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/log", dir);
    unlink(path);
    rmdir(dir);
}

/* Our outputs (copied) for a backend. */
static int run_ours(const char *model, nn_backend_kind backend, const char *const *names,
                    size_t n_names, const int64_t *shape, const float *input, float **out,
                    size_t *count)
{
    nn_net *net;
    nn_plan *plan;
    fs_error err = {0};
    nn_options opt = {.backend = backend, .threads = 1, .outputs = names,
                      .output_count = n_names};
    if (nn_net_load(model, &opt, &net, &err) != FS_OK)
        fail_msg("load: %s", err.message);
    if (nn_plan_create(net, shape, 4, 0, &plan, &err) != FS_OK)
        fail_msg("plan: %s", err.message);
    if (nn_plan_run(plan, input, &err) != FS_OK)
        fail_msg("run: %s", err.message);
    int n = (int)nn_net_output_count(net);
    for (int i = 0; i < n; i++) {
        int64_t s[NN_MAX_DIMS];
        int nd;
        const float *y = nn_plan_output(plan, (size_t)i, s, &nd);
        assert_non_null(y);
        size_t c = 1;
        for (int k = 0; k < nd; k++)
            c *= (size_t)s[k];
        out[i] = malloc(c * sizeof(float) + 4);
        assert_non_null(out[i]);
        memcpy(out[i], y, c * sizeof(float));
        count[i] = c;
    }
    nn_plan_free(plan);
    nn_net_free(net);
    return n;
}

static double compare(const char *what, const char *output, const float *ours,
                      const float *ref, size_t n)
{
    double diff = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)ours[i] - (double)ref[i]);
        if (!(d <= diff)) /* also catches NaN */
            diff = isnan(d) ? INFINITY : d;
        if (fabs((double)ref[i]) > mx)
            mx = fabs((double)ref[i]);
    }
    print_message("parity %-34s %-7s max|diff| %.3g  max|ref| %.4g  ratio %.3g\n", what, output,
                  diff, mx, mx > 0 ? diff / mx : diff);
    return mx > 0 ? diff / mx : diff;
}

static void parity(const char *name, const char *names_csv, const int64_t *shape,
                   const float *input, const char *what)
{
    char model[4200];
    model_path(name, model, sizeof model);
    const char *names[MAX_OUT];
    char buf[256];
    size_t n_names = 0;
    if (names_csv) {
        snprintf(buf, sizeof buf, "%s", names_csv);
        for (char *s = strtok(buf, ","); s && n_names < MAX_OUT; s = strtok(NULL, ","))
            names[n_names++] = s;
    }
    float *ours[MAX_OUT] = {0}, *fast[MAX_OUT] = {0};
    size_t count[MAX_OUT], fcount[MAX_OUT];
    int n = run_ours(model, NN_BACKEND_REF, n_names ? names : NULL, n_names, shape, input, ours,
                     count);
    int nf = run_ours(model, NN_BACKEND_FAST, n_names ? names : NULL, n_names, shape, input, fast,
                      fcount);
    ort_result ort;
    run_ort(model, input, shape, names_csv, &ort);
    assert_int_equal(n, ort.n);
    assert_int_equal(nf, n);
    for (int i = 0; i < n; i++) {
        char label[32];
        snprintf(label, sizeof label, "out%d", i);
        assert_int_equal(count[i], ort.count[i]);
        assert_int_equal(fcount[i], count[i]);
        assert_true(compare(what, label, ours[i], ort.data[i], count[i]) <= 1e-4);
        char fw[128];
        snprintf(fw, sizeof fw, "%s fast-vs-ref", what);
        assert_true(compare(fw, label, fast[i], ours[i], count[i]) <= 1e-4);
        free(ours[i]);
        free(fast[i]);
        free(ort.data[i]);
    }
}

static void test_detect_full_240x320(void **state)
{
    (void)state;
    float *x = detect_input(240, 320);
    parity("fr_detect", NULL, (int64_t[]){1, 3, 240, 320}, x, "fr_detect 240x320 (full graph)");
    free(x);
}

/* The full graph decodes fixed 240x320 priors: another size is a clean plan error. */
static void test_detect_full_other_size_fails(void **state)
{
    (void)state;
    char model[4200];
    model_path("fr_detect", model, sizeof model);
    nn_net *net;
    nn_plan *plan;
    fs_error err = {0};
    assert_int_equal(nn_net_load(model, NULL, &net, &err), FS_OK);
    assert_int_equal(nn_plan_create(net, (int64_t[]){1, 3, 480, 640}, 4, 0, &plan, &err),
                     FS_ERR_FORMAT);
    assert_null(plan);
    assert_non_null(strstr(err.message, "fr_detect.onnx: node 'Mul_156' (Mul): shapes "
                                        "[1,17640,2] and [1,4420,2] do not broadcast"));
    nn_net_free(net);
}

static void detect_raw(int h, int w)
{
    char what[64];
    float *x = detect_input(h, w);
    snprintf(what, sizeof what, "fr_detect %dx%d (461,462)", h, w);
    parity("fr_detect", "461,462", (int64_t[]){1, 3, h, w}, x, what);
    free(x);
}

static void test_detect_raw_240x320(void **state)
{
    (void)state;
    detect_raw(240, 320);
}

static void test_detect_raw_480x640(void **state)
{
    (void)state;
    detect_raw(480, 640);
}

static void test_detect_raw_720x1280(void **state)
{
    (void)state;
    detect_raw(720, 1280);
}

static void test_landmark(void **state)
{
    (void)state;
    for (int n = 1; n <= 2; n++) {
        char what[64];
        float *x = face_input(n, 1);
        snprintf(what, sizeof what, "fr_landmark 64x64 face%d", n);
        parity("fr_landmark", NULL, (int64_t[]){1, 1, 64, 64}, x, what);
        free(x);
    }
}

static void test_feature(void **state)
{
    (void)state;
    for (int n = 1; n <= 2; n++) {
        char what[64];
        float *x = face_input(n, 0);
        snprintf(what, sizeof what, "fr_feature 112x112 face%d", n);
        parity("fr_feature", NULL, (int64_t[]){1, 3, 112, 112}, x, what);
        free(x);
    }
}

typedef struct job {
    nn_plan *plan;
    const float *input;
    fs_status st;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    for (int i = 0; i < 3 && j->st == FS_OK; i++)
        j->st = nn_plan_run(j->plan, j->input, NULL);
    return NULL;
}

static void test_plans_on_threads(void **state)
{
    (void)state;
    char model[4200];
    model_path("fr_feature", model, sizeof model);
    nn_net *net;
    fs_error err = {0};
    nn_options opt = {.backend = NN_BACKEND_REF, .threads = 1};
    assert_int_equal(nn_net_load(model, &opt, &net, &err), FS_OK);
    float *a = face_input(1, 0), *b = face_input(2, 0);
    const int64_t shape[4] = {1, 3, 112, 112};
    nn_plan *pa, *pb;
    assert_int_equal(nn_plan_create(net, shape, 4, 0, &pa, &err), FS_OK);
    assert_int_equal(nn_plan_create(net, shape, 4, 0, &pb, &err), FS_OK);
    /* sequential reference */
    float ra[512], rb[512];
    assert_int_equal(nn_plan_run(pa, a, &err), FS_OK);
    memcpy(ra, nn_plan_output(pa, 0, NULL, NULL), sizeof ra);
    assert_int_equal(nn_plan_run(pa, b, &err), FS_OK);
    memcpy(rb, nn_plan_output(pa, 0, NULL, NULL), sizeof rb);
    job ja = {pa, a, FS_OK}, jb = {pb, b, FS_OK};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, run_job, &ja), 0);
    assert_int_equal(pthread_create(&tb, NULL, run_job, &jb), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(ja.st, FS_OK);
    assert_int_equal(jb.st, FS_OK);
    assert_memory_equal(nn_plan_output(pa, 0, NULL, NULL), ra, sizeof ra);
    assert_memory_equal(nn_plan_output(pb, 0, NULL, NULL), rb, sizeof rb);
    nn_plan_free(pa);
    nn_plan_free(pb);
    nn_net_free(net);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_full_240x320),
        cmocka_unit_test(test_detect_full_other_size_fails),
        cmocka_unit_test(test_detect_raw_240x320),
        cmocka_unit_test(test_detect_raw_480x640),
        cmocka_unit_test(test_detect_raw_720x1280),
        cmocka_unit_test(test_landmark),
        cmocka_unit_test(test_feature),
        cmocka_unit_test(test_plans_on_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
