/*
 * people_mpi.c — the people of a sharded library over MPI (include/facesearch_mpi.h). Grouping
 * and reading them are libfacesearch's (src/people/units.c, src/shard/people.c); this file moves
 * the units and faces between the ranks.
 *
 * An update: rank 0 broadcasts the units the library's file names (fs_library_people_known);
 * every rank groups the people of its shards (fs_people_update) and sends rank 0 their units
 * (mpi_report_send), with the renames of the known units its shards hold under other keys now
 * (fs_people_units_follow); rank 0 groups the units across the shards into the library's
 * persons (fs_library_people_update) and broadcasts the outcome.
 * A person's faces: rank 0 finds the person and its members in DIR/people.db and broadcasts
 * them; every rank reads the faces of the members in its shards and sends them, with library
 * ids, to rank 0, which puts them best quality first and broadcasts the outcome. The unsure
 * faces: every rank sends those of its shards, gathered the same way.
 */
#include "mpi_internal.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

enum { TAG_UNITS = 101, TAG_PERSON_FACES, TAG_UNSURE };

/* ---- Updating ----------------------------------------------------------------------------- */

/* Appends the renames of from to *to's. */
static fs_status move_renames(fs_people_units *to, fs_people_units *from, fs_error *err)
{
    if (from->n_renames == 0)
        return FS_OK;
    fs_unit_rename *grown =
        realloc(to->renames, (to->n_renames + from->n_renames) * sizeof *grown);
    if (!grown)
        return mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    memcpy(grown + to->n_renames, from->renames, from->n_renames * sizeof *grown);
    to->renames = grown;
    to->n_renames += from->n_renames;
    from->n_renames = 0;
    return FS_OK;
}

/* Appends the units of from to *to, moving them (from keeps none). */
static fs_status move_units(fs_people_units *to, fs_people_units *from, fs_error *err)
{
    if (move_renames(to, from, err) != FS_OK)
        return err->code;
    if (from->count == 0) {
        to->unsure += from->unsure;
        to->unseen += from->unseen;
        return FS_OK;
    }
    if (to->count && to->dim != from->dim)
        return mpi_fail(err, FS_ERR_ARG, "shards with embeddings of %d and %d dimensions",
                        to->dim, from->dim);
    size_t total = to->count + from->count, dim = (size_t)from->dim;
    fs_people_unit *items = realloc(to->items, total * sizeof *items);
    if (items)
        to->items = items;
    int8_t *codes = items ? realloc(to->codes, total * dim * sizeof *codes) : NULL;
    if (codes)
        to->codes = codes;
    float *scales = codes ? realloc(to->scales, total * sizeof *scales) : NULL;
    if (!scales)
        return mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    to->scales = scales;
    memcpy(to->items + to->count, from->items, from->count * sizeof *items);
    memcpy(to->codes + to->count * dim, from->codes, from->count * dim * sizeof *codes);
    memcpy(to->scales + to->count, from->scales, from->count * sizeof *scales);
    to->count = total;
    to->dim = from->dim;
    from->count = 0; /* their strings are to's now */
    to->unsure += from->unsure;
    to->unseen += from->unseen;
    return FS_OK;
}

/* This rank's shards (k = rank, rank + size, ...): their people grouped, their units appended
 * to *units with the renames of the library's known units (n of them) and their summaries added
 * to *sum. */
static fs_status update_own(const fs_mpi *m, fs_engine *engine, const char *dir, int count,
                            int wait, const fs_people_options *opt, const fs_library_known *known,
                            size_t n, fs_people_units *units, fs_people_summary *sum,
                            fs_error *err)
{
    fs_people_options o = *opt;
    if (m->rank != 0)
        o.on_progress = NULL; /* progress is shown by rank 0, of its own shards */
    fs_status rc = FS_OK;
    for (int k = m->rank; k < count && rc == FS_OK; k += m->size) {
        char shard[PATH_MAX];
        fs_index *ix = NULL;
        fs_people_summary s;
        fs_people_units mine = {0};
        rc = fs_shard_dir(dir, k, shard, sizeof shard, err);
        if (rc == FS_OK)
            rc = fs_index_open(shard, engine,
                               FS_INDEX_WRITE | FS_INDEX_EXISTING | (wait ? FS_INDEX_WAIT : 0),
                               &ix, err);
        if (rc == FS_OK)
            rc = fs_people_update(ix, &o, &s, err);
        if (rc == FS_OK) {
            sum->faces += s.faces;
            sum->grouped += s.grouped;
            sum->unsure += s.unsure;
            rc = fs_people_units_get(ix, &mine, err);
        }
        if (rc == FS_OK)
            rc = fs_people_units_follow(ix, k, known, n, &mine, err);
        fs_index_close(ix);
        for (size_t i = 0; i < mine.count; i++)
            mine.items[i].shard = k;
        if (rc == FS_OK)
            rc = move_units(units, &mine, err);
        fs_people_units_free(&mine);
    }
    return rc;
}

