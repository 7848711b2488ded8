/*
 * mpi_internal.h — what the files of src/mpi/ share: the MPI handle and an opened sharded
 * library (shards_mpi.c makes both), and the byte buffers in which lists and results go over
 * the wire (wire.c). Private to src/mpi; the rest of facesearch sees include/facesearch_mpi.h.
 */
#ifndef FS_MPI_INTERNAL_H
#define FS_MPI_INTERNAL_H

#include <stddef.h>

#include "facesearch_mpi.h"

struct fs_mpi {
    int rank, size;
    int serialized;            /* MPI may be called from any thread, one at a time */
};

/* The shards this rank searches, opened once for many searches. */
struct fs_mpi_library {
    fs_mpi *m;
    int count;                 /* shards of the library, from its manifest */
    fs_index **shards;         /* shards rank, rank + size, ... */
    int n_shards;
};

/* Fills err (code and message) and returns code. */
fs_status mpi_fail(fs_error *err, fs_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Seconds of a monotonic clock. */
double mpi_now(void);

/* Bytes being written: a failed growth sets nomem and drops what follows (checked once, at the
 * end). data is owned (free). */
typedef struct wbuf {
    unsigned char *data;
    size_t len, cap;
    int nomem;
} wbuf;

/* Bytes being read: reading past the end sets bad (and yields zeros). */
typedef struct rbuf {
    const unsigned char *p;
    size_t left;
    int bad;
} rbuf;

void wire_put(wbuf *w, const void *p, size_t n);
void wire_get(rbuf *r, void *p, size_t n);
/* A NUL-terminated string of the buffer, malloc'd; NULL when malformed or out of memory. */
char *wire_get_string(rbuf *r);
/* Matches without their embeddings: counts, then each match's numbers and path. */
void wire_put_matches(wbuf *w, const fs_matches *mt);
/* The matches wire_put_matches wrote, into *mt (owned by the caller; emptied on error:
 * FS_ERR_INTERNAL when malformed, FS_ERR_NOMEM). */
fs_status wire_get_matches(rbuf *r, fs_matches *mt, fs_error *err);

#endif
