/*
 * eval_accuracy.c — accuracy of the face pipeline on a labelled development set laid out like
 * shared/data/bbt: PERSON/xxx.png face crops (several per person) and group photos NAME.jpg with
 * group_labels.json ({"NAME": [{"box": [x1,y1,x2,y2], "person": "..."}], ...}).
 *
 *   eval_accuracy DATASET_DIR [--models PACK] [--threshold T] [--scores FILE]
 *
 * Prints RESULT lines (each names the pack):
 *   the crops: those with no face, faces found beyond the one each holds (junk: an eye, a lens);
 *   verification over all crop pairs (pairs=all) and over the hard ones (pairs=hard: impostors of
 *   the same group, when DATASET_DIR/people.txt gives "PERSON GROUP" lines, e.g. the gender):
 *   AUC, accuracy at the threshold (over all pairs, and balanced: the mean of the genuine pairs'
 *   and the impostors' accuracy), TAR at FAR 1%, best threshold;
 *   the recognizer's time per face (embed_ms_per_face, alignment included);
 *   rank-1 identification of each crop among the others;
 *   detection in the group photos: recall of labelled faces (IoU >= 0.5), false positives per image;
 *   search: for each person, the first crop as query against the group photos: cast appearances
 *   found at the threshold and false matches; the same with every face found in that crop as a
 *   query face (search --face all: junk faces of a close-up, an eye, match other people's eyes); and so against the other crops (a library of close-ups).
 * Group photos are optional (no group_labels.json: no detection or search lines). --scores FILE
 * writes every crop pair as "SAME HARD SIMILARITY" (scripts/calibrate-fusion.py reads it).
 * Not a test: it needs a data set that is not in the repository (scripts/fetch-devdata.sh).
 */
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facesearch.h"

#define MAX_PEOPLE 64
#define MAX_CROPS 1024
#define MAX_GROUPS 64
#define MAX_LABELS 64

typedef struct crop { int person; char path[1024]; fs_face face; int ok; fs_faces all; } crop;
static char person_group[MAX_PEOPLE][64]; /* from people.txt; "" when not given */
static const char *pack_name;
typedef struct label { float box[4]; char person[64]; } label;
typedef struct group { char name[64]; label labels[MAX_LABELS]; int n; fs_faces faces; } group;

static char people[MAX_PEOPLE][64];
static int n_people;
static crop crops[MAX_CROPS];
static int n_crops;
static group groups[MAX_GROUPS];
static int n_groups;

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void load_crops(const char *dir)
{
    struct dirent **top;
    int n = scandir(dir, &top, NULL, by_name);
    for (int i = 0; i < n; i++) {
        char sub[1024];
        snprintf(sub, sizeof sub, "%.700s/%.255s", dir, top[i]->d_name);
        struct dirent **files;
        int m = top[i]->d_name[0] == '.' ? -1 : scandir(sub, &files, NULL, by_name);
        if (m > 0 && n_people < MAX_PEOPLE) {
            int person = n_people;
            snprintf(people[n_people++], 64, "%.63s", top[i]->d_name);
            for (int j = 0; j < m; j++) {
                if (files[j]->d_name[0] != '.' && n_crops < MAX_CROPS) {
                    crops[n_crops].person = person;
                    snprintf(crops[n_crops++].path, 1024, "%.800s/%.200s", sub, files[j]->d_name);
                }
                free(files[j]);
            }
            free(files);
        } else if (m >= 0) {
            for (int j = 0; j < m; j++)
                free(files[j]);
            free(files);
        }
        free(top[i]);
    }
    free(top);
}

/* A small reader for group_labels.json: "NAME": [ {"box": [..4..], "person": "P"}, ... ]. */
static void load_labels(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return; /* no group photos */
    static char text[1 << 20];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = 0;
    char *p = text;
    group *g = NULL;
    while ((p = strchr(p, '"')) != NULL) {
        char key[64];
        char *end = strchr(p + 1, '"');
        if (!end)
            break;
        snprintf(key, sizeof key, "%.*s", (int)(end - p - 1), p + 1);
        p = end + 1;
        if (strcmp(key, "box") == 0 && g && g->n < MAX_LABELS) {
            p = strchr(p, '[') + 1;
            for (int k = 0; k < 4; k++)
                g->labels[g->n].box[k] = strtof(p, &p), p += strspn(p, " ,\n\r\t");
        } else if (strcmp(key, "person") == 0 && g) {
            p = strchr(p, '"') + 1;
            end = strchr(p, '"');
            snprintf(g->labels[g->n++].person, 64, "%.*s", (int)(end - p), p);
            p = end + 1;
        } else if (n_groups < MAX_GROUPS) {
            g = &groups[n_groups++];
            snprintf(g->name, sizeof g->name, "%s", key);
        }
    }
}

