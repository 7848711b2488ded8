/*
 * pipeline.c — speed of the whole face pipeline (decode → detect → landmarks → align → embed)
 * on a set of photos, with 1 worker and with N workers (one photo per worker at a time, one
 * inference thread each, as `facesearch index` runs it), plus the time per stage.
 *
 *   pipeline [--runs R] [--workers N] [--min-size PX] [--passes P] [--models PACK] PHOTO...
 *
 * A run processes the photos P times over (default 4), as one queue: with few photos and several
 * workers, a single pass ends with one worker idle while the other finishes the last photo, which
 * an index run of thousands of photos does not see (with the six samples and 2 workers that tail
 * alone costs about a tenth). --passes 1 measures a single pass.
 *
 * Prints, for 1 worker and for N (default 2; runs interleaved), the median over R runs of the set:
 *   RESULT pipeline pack=NAME workers=W min_size=PX photos=N passes=P faces=F isa=... precision=...
 *          photos_per_s=... ms_per_photo=...   (faces: per pass; isa: oneDNN's effective
 *          instruction set, which ONEDNN_MAX_CPU_ISA caps; precision: what $FACESEARCH_PRECISION,
 *          else auto, resolves to on this CPU, bench/precision.h)
 *   RESULT pipeline_stages workers=1 decode_ms=... detect_ms=... landmarks_ms=... align_ms=...
 *          embed_ms=...   (per photo, landmarks/align/embed summed over its faces)
 * There is no peer in this benchmark: the runtime's own comparison with onnxruntime is in
 * bench/nn_vs_ort.sh; this one is about photos per second against the target (>= 30 with 2).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "facesearch.h"
#include "nn/nn.h" /* nn_cpu_isa_name: what the numbers were measured on */
#include "precision.h"

typedef struct shared {
    fs_engine *engine;
    fs_worker *workers[64]; /* kept across runs, as `facesearch index` keeps its workers */
    char **photos;
    int n_photos;
    int passes;             /* each run processes the photos this many times over */
    int next;
    pthread_mutex_t lock;
    fs_stage_times total;
    int failed;
} shared;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct task {
    shared *s;
    fs_worker *w;
    fs_stage_times before;
} task;

