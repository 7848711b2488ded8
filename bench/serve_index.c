/*
 * serve_index.c — makes the index bench/serve.sh serves: N synthetic face-like embeddings (unit
 * vectors around identity centroids, ~10 faces per identity, as bench/search_scale.c) in files of
 * 4 faces named ROOT/pNNNNNNN.jpg (the files need not exist: search by id never reads them),
 * recorded for the model pack PACK so that `facesearch serve --models PACK` opens it, then the
 * vector files (and the graph of a large library) are built. Prints the face ids' range.
 * PER_ID (default 10) faces share an identity: N makes them all one person (every face matches
 * every other: the page's test of a gallery of thousands, test_serve_page_many.sh).
 * With FIRST (an index of FIRST faces made by this tool before, with the same PER_ID), it adds
 * the faces FIRST .. N-1 in new files instead, each of an identity already there (the generator
 * is replayed to find their centroids): new photos of known people, as `people update` meets
 * them after an index run (bench/people_update_scale.sh).
 * With K/S (bench/shards.sh), DB_DIR is a sharded library of S shards (its manifest made or
 * checked) and only the files whose number is K modulo S are written, into its shard K: the S
 * shards together hold the faces of the one index made without K/S. Each file has a content of
 * its own (a made-up sha256), so that the user's people decisions can be kept about its faces.
 * Usage: serve_index DB_DIR ROOT N [PACK [PER_ID [FIRST [K/S]]]]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face/face.h"
#include "store/store.h"
#include "synth.h"

#define DIM 512 /* the embedding length of the packs it is for (default, insightface) */
#define PER_FILE 4
#define NOISE 0.029f
#define KEPT_IDS 512 /* known identities the added faces are drawn from */

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s DB_DIR ROOT N [PACK [PER_ID [FIRST]]]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1], *root = argv[2], *pack_name = argc > 4 ? argv[4] : "default";
    long n = atol(argv[3]), per_id = argc > 5 ? atol(argv[5]) : 10;
    long first = argc > 6 ? atol(argv[6]) : 0;
    int shard = 0, shards = 1;
    if (argc > 7 && (sscanf(argv[7], "%d/%d", &shard, &shards) != 2 || shards < 1 ||
                     shard < 0 || shard >= shards)) {
        fprintf(stderr, "serve_index: K/S: shard K of S shards, 0 <= K < S\n");
        return 2;
    }
    if (n <= 0 || per_id <= 0) {
        fprintf(stderr, "serve_index: N and PER_ID must be positive\n");
        return 2;
    }
    if (first < 0 || first % PER_FILE || (first && first / per_id < KEPT_IDS) || n <= first) {
        fprintf(stderr, "serve_index: FIRST: a multiple of %d below N, from %d identities\n",
                PER_FILE, KEPT_IDS);
        return 2;
    }
    fs_error err;
    fs_engine *engine;
    if (fs_engine_open(pack_name, NULL, &engine, &err) != FS_OK) {
        fprintf(stderr, "serve_index: %s\n", err.message);
        return 2;
    }
    if (fs_engine_embedding_dim(engine) != DIM) {
        fprintf(stderr, "serve_index: pack %s has %d-float embeddings, not %d\n", pack_name,
                fs_engine_embedding_dim(engine), DIM);
        fs_engine_close(engine);
        return 2;
    }
    const fs_pack *pack = fs_engine_pack(engine);
    size_t nf = fs_pack_file_count(pack);
    const char *names[16], *hashes[16];
    for (size_t i = 0; i < nf && i < 16; i++) {
        names[i] = fs_pack_file_name(pack, i);
        hashes[i] = fs_pack_file_sha256(pack, i);
    }
    store_pack_id id = {.name = fs_pack_name(pack), .file_count = nf < 16 ? nf : 16,
                        .file_names = names, .file_sha256 = hashes, .embedding_dim = DIM,
                        .pipeline = FS_PIPELINE_VERSION};
    store_db *st;
    char shard_dir[4096];
    if (argc > 7) {
        if (fs_shards_create(dir, fs_pack_name(pack), shards, &err) != FS_OK ||
            fs_shard_dir(dir, shard, shard_dir, sizeof shard_dir, &err) != FS_OK) {
            fprintf(stderr, "serve_index: %s\n", err.message);
            return 2;
        }
        dir = shard_dir;
    }
    int64_t refresh;
    if (store_open(dir, &id, first ? FS_STORE_WRITE : FS_STORE_CREATE, &st, &err) != FS_OK ||
        store_face_floor(st, face_engine_floor(engine), &refresh, &err) != FS_OK) {
        fprintf(stderr, "serve_index: %s\n", err.message);
        return 2;
    }
    static float centroid[DIM], emb[PER_FILE][DIM], kept[KEPT_IDS][DIM];
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    /* adding: replay the first faces' draws, keeping KEPT_IDS centroids spread over them */
    long ids = first / per_id, stride = ids / KEPT_IDS;
    for (long face = 0; face < first; face++) {
        if (face % per_id == 0) {
            for (int d = 0; d < DIM; d++)
                centroid[d] = synth_gauss(&seed);
            synth_normalise(centroid, DIM);
            long idn = face / per_id;
            if (idn % stride == 0 && idn / stride < KEPT_IDS)
                memcpy(kept[idn / stride], centroid, sizeof centroid);
        }
        for (int d = 0; d < DIM; d++)
            (void)synth_gauss(&seed);
    }
    store_face faces[PER_FILE];
    fs_status rc = store_begin(st, &err);
    for (long f = first / PER_FILE; rc == FS_OK && f * PER_FILE < n; f++) {
        for (int k = 0; k < PER_FILE; k++) {
            long face = f * PER_FILE + k;
            if (first) { /* the four faces of a photo: four different known identities */
                memcpy(centroid, kept[(face - first) % KEPT_IDS], sizeof centroid);
            } else if (face % per_id == 0) {
                for (int d = 0; d < DIM; d++)
                    centroid[d] = synth_gauss(&seed);
                synth_normalise(centroid, DIM);
            }
            for (int d = 0; d < DIM; d++)
                emb[k][d] = centroid[d] + NOISE * synth_gauss(&seed);
            synth_normalise(emb[k], DIM);
            faces[k] = (store_face){.face_index = k,
                                    .box = {10.0f + 60 * k, 10, 60.0f + 60 * k, 70},
                                    .score = 0.99f, .quality = 0.9f, .embedding = emb[k]};
        }
        if (f % shards != shard)
            continue; /* another shard's (its draws were made: the faces are the same) */
        char path[4096], sha[65];
        snprintf(path, sizeof path, "%s/p%07ld.jpg", root, f);
        snprintf(sha, sizeof sha, "%064lx", f); /* a content of its own: decisions can be kept */
        rc = store_put_file(st, path, 1000, 1, sha, faces, PER_FILE, NULL, &err);
        if (rc == FS_OK && f % 2000 == 1999)
            rc = store_commit(st, &err) == FS_OK ? store_begin(st, &err) : FS_ERR_IO;
    }
    if (rc == FS_OK)
        rc = store_commit(st, &err);
    if (rc == FS_OK)
        rc = store_sync_vectors(st, &err);
    store_close(st);
    fs_engine_close(engine);
    if (rc) {
        fprintf(stderr, "serve_index: %s\n", err.message);
        return 2;
    }
    printf("%ld\n", ((n + PER_FILE - 1) / PER_FILE) * PER_FILE - first);
    return 0;
}
