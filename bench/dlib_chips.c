/*
 * dlib_chips.c — our side of scripts/dlib-check.sh: for every face the dlib pack finds in each
 * image, writes the 150 x 150 chip it gives dlib's recognizer (raw RGB bytes, OUTDIR/N.rgb, N
 * counting faces from 0) and prints "N IMAGE e0 ... e127": our runtime's embedding of that chip.
 * dlib's own network is then run on the same chips and the two compared.
 *
 *   dlib_chips OUTDIR IMAGE...        (uses the "dlib" pack of the data folder)
 *   dlib_chips OUTDIR --at X1,Y1,...,X5,Y5 IMAGE
 *
 * --at: one chip, cut at the given five landmarks instead of the faces found (how the reference
 * values of tests/unit/test_dlib_pack.c were made: a chip that does not depend on the detector).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face/pipeline.h"
#include "image/image.h"
#include "util/error.h"

static int save_chip(const img_rgb *chip, const char *dir, int n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%d.rgb", dir, n);
    FILE *f = fopen(path, "wb");
    size_t bytes = (size_t)chip->width * chip->height * 3;
    int bad = !f || fwrite(chip->rgb, 1, bytes, f) != bytes;
    if (f && fclose(f))
        bad = 1;
    return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: dlib_chips OUTDIR IMAGE...\n");
        return 2;
    }
    fs_error err = {0};
    fs_engine *engine = NULL;
    fs_worker *w = NULL;
    if (fs_engine_open("dlib", &(fs_engine_options){.threads = 1}, &engine, &err) ||
        fs_worker_new(engine, 1, &w, &err)) {
        fprintf(stderr, "dlib_chips: %s\n", err.message);
        return 1;
    }
    int n = 0, status = 0, first = 2;
    float at[10];
    int use_at = argc == 5 && strcmp(argv[2], "--at") == 0;
    if (use_at) {
        char *p = argv[3];
        for (int k = 0; k < 10; k++, p += *p == ',')
            at[k] = strtof(p, &p);
        first = 4;
    }
    for (int a = first; a < argc && !status; a++) {
        fs_faces faces = {0};
        fs_face given = {0};
        img_rgb img = {0};
        if ((!use_at && fs_detect_file(w, argv[a], 1, &faces, &err)) ||
            img_load(argv[a], NULL, &img, NULL, NULL, NULL, &err)) {
            fprintf(stderr, "dlib_chips: %s\n", err.message);
            status = 1;
        }
        if (use_at && !status) { /* one face, at the given landmarks */
            faces.faces = &given;
            faces.count = 1;
            memcpy(given.landmarks, at, sizeof at);
            if (face_embed(w, &img, at, given.embedding, &err)) {
                fprintf(stderr, "dlib_chips: %s\n", err.message);
                status = 1;
            }
        }
        for (size_t i = 0; !status && i < faces.count; i++, n++) {
            img_rgb chip = {0};
            if (face_align_to(&img, faces.faces[i].landmarks, face_dlib_template,
                              FS_DLIB_CHIP_SIZE, &chip, &err) || save_chip(&chip, argv[1], n)) {
                fprintf(stderr, "dlib_chips: %s: cannot write chip %d\n", argv[a], n);
                status = 1;
            }
            img_free(&chip);
            printf("%d %s", n, argv[a]);
            for (int k = 0; k < fs_engine_embedding_dim(engine); k++)
                printf(" %.9g", faces.faces[i].embedding[k]);
            printf("\n");
        }
        img_free(&img);
        if (!use_at)
            fs_faces_free(&faces);
    }
    fs_worker_free(w);
    fs_engine_close(engine);
    return status;
}