static void *work(void *arg)
{
    task *job = arg;
    shared *s = job->s;
    fs_worker *w = job->w;
    fs_error err;
    fs_worker_times(w, &job->before);
    for (;;) {
        pthread_mutex_lock(&s->lock);
        int i = s->next++;
        if (i >= s->n_photos * s->passes)
            i = s->n_photos; /* done */
        else
            i %= s->n_photos;
        pthread_mutex_unlock(&s->lock);
        if (i >= s->n_photos)
            break;
        fs_faces faces;
        if (fs_detect_file(w, s->photos[i], 1, &faces, &err) != FS_OK) {
            fprintf(stderr, "pipeline: %s\n", err.message);
            s->failed = 1;
            continue;
        }
        fs_faces_free(&faces);
    }
    fs_stage_times t, *b = &job->before;
    fs_worker_times(w, &t);
    pthread_mutex_lock(&s->lock);
    s->total.decode += t.decode - b->decode;
    s->total.detect += t.detect - b->detect;
    s->total.landmarks += t.landmarks - b->landmarks;
    s->total.align += t.align - b->align;
    s->total.embed += t.embed - b->embed;
    s->total.photos += t.photos - b->photos;
    s->total.faces += t.faces - b->faces;
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* One pass over all photos with n workers; returns seconds. Stage times accumulate in s. */
static double one_run(shared *s, int n)
{
    pthread_t threads[64];
    task jobs[64];
    s->next = 0;
    double t0 = now();
    for (int i = 0; i < n; i++) {
        jobs[i] = (task){.s = s, .w = s->workers[i]};
        pthread_create(&threads[i], NULL, work, &jobs[i]);
    }
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    return now() - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int runs = 5, max_workers = 2, first = 1, min_size = 20, passes = 4;
    const char *pack = "default";
    while (first < argc && argv[first][0] == '-') {
        if (first + 1 >= argc || strcmp(argv[first], "--help") == 0)
            first = argc; /* prints the usage below */
        else
        if (strcmp(argv[first], "--runs") == 0)
            runs = atoi(argv[first + 1]);
        else if (strcmp(argv[first], "--workers") == 0)
            max_workers = atoi(argv[first + 1]);
        else if (strcmp(argv[first], "--min-size") == 0)
            min_size = atoi(argv[first + 1]);
        else if (strcmp(argv[first], "--passes") == 0)
            passes = atoi(argv[first + 1]);
        else if (strcmp(argv[first], "--models") == 0)
            pack = argv[first + 1];
        first += 2;
    }
    if (first >= argc || runs < 1 || max_workers < 1 || max_workers > 64 || passes < 1) {
        fprintf(stderr, "usage: pipeline [--runs R] [--workers N] [--min-size PX] [--passes P] "
                        "[--models PACK] PHOTO...\n");
        return 2;
    }
    fs_engine_options o = {.min_face = min_size, .precision = bench_precision()};
    fs_engine *engine;
    fs_error err;
    if (fs_engine_open(pack, &o, &engine, &err) != FS_OK) {
        fprintf(stderr, "pipeline: %s\n", err.message);
        return 2;
    }
    shared s = {.engine = engine, .photos = argv + first, .n_photos = argc - first,
                .passes = passes};
    pthread_mutex_init(&s.lock, NULL);
    for (int i = 0; i < max_workers; i++) {
        if (fs_worker_new(engine, 1, &s.workers[i], &err) != FS_OK) {
            fprintf(stderr, "pipeline: %s\n", err.message);
            return 2;
        }
    }
    /* Warm-up, not timed: each worker plans its networks for these photo sizes once, as in a
     * long indexing run (planning costs ~100 ms per input size). */
    for (int i = 0; i < max_workers; i++) {
        for (int p = 0; p < s.n_photos; p++) {
            fs_faces faces;
            if (fs_detect_file(s.workers[i], s.photos[p], 1, &faces, &err) != FS_OK) {
                fprintf(stderr, "pipeline: %s\n", err.message);
                return 2;
            }
            fs_faces_free(&faces);
        }
    }
    /* 1 worker and max_workers, interleaved run by run so that both see the same machine load
     * (these machines are shared). Stage times are means over the 1-worker runs. */
    int counts[2] = {1, max_workers}, n_counts = max_workers > 1 ? 2 : 1;
    double *t[2] = {calloc((size_t)runs, sizeof(double)), calloc((size_t)runs, sizeof(double))};
    fs_stage_times stages = {0};
    size_t faces[2] = {0, 0};
    if (!t[0] || !t[1]) {
        fprintf(stderr, "pipeline: out of memory\n");
        return 2;
    }
    for (int r = 0; r < runs; r++) {
        for (int k = 0; k < n_counts; k++) {
            memset(&s.total, 0, sizeof s.total);
            t[k][r] = one_run(&s, counts[k]);
            faces[k] += s.total.faces;
            if (k == 0) {
                stages.decode += s.total.decode;
                stages.detect += s.total.detect;
                stages.landmarks += s.total.landmarks;
                stages.align += s.total.align;
                stages.embed += s.total.embed;
                stages.photos += s.total.photos;
            }
        }
    }
    for (int k = 0; k < n_counts; k++) {
        qsort(t[k], (size_t)runs, sizeof(double), cmp_double);
        double med = t[k][runs / 2];
        int done = s.n_photos * passes;
        printf("RESULT pipeline pack=%s workers=%d min_size=%d photos=%d passes=%d faces=%zu "
               "isa=%s precision=%s photos_per_s=%.1f ms_per_photo=%.1f\n",
               pack, counts[k], min_size, s.n_photos, passes, faces[k] / (size_t)runs / (size_t)passes,
               nn_cpu_isa_name(), fs_engine_precision(engine), done / med, 1000 * med / done);
    }
    double per = 1000.0 / (double)stages.photos;
    printf("RESULT pipeline_stages pack=%s workers=1 isa=%s precision=%s decode_ms=%.2f "
           "detect_ms=%.2f landmarks_ms=%.2f align_ms=%.2f embed_ms=%.2f\n", pack,
           nn_cpu_isa_name(), fs_engine_precision(engine), stages.decode * per,
           stages.detect * per, stages.landmarks * per, stages.align * per, stages.embed * per);
    if (n_counts == 2)
        printf("RESULT pipeline_scaling workers=%d isa=%s precision=%s speedup=%.2f\n", max_workers,
               nn_cpu_isa_name(), fs_engine_precision(engine), t[0][runs / 2] / t[1][runs / 2]);
    free(t[0]);
    free(t[1]);
    for (int i = 0; i < max_workers; i++)
        fs_worker_free(s.workers[i]);
    pthread_mutex_destroy(&s.lock);
    fs_engine_close(engine);
    return s.failed ? 1 : 0;
}