fs_status mpi_people_group_shards(const fs_mpi *m, const char *dir, int count,
                                 const fs_people_options *opt, const fs_library_known *known,
                                 size_t n, fs_people_units *units, fs_people_summary *sum,
                                 float *search_threshold, fs_error *err)
{
    fs_shards_info info;
    fs_engine *engine = NULL;
    fs_engine_options eo = {.threads = 1}; /* only the pack: grouping runs no network */
    fs_status rc = fs_shards_open(dir, &info, err);
    if (rc == FS_OK)
        rc = fs_engine_open(info.pack, &eo, &engine, err);
    if (rc == FS_OK) {
        *search_threshold = fs_pack_threshold(fs_engine_pack(engine));
        rc = update_own(m, engine, dir, count, 0, opt, known, n, units, sum, err);
    }
    fs_engine_close(engine);
    return rc;
}

fs_status fs_mpi_people_update(fs_mpi *m, fs_engine *engine, const char *dir, int wait,
                               const fs_people_options *opt, fs_people_summary *summary,
                               fs_error *err)
{
    fs_error local = {0};
    if (!err)
        err = &local;
    fs_people_options def = {0};
    if (!opt)
        opt = &def;
    double t0 = mpi_now();
    fs_people_summary sum = {0};
    if (summary)
        memset(summary, 0, sizeof *summary);
    fs_shards_info info = {0};
    unsigned char *piece = NULL; /* rank 0: the other ranks' reports */
    fs_status rc = m->rank == 0 ? fs_shards_open(dir, &info, err) : FS_OK;
    if (rc == FS_OK && m->rank == 0 && !(piece = malloc(MPI_REPORT_MAX)))
        rc = mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    if (mpi_agree(m, rc, err) != FS_OK) {
        free(piece);
        return err->code;
    }
    MPI_Bcast(&info.count, 1, MPI_INT, 0, MPI_COMM_WORLD);

    /* the units the library's file names, for every rank to follow in its shards */
    fs_library_known *known = NULL;
    size_t n_known = 0;
    wbuf kw = {0};
    rc = m->rank == 0 ? fs_library_people_known(dir, &known, &n_known, err) : FS_OK;
    if (m->rank == 0 && rc == FS_OK)
        wire_put_known(&kw, known, n_known);
    free(known);
    known = NULL;
    if (mpi_bcast_bytes(m, &kw, rc, err) != FS_OK) {
        free(kw.data);
        free(piece);
        return err->code;
    }
    rbuf kr = {.p = kw.data, .left = kw.len};
    rc = wire_get_known(&kr, &known, &n_known, err);
    free(kw.data);

    fs_people_units units = {0};
    if (rc == FS_OK && !engine)
        rc = mpi_fail(err, FS_ERR_ARG, "grouping people needs the library's pack");
    if (rc == FS_OK)
        rc = update_own(m, engine, dir, info.count, wait, opt, known, n_known, &units, &sum,
                        err);
    free(known);
    if (m->rank != 0) {
        wbuf w = {0};
        mpi_report_begin(&w);
        wire_put(&w, &sum, sizeof sum);
        wire_put_units(&w, &units);
        mpi_report_send(TAG_UNITS, rc, err, &w);
    } else {
        for (int r = 1; r < m->size; r++) {
            unsigned char *bytes = NULL;
            size_t len = 0;
            fs_error theirs = {0};
            fs_status got = mpi_report_receive(piece, r, TAG_UNITS, &bytes, &len, &theirs);
            fs_people_summary s;
            rbuf rb = {.p = bytes, .left = len};
            if (got == FS_OK) {
                wire_get(&rb, &s, sizeof s);
                got = rb.bad ? mpi_fail(&theirs, FS_ERR_INTERNAL, "malformed people units")
                             : wire_get_units(&rb, &units, &theirs);
            }
            free(bytes);
            if (got == FS_OK) {
                sum.faces += s.faces;
                sum.grouped += s.grouped;
                sum.unsure += s.unsure;
            } else if (rc == FS_OK) {
                rc = got;
                *err = theirs;
            }
        }
        free(piece);
        fs_people_summary lib;
        if (rc == FS_OK)
            rc = fs_library_people_update(dir, &units, opt->threshold,
                                          fs_pack_threshold(fs_engine_pack(engine)), &lib, err);
        if (rc == FS_OK) {
            sum.people = lib.people;
            sum.new_people = lib.new_people;
            sum.edits_dropped = lib.edits_dropped;
        }
    }
    fs_people_units_free(&units);
    fs_error outcome = {.code = rc};
    if (m->rank == 0 && rc != FS_OK)
        outcome = *err;
    MPI_Bcast(&outcome, (int)sizeof outcome, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (outcome.code != FS_OK) {
        *err = outcome;
        return outcome.code;
    }
    sum.seconds = mpi_now() - t0;
    if (summary && m->rank == 0)
        *summary = sum;
    return FS_OK;
}

/* ---- A person's faces --------------------------------------------------------------------- */

/* Appends the faces of from to *to, moving them (from keeps none). */
static fs_status move_faces(fs_person_faces *to, fs_person_faces *from, fs_error *err)
{
    if (from->count == 0)
        return FS_OK;
    fs_person_face *items = realloc(to->items, (to->count + from->count) * sizeof *items);
    if (!items)
        return mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    to->items = items;
    memcpy(to->items + to->count, from->items, from->count * sizeof *items);
    to->count += from->count;
    from->count = 0; /* their paths are to's now */
    return FS_OK;
}

fs_status mpi_member_faces(const fs_mpi_library *lib, const fs_library_member *members,
                           size_t n, fs_person_faces *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    int64_t *ids = malloc((n ? n : 1) * sizeof *ids);
    fs_status rc = ids ? FS_OK : mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    for (int i = 0; i < lib->n_shards && rc == FS_OK; i++) {
        int k = lib->m->rank + i * lib->m->size;
        size_t n_ids = 0, from = out->count;
        for (size_t j = 0; j < n && rc == FS_OK; j++) {
            if (members[j].shard != k)
                continue;
            if (members[j].person_id == 0) {
                ids[n_ids++] = members[j].face_id;
                continue;
            }
            fs_person_faces part;
            rc = fs_person_faces_get(lib->shards[i], members[j].person_id, &part, err);
            for (size_t f = 0; rc == FS_OK && f < part.count; f++)
                part.items[f].person_id = members[j].person_id; /* the unit's, as it was kept */
            if (rc == FS_OK)
                rc = move_faces(out, &part, err);
            fs_person_faces_free(&part);
        }
        if (rc == FS_OK && n_ids) {
            fs_person_faces part;
            rc = fs_person_faces_by_ids(lib->shards[i], ids, n_ids, &part, err);
            for (size_t f = 0; rc == FS_OK && f < part.count; f++)
                part.items[f].person_id = 0; /* units of one face, as they were kept */
            if (rc == FS_OK)
                rc = move_faces(out, &part, err);
            fs_person_faces_free(&part);
        }
        for (size_t j = from; j < out->count; j++) {
            out->items[j].face_id = fs_library_id(out->items[j].face_id, k, lib->count);
            out->items[j].photo_id = fs_library_id(out->items[j].photo_id, k, lib->count);
        }
    }
    free(ids);
    if (rc != FS_OK)
        fs_person_faces_free(out);
    return rc;
}

/* Rank 0 gets every rank's faces (mine, rc: this rank's outcome; mine is consumed) into *out,
 * best quality first; the outcome is collective (*out emptied on failure, filled on rank 0
 * alone). */
static fs_status gather_faces(const fs_mpi_library *lib, int tag, fs_status rc,
                              fs_person_faces *mine, fs_person_faces *out, fs_error *err)
{
    const fs_mpi *m = lib->m;
    memset(out, 0, sizeof *out);
    if (m->rank != 0) {
        wbuf r = {0};
        mpi_report_begin(&r);
        if (rc == FS_OK)
            wire_put_person_faces(&r, mine);
        mpi_report_send(tag, rc, err, &r);
        fs_person_faces_free(mine);
    } else {
        *out = *mine;
        memset(mine, 0, sizeof *mine);
        for (int r = 1; r < m->size; r++) {
            unsigned char *bytes;
            size_t len;
            fs_error theirs = {0};
            fs_status got = mpi_report_receive(lib->piece, r, tag, &bytes, &len, &theirs);
            rbuf in = {.p = bytes, .left = len};
            if (got == FS_OK && rc == FS_OK)
                got = wire_get_person_faces(&in, out, &theirs);
            free(bytes);
            if (got != FS_OK && rc == FS_OK) {
                rc = got;
                *err = theirs;
            }
        }
        if (rc == FS_OK)
            fs_person_faces_sort(out);
        else
            fs_person_faces_free(out);
    }
    fs_error outcome = {.code = rc};
    if (m->rank == 0 && rc != FS_OK)
        outcome = *err;
    MPI_Bcast(&outcome, (int)sizeof outcome, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (outcome.code != FS_OK) {
        *err = outcome;
        fs_person_faces_free(out);
        return outcome.code;
    }
    return FS_OK;
}

fs_status fs_mpi_person_faces(fs_mpi_library *lib, const char *key, fs_person *person,
                              fs_person_faces *out, fs_error *err)
{
    fs_error local = {0};
    if (!err)
        err = &local;
    const fs_mpi *m = lib->m;
    memset(out, 0, sizeof *out);
    if (person)
        memset(person, 0, sizeof *person);
    fs_person found = {0};
    fs_library_member *members = NULL;
    size_t n = 0;
    wbuf w = {0};
    fs_status rc = FS_OK;
    if (m->rank == 0) {
        rc = fs_library_person_find(lib->dir, key ? key : "", &found, &members, &n, err);
        uint64_t count = n;
        wire_put(&w, &count, sizeof count);
        wire_put(&w, members, n * sizeof *members);
        free(members);
        members = NULL;
    }
    rc = mpi_bcast_bytes(m, &w, rc, err);
    uint64_t count = 0;
    rbuf rb = {.p = w.data, .left = w.len};
    if (rc == FS_OK) {
        wire_get(&rb, &count, sizeof count);
        if (rb.bad || count != rb.left / sizeof *members || rb.left % sizeof *members)
            rc = mpi_fail(err, FS_ERR_INTERNAL, "malformed members of a person");
    }
    if (rc != FS_OK) { /* the same on every rank */
        free(w.data);
        fs_person_clear(&found);
        return rc;
    }

    fs_person_faces mine;
    rc = mpi_member_faces(lib, (const fs_library_member *)rb.p, (size_t)count, &mine, err);
    free(w.data);
    rc = gather_faces(lib, TAG_PERSON_FACES, rc, &mine, out, err);
    if (rc != FS_OK) {
        fs_person_clear(&found);
        return rc;
    }
    if (person && m->rank == 0)
        *person = found;
    else
        fs_person_clear(&found);
    return FS_OK;
}

/* ---- Unsure faces ------------------------------------------------------------------------- */

fs_status mpi_unsure_faces(const fs_mpi_library *lib, fs_person_faces *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    fs_status rc = FS_OK;
    for (int i = 0; i < lib->n_shards && rc == FS_OK; i++) {
        int k = lib->m->rank + i * lib->m->size;
        fs_person_faces part;
        rc = fs_people_unsure(lib->shards[i], &part, err);
        for (size_t j = 0; rc == FS_OK && j < part.count; j++) {
            part.items[j].face_id = fs_library_id(part.items[j].face_id, k, lib->count);
            part.items[j].photo_id = fs_library_id(part.items[j].photo_id, k, lib->count);
        }
        if (rc == FS_OK)
            rc = move_faces(out, &part, err);
        fs_person_faces_free(&part);
    }
    if (rc != FS_OK)
        fs_person_faces_free(out);
    return rc;
}

fs_status fs_mpi_people_unsure(fs_mpi_library *lib, fs_person_faces *out, fs_error *err)
{
    fs_error local = {0};
    if (!err)
        err = &local;
    fs_person_faces mine;
    fs_status rc = mpi_unsure_faces(lib, &mine, err);
    rc = gather_faces(lib, TAG_UNSURE, rc, &mine, out, err);
    if (rc != FS_OK)
        return rc;
    /* the faces the user placed in a library person are no longer unsure (rank 0's answer; the
     * outcome is every rank's) */
    if (lib->m->rank == 0)
        rc = fs_library_people_unplaced(lib->dir, out, err);
    rc = mpi_agree(lib->m, rc, err);
    if (rc != FS_OK)
        fs_person_faces_free(out);
    return rc;
}