static float iou(const float a[4], const float b[4])
{
    float w = fminf(a[2], b[2]) - fmaxf(a[0], b[0]), h = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    if (w <= 0 || h <= 0)
        return 0;
    float i = w * h;
    return i / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i);
}

/* people.txt: "PERSON GROUP" lines; impostor pairs within a group are the hard ones. */
static void load_groups(const char *dir)
{
    char path[1100], name[256], grp[64];
    snprintf(path, sizeof path, "%.900s/people.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (fscanf(f, "%255s %63s", name, grp) == 2)
        for (int p = 0; p < n_people; p++)
            if (strcmp(people[p], name) == 0)
                snprintf(person_group[p], sizeof person_group[p], "%s", grp);
    fclose(f);
}

static int cmp_float_asc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* One verification line over genuine[ng] and impostor[ni] (sorted here). */
static void verify_line(const char *pairs, float *genuine, size_t ng, float *impostor, size_t ni,
                        float threshold)
{
    if (!ng || !ni)
        return;
    qsort(genuine, ng, sizeof *genuine, cmp_float_asc);
    qsort(impostor, ni, sizeof *impostor, cmp_float_asc);
    /* AUC = P(genuine > impostor), ties count half: one merge of the sorted lists */
    double auc = 0;
    size_t below = 0, equal = 0;
    for (size_t a = 0; a < ng; a++) {
        while (below < ni && impostor[below] < genuine[a])
            below++;
        equal = below;
        while (equal < ni && impostor[equal] == genuine[a])
            equal++;
        auc += below + 0.5 * (equal - below);
    }
    auc /= (double)ng * ni;
    size_t tp = 0, tn = 0;
    for (size_t a = 0; a < ng; a++)
        tp += genuine[a] >= threshold;
    for (size_t b = 0; b < ni; b++)
        tn += impostor[b] < threshold;
    /* the impostor score exceeded by 1% of impostors */
    float far_threshold = impostor[ni - 1 - (size_t)(ni * 0.01)];
    size_t tar = 0;
    for (size_t a = 0; a < ng; a++)
        tar += genuine[a] > far_threshold;
    /* the threshold with the best balanced accuracy on this set (for information) */
    float best_t = 0, best_acc = 0;
    for (float t = -0.2f; t <= 1.0f; t += 0.005f) {
        size_t g = 0, i = 0;
        for (size_t a = 0; a < ng; a++)
            g += genuine[a] >= t;
        for (size_t b = 0; b < ni; b++)
            i += impostor[b] < t;
        float acc = 0.5f * ((float)g / ng + (float)i / ni);
        if (acc > best_acc)
            best_acc = acc, best_t = t;
    }
    double im = 0, iv = 0, gm = 0, gv = 0;
    for (size_t b = 0; b < ni; b++)
        im += impostor[b];
    im /= (double)ni;
    for (size_t b = 0; b < ni; b++)
        iv += (impostor[b] - im) * (impostor[b] - im);
    for (size_t a = 0; a < ng; a++)
        gm += genuine[a];
    gm /= (double)ng;
    for (size_t a = 0; a < ng; a++)
        gv += (genuine[a] - gm) * (genuine[a] - gm);
    printf("RESULT verify pack=%s pairs=%s pairs_genuine=%zu pairs_impostor=%zu auc=%.4f "
           "acc_at_threshold=%.4f balanced_acc_at_threshold=%.4f threshold=%.3f tar_at_far1=%.4f "
           "best_threshold=%.3f best_balanced_acc=%.4f min_genuine=%.3f max_impostor=%.3f "
           "genuine_mean=%.3f genuine_sd=%.3f impostor_mean=%.3f impostor_sd=%.3f\n",
           pack_name, pairs, ng, ni, auc, (double)(tp + tn) / (ng + ni),
           0.5 * ((double)tp / ng + (double)tn / ni), threshold, (double)tar / ng, best_t,
           best_acc, genuine[0], impostor[ni - 1], gm, sqrt(gv / (double)ng), im,
           sqrt(iv / (double)ni));
}

static void verification(float threshold, const char *scores_path)
{
    static float genuine[MAX_CROPS * 64], impostor[MAX_CROPS * MAX_CROPS / 2];
    static float hard[MAX_CROPS * MAX_CROPS / 2];
    size_t ng = 0, ni = 0, nh = 0;
    FILE *scores = scores_path ? fopen(scores_path, "w") : NULL;
    if (scores_path && !scores)
        perror(scores_path);
    for (int i = 0; i < n_crops; i++)
        for (int j = i + 1; j < n_crops; j++) {
            if (!crops[i].ok || !crops[j].ok)
                continue;
            float s = fs_similarity(&crops[i].face, &crops[j].face);
            int pi = crops[i].person, pj = crops[j].person;
            int same = pi == pj;
            int is_hard = !same && person_group[pi][0] &&
                          strcmp(person_group[pi], person_group[pj]) == 0;
            if (same && ng < sizeof genuine / sizeof *genuine)
                genuine[ng++] = s;
            else if (!same && ni < sizeof impostor / sizeof *impostor)
                impostor[ni++] = s;
            if (is_hard && nh < sizeof hard / sizeof *hard)
                hard[nh++] = s;
            if (scores)
                fprintf(scores, "%d %d %.7f\n", same, is_hard, s);
        }
    if (scores)
        fclose(scores);
    verify_line("all", genuine, ng, impostor, ni, threshold);
    verify_line("hard", genuine, ng, hard, nh, threshold);
}

static void identification(void)
{
    int right = 0, total = 0;
    for (int i = 0; i < n_crops; i++) {
        if (!crops[i].ok)
            continue;
        int best = -1;
        float best_s = -2;
        for (int j = 0; j < n_crops; j++) {
            if (j == i || !crops[j].ok)
                continue;
            float s = fs_similarity(&crops[i].face, &crops[j].face);
            if (s > best_s)
                best_s = s, best = j;
        }
        total++;
        right += best >= 0 && crops[best].person == crops[i].person;
    }
    printf("RESULT identify pack=%s crops=%d rank1=%.4f\n", pack_name, total,
           (double)right / total);
}

/* Index of the labelled box a detection covers (IoU >= 0.5), or -1. */
static int label_of(const group *g, const fs_face *f)
{
    int best = -1;
    float best_iou = 0.5f;
    for (int k = 0; k < g->n; k++) {
        float v = iou(g->labels[k].box, f->box);
        if (v >= best_iou)
            best_iou = v, best = k;
    }
    return best;
}

static void detection(void)
{
    int found = 0, total = 0, false_pos = 0;
    for (int i = 0; i < n_groups; i++) {
        group *g = &groups[i];
        int hit[MAX_LABELS] = {0};
        for (size_t k = 0; k < g->faces.count; k++) {
            int l = label_of(g, &g->faces.faces[k]);
            if (l < 0)
                false_pos++;
            else
                hit[l] = 1;
        }
        for (int k = 0; k < g->n; k++) {
            total++;
            found += hit[k];
            if (!hit[k])
                printf("# missed %s face %d (%s)\n", g->name, k, g->labels[k].person);
        }
    }
    printf("RESULT detect labelled=%d recall=%.4f false_positives_per_image=%.2f\n", total,
           (double)found / total, (double)false_pos / n_groups);
}

/* all_faces: every face found in the query crop is a query face (search --face all), else its
 * largest. */
static void search(float threshold, int all_faces)
{
    int appearances = 0, found = 0, false_matches = 0;
    for (int p = 0; p < n_people; p++) {
        int q = 0;
        while (q < n_crops && crops[q].person != p)
            q++;
        if (q == n_crops || !crops[q].ok)
            continue;
        const fs_face *query = all_faces ? crops[q].all.faces : &crops[q].face;
        size_t n_query = all_faces ? crops[q].all.count : 1;
        for (int i = 0; i < n_groups; i++) {
            group *g = &groups[i];
            for (int k = 0; k < g->n; k++)
                appearances += strcmp(g->labels[k].person, people[p]) == 0;
            for (size_t f = 0; f < g->faces.count; f++) {
                float s = -2;
                for (size_t k = 0; k < n_query; k++)
                    s = fmaxf(s, fs_similarity(&query[k], &g->faces.faces[f]));
                if (s < threshold)
                    continue;
                int l = label_of(g, &g->faces.faces[f]);
                if (l >= 0 && strcmp(g->labels[l].person, people[p]) == 0)
                    found++;
                else {
                    false_matches++;
                    printf("# false match%s: %s in %s face %zu (%.3f)\n",
                           all_faces ? " (all faces)" : "", people[p], g->name, f, s);
                }
            }
        }
    }
    printf("RESULT %s appearances=%d found=%d false_matches=%d threshold=%.2f\n",
           all_faces ? "search_all_faces" : "search", appearances, found, false_matches, threshold);
}

/* search --face all in a library of close-ups: for each person, every face found in the first
 * crop as query faces against every face found in the other crops. A crop of the person is found
 * when one of its faces matches; a face of another person's crop that matches is a false match
 * (junk faces match: one eye looks much like another). */
static void search_crops(float threshold)
{
    int appearances = 0, found = 0, false_matches = 0;
    for (int p = 0; p < n_people; p++) {
        int q = 0;
        while (q < n_crops && crops[q].person != p)
            q++;
        if (q == n_crops || !crops[q].ok)
            continue;
        for (int i = 0; i < n_crops; i++) {
            if (i == q)
                continue;
            int same = crops[i].person == p, hit = 0;
            appearances += same;
            for (size_t f = 0; f < crops[i].all.count; f++) {
                float s = -2;
                for (size_t k = 0; k < crops[q].all.count; k++)
                    s = fmaxf(s, fs_similarity(&crops[q].all.faces[k], &crops[i].all.faces[f]));
                if (s < threshold)
                    continue;
                if (same)
                    hit = 1;
                else {
                    false_matches++;
                    printf("# false match (crops, all faces): %s in %s face %zu (%.3f)\n",
                           people[p], crops[i].path, f, s);
                }
            }
            found += hit;
        }
    }
    printf("RESULT search_crops_all_faces appearances=%d found=%d false_matches=%d "
           "threshold=%.2f\n", appearances, found, false_matches, threshold);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: eval_accuracy DATASET_DIR [--models PACK] [--threshold T] "
                        "[--scores FILE]\n");
        return 2;
    }
    const char *dir = argv[1], *pack = "default", *scores = NULL;
    float threshold = NAN;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--models") == 0)
            pack = argv[i + 1];
        else if (strcmp(argv[i], "--threshold") == 0)
            threshold = strtof(argv[i + 1], NULL);
        else if (strcmp(argv[i], "--scores") == 0)
            scores = argv[i + 1];
    }
    fs_engine *engine;
    fs_worker *worker;
    fs_error err;
    if (fs_engine_open(pack, NULL, &engine, &err) || fs_worker_new(engine, 0, &worker, &err)) {
        fprintf(stderr, "eval: %s\n", err.message);
        return 2;
    }
    if (isnan(threshold))
        threshold = fs_pack_threshold(fs_engine_pack(engine));
    pack_name = fs_pack_name(fs_engine_pack(engine));

    load_crops(dir);
    load_groups(dir);
    int missed = 0, extra = 0, with_extra = 0;
    for (int i = 0; i < n_crops; i++) {
        fs_faces *faces = &crops[i].all;
        if (fs_detect_file(worker, crops[i].path, 1, faces, &err) != FS_OK) {
            printf("# %s\n", err.message);
            continue;
        }
        long k = fs_faces_largest(faces);
        if (k >= 0) {
            crops[i].face = faces->faces[k];
            crops[i].ok = 1;
            extra += (int)faces->count - 1;
            with_extra += faces->count > 1;
            if (faces->count > 1)
                printf("# %zu faces in %s\n", faces->count, crops[i].path);
        } else {
            missed++;
            printf("# no face in %s\n", crops[i].path);
        }
    }
    /* a crop holds one face: the others are junk (an eye, a lens) */
    printf("RESULT crops pack=%s people=%d crops=%d no_face=%d extra_faces=%d "
           "crops_with_extra=%d\n", pack_name, n_people, n_crops, missed, extra, with_extra);
    fs_stage_times times;
    fs_worker_times(worker, &times);
    printf("RESULT speed pack=%s faces=%zu embed_ms_per_face=%.2f align_ms_per_face=%.2f\n",
           pack_name, (size_t)times.faces, 1e3 * times.embed / (double)times.faces,
           1e3 * times.align / (double)times.faces);

    char labels[1100];
    snprintf(labels, sizeof labels, "%.900s/group_labels.json", dir);
    load_labels(labels);
    for (int i = 0; i < n_groups; i++) {
        char path[1100];
        snprintf(path, sizeof path, "%.900s/%.63s.jpg", dir, groups[i].name);
        if (fs_detect_file(worker, path, 1, &groups[i].faces, &err) != FS_OK)
            printf("# %s\n", err.message);
    }
    verification(threshold, scores);
    identification();
    if (n_groups) {
        detection();
        search(threshold, 0);
        search(threshold, 1);
    }
    search_crops(threshold);
    for (int i = 0; i < n_groups; i++)
        fs_faces_free(&groups[i].faces);
    for (int i = 0; i < n_crops; i++)
        fs_faces_free(&crops[i].all);
    fs_worker_free(worker);
    fs_engine_close(engine);
    return 0;
}
