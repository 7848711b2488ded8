/*
 * collective.c — how the ranks agree and pass bytes, for the runs of shards_mpi.c and
 * people_mpi.c: a status made collective (mpi_agree), rank 0's bytes to every rank
 * (mpi_bcast_bytes), and each other rank's status and bytes to rank 0, in pieces, point to point
 * (mpi_report_send, mpi_report_receive: no collective is spent on agreeing on statuses).
 */
#include "mpi_internal.h"

#include <limits.h>
#include <mpi.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Makes a status collective: when any rank failed, every rank returns the failure (code and
 * message) of the lowest failing rank. */
fs_status mpi_agree(const fs_mpi *m, fs_status rc, fs_error *err)
{
    int mine = rc != FS_OK ? m->rank : m->size, first;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == m->size)
        return FS_OK;
    MPI_Bcast(err, (int)sizeof *err, MPI_BYTE, first, MPI_COMM_WORLD);
    return err->code;
}

/* Broadcasts rank 0's bytes (w) to every rank (into w); collective status. */
fs_status mpi_bcast_bytes(const fs_mpi *m, wbuf *w, fs_status rc, fs_error *err)
{
    uint64_t len = rc == FS_OK && !w->nomem ? w->len : UINT64_MAX;
    MPI_Bcast(&len, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    if (len == UINT64_MAX) {
        fs_status mine = FS_OK;
        if (m->rank == 0)
            mine = rc ? rc : mpi_fail(err, FS_ERR_NOMEM, "out of memory");
        return mpi_agree(m, mine, err);
    }
    if (len > INT_MAX)
        return mpi_agree(m, mpi_fail(err, FS_ERR_LIMIT, "%llu bytes: too many photos for one broadcast",
                             (unsigned long long)len), err);
    if (m->rank != 0) {
        w->len = w->cap = (size_t)len;
        w->data = len ? malloc((size_t)len) : NULL;
    }
    int ok = !len || w->data;
    if (mpi_agree(m, ok ? FS_OK : mpi_fail(err, FS_ERR_NOMEM, "out of memory"), err) != FS_OK)
        return err->code;
    if (len)
        MPI_Bcast(w->data, (int)len, MPI_BYTE, 0, MPI_COMM_WORLD);
    return FS_OK;
}

void mpi_report_begin(wbuf *w)
{
    mpi_report report = {{0}, 0};
    wire_put(w, &report, sizeof report);
}

void mpi_report_send(int tag, fs_status rc, const fs_error *err, wbuf *w)
{
    mpi_report report = {.err = {.code = FS_OK}};
    if (rc != FS_OK)
        report.err = *err;
    else if (w->nomem || w->len < sizeof report)
        mpi_fail(&report.err, FS_ERR_NOMEM, "out of memory");
    if (report.err.code != FS_OK) { /* a failure: the report alone */
        free(w->data);
        *w = (wbuf){0};
        MPI_Send(&report, (int)sizeof report, MPI_BYTE, 0, tag, MPI_COMM_WORLD);
        return;
    }
    report.bytes = w->len - sizeof report;
    memcpy(w->data, &report, sizeof report);
    size_t at = 0, piece = MPI_REPORT_MAX;
    while (at < w->len) {
        size_t n = w->len - at < piece ? w->len - at : piece;
        MPI_Send(w->data + at, (int)n, MPI_BYTE, 0, tag, MPI_COMM_WORLD);
        at += n;
        piece = MPI_PIECE;
    }
    free(w->data);
    *w = (wbuf){0};
}

fs_status mpi_report_receive(unsigned char *piece, int r, int tag, unsigned char **bytes,
                             size_t *len, fs_error *err)
{
    *bytes = NULL;
    *len = 0;
    MPI_Status st;
    int got;
    MPI_Recv(piece, (int)MPI_REPORT_MAX, MPI_BYTE, r, tag, MPI_COMM_WORLD, &st);
    MPI_Get_count(&st, MPI_BYTE, &got);
    mpi_report report;
    if (got < (int)sizeof report)
        return mpi_fail(err, FS_ERR_INTERNAL, "malformed report from rank %d", r);
    memcpy(&report, piece, sizeof report);
    if (report.err.code != FS_OK) {
        *err = report.err;
        err->message[sizeof err->message - 1] = '\0';
        return err->code;
    }
    size_t have = (size_t)got - sizeof report;
    if (report.bytes < have || report.bytes > SIZE_MAX / 2)
        return mpi_fail(err, FS_ERR_INTERNAL, "malformed report from rank %d", r);
    unsigned char *all = malloc(report.bytes ? report.bytes : 1);
    if (all)
        memcpy(all, piece + sizeof report, have);
    while (have < report.bytes) { /* every piece is received, with room for it or not */
        size_t n = report.bytes - have < MPI_PIECE ? report.bytes - have : MPI_PIECE;
        MPI_Recv(all ? all + have : piece, (int)n, MPI_BYTE, r, tag, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        have += n;
    }
    if (!all)
        return mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    *bytes = all;
    *len = (size_t)report.bytes;
    return FS_OK;
}
