/*
 * api_people.c — people (faces grouped into persons) from the API, on the public fs_people_*
 * functions: GET /api/v1/people (every person: id, name, counts, representative face), GET
 * /api/v1/people/{id} (the person and its faces with their photos), GET /api/v1/people/unsure
 * (the faces left out of the grouping), POST /api/v1/people/update
 * (start the grouping in the background; GET /api/v1/people/update: its progress), POST
 * /api/v1/people/{id}/name, POST /api/v1/people/{id}/merge, POST
 * /api/v1/faces/{id}/move and POST /api/v1/faces/{id}/reject. Each write opens the index's
 * writer for its request (the grouping for its run): the one-writer rule holds (409 while an
 * index run, a grouping, here or from the tool, or another write holds it). Faces whose photo is
 * not under the roots are not shown.
 * Over a sharded library (serve --shards) the people are the library's (DIR/people.db, made by
 * `people update --shards`): the list and the names are read and written there, a person's
 * faces come from the ranks that hold them (fs_server_config.person), and an update groups
 * every rank's shards (fs_server_config.group). Merges, moves and rejects are the library's
 * (fs_library_people_*): a face moves with its unit, the faces its shard grouped with it, found
 * among the faces of the person it leaves (move and reject name it: "from").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv.h"

#define NAME_MAX_LEN 200

static int64_t seg_id(const srv_request *req, size_t k)
{
    return (int64_t)strtoll(req->seg[2 + k], NULL, 10);
}

/* The request's JSON body as fields (an empty body is no fields); -1 with res filled if bad. */
static int body_fields(const srv_request *req, srv_params *p, srv_response *res)
{
    memset(p, 0, sizeof *p);
    if (req->body_too_large)
        return srv_error(res, 413, "the request body is too large"), -1;
    if (req->body_len && srv_parse_json_object(req->body, req->body_len, p)) {
        srv_params_free(p);
        return srv_error(res, 400, "the body is not a JSON object of strings and numbers"), -1;
    }
    return 0;
}

/* A positive id from a field; -1 with res filled if absent or malformed. */
static int field_id(const srv_params *p, const char *key, int64_t *out, srv_response *res)
{
    const char *v = srv_params_get(p, key);
    char *end;
    long long n = v ? strtoll(v, &end, 10) : 0;
    if (!v || !*v || *end || n <= 0)
        return srv_error(res, 400, "%s: the id of a person", key), -1;
    *out = n;
    return 0;
}

/* The index's writer for one write; NULL with res filled (409 while someone else writes). */
static fs_index *writer_open(srv_ctx *ctx, srv_response *res)
{
    pthread_mutex_lock(&ctx->run_lock);
    int running = ctx->run.state == RUN_RUNNING;
    int grouping = ctx->people.state == RUN_RUNNING;
    pthread_mutex_unlock(&ctx->run_lock);
    if (running)
        return srv_error(res, 409, "an index run is active (see GET /api/v1/index)"), NULL;
    if (grouping)
        return srv_error(res, 409, "a people update is running (see GET /api/v1/people/update)"),
               NULL;
    fs_index *w;
    fs_error err;
    if (fs_index_open(ctx->db_dir, ctx->engine, FS_INDEX_WRITE | FS_INDEX_EXISTING, &w, &err)) {
        srv_error_fs(res, &err);
        return NULL;
    }
    return w;
}

static void person_json(srv_ctx *ctx, srv_buf *b, const fs_person *p)
{
    srv_buf_printf(b, "{\"id\":%lld,\"name\":", (long long)p->id);
    if (p->name)
        srv_json_string(b, p->name);
    else
        srv_buf_puts(b, "null");
    srv_buf_printf(b, ",\"faces\":%zu,\"photos\":%zu,\"face_id\":", p->faces, p->photos);
    if (p->face_id > 0 && p->face_path && srv_path_allowed(ctx, p->face_path))
        srv_buf_printf(b, "%lld", (long long)p->face_id);
    else
        srv_buf_puts(b, "null");
    srv_buf_puts(b, "}");
}

/* Every person: the index's, or the library's (serve --shards; none before its first update). */
static fs_status people_get(srv_ctx *ctx, fs_people *all, fs_error *err)
{
    if (ctx->cfg->search) {
        fs_status rc = fs_library_people_list(ctx->db_dir, all, err);
        return rc == FS_ERR_NOT_FOUND ? FS_OK : rc;
    }
    fs_index *ix = srv_reader_take(ctx);
    fs_status rc = fs_people_list(ix, all, err);
    srv_reader_give(ctx, ix);
    return rc;
}

int srv_api_people_list(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)req;
    fs_people all;
    fs_error err;
    if (people_get(ctx, &all, &err))
        return srv_error_fs(res, &err);
    srv_buf *b = srv_json(res, 200);
    srv_buf_puts(b, "{\"people\":[");
    for (size_t i = 0; i < all.count; i++) {
        if (i)
            srv_buf_puts(b, ",");
        person_json(ctx, b, &all.items[i]);
    }
    srv_buf_printf(b, "],\"count\":%zu,\"unsure\":%zu,\"ungrouped\":%zu,\"unseen\":%zu}\n",
                   all.count, all.unsure, all.ungrouped, all.unseen);
    fs_people_free(&all);
    return 0;
}

/* One face of a person with its photo id and its geometry (with its quality, as every face
 * object has it), and the faces that a move or reject of it takes along (itself included). */
static void person_face_json(srv_buf *b, const fs_person_face *f, size_t unit_faces)
{
    srv_buf_printf(b, "{\"face_id\":%lld,\"photo_id\":%lld,\"face\":%d,\"path\":",
                   (long long)f->face_id, (long long)f->photo_id, f->face_number);
    srv_json_string(b, f->path);
    srv_buf_printf(b, ",\"pinned\":%s,\"unit_faces\":%zu,", f->pinned ? "true" : "false",
                   unit_faces);
    fs_face face = {.score = f->score, .quality = f->quality};
    memcpy(face.box, f->box, sizeof face.box);
    memcpy(face.landmarks, f->landmarks, sizeof face.landmarks);
    srv_json_face(b, &face);
    srv_buf_puts(b, "}");
}

/* "faces": [...], "count": N}: faces whose photo is under the roots, with the faces each one's
 * unit holds (sizes; NULL: 1 each). */
static void faces_json(srv_ctx *ctx, srv_buf *b, const fs_person_faces *faces,
                       const size_t *sizes)
{
    srv_buf_puts(b, "\"faces\":[");
    size_t shown = 0;
    for (size_t i = 0; i < faces->count; i++) {
        if (!srv_path_allowed(ctx, faces->items[i].path))
            continue;
        if (shown++)
            srv_buf_puts(b, ",");
        person_face_json(b, &faces->items[i], sizes ? sizes[i] : 1);
    }
    srv_buf_printf(b, "],\"count\":%zu}\n", shown);
}

/* Person id and its faces, of the index or of the library (serve --shards, from every rank):
 * 1 when found, 0 when there is no such person, -1 with err filled. */
static int person_get(srv_ctx *ctx, int64_t id, fs_person *p, fs_person_faces *faces,
                      fs_error *err)
{
    memset(p, 0, sizeof *p);
    memset(faces, 0, sizeof *faces);
    if (ctx->cfg->search) {
        fs_status rc = ctx->cfg->person(ctx->cfg->search_ctx, id, p, faces, err);
        return rc == FS_OK ? 1 : rc == FS_ERR_NOT_FOUND ? 0 : -1;
    }
    fs_index *ix = srv_reader_take(ctx);
    fs_status rc = fs_people_get(ix, id, p, err);
    if (rc == FS_OK)
        rc = fs_person_faces_get(ix, id, faces, err);
    srv_reader_give(ctx, ix);
    if (rc != FS_OK)
        fs_person_clear(p);
    return rc == FS_OK ? 1 : rc == FS_ERR_NOT_FOUND ? 0 : -1;
}

typedef struct unit_key {
    int shard;
    int64_t person_id;
    size_t face;          /* its index in the person's faces */
} unit_key;

static int cmp_unit_key(const void *x, const void *y)
{
    const unit_key *a = x, *b = y;
    if (a->shard != b->shard)
        return a->shard < b->shard ? -1 : 1;
    return (a->person_id > b->person_id) - (a->person_id < b->person_id);
}

/* On a sharded library, how many of the person's faces each face's unit holds (a face of a
 * shard's person moves with the others: fs_library_people_move) into sizes (malloc'd, one per
 * face); NULL (every face moves alone) on one index, or when it cannot tell. */
static size_t *unit_sizes(srv_ctx *ctx, const fs_person_faces *faces)
{
    fs_shards_info info;
    if (!ctx->cfg->search || !faces->count || fs_shards_open(ctx->db_dir, &info, NULL) != FS_OK)
        return NULL;
    unit_key *keys = malloc(faces->count * sizeof *keys);
    size_t *sizes = malloc(faces->count * sizeof *sizes);
    if (!keys || !sizes) {
        free(keys);
        free(sizes);
        return NULL;
    }
    for (size_t i = 0; i < faces->count; i++) {
        const fs_person_face *f = &faces->items[i];
        int64_t shard_face;
        keys[i] = (unit_key){0, f->person_id, i};
        if (fs_library_id_split(f->face_id, info.count, &keys[i].shard, &shard_face))
            keys[i].shard = -1;
        sizes[i] = 1;
    }
    qsort(keys, faces->count, sizeof *keys, cmp_unit_key);
    for (size_t i = 0, end; i < faces->count; i = end) {
        for (end = i + 1; end < faces->count && !cmp_unit_key(&keys[i], &keys[end]); end++)
            ;
        for (size_t k = i; k < end && keys[i].person_id > 0; k++)
            sizes[keys[k].face] = end - i;
    }
    free(keys);
    return sizes;
}

/* The JSON of person id and its faces into b: 1 when found, 0 when there is no such person,
 * -1 with err filled. */
static int person_body(srv_ctx *ctx, int64_t id, srv_buf *b, fs_error *err)
{
    fs_person p;
    fs_person_faces faces;
    int found = person_get(ctx, id, &p, &faces, err);
    if (found <= 0)
        return found;
    srv_buf_puts(b, "{\"person\":");
    person_json(ctx, b, &p);
    srv_buf_puts(b, ",");
    size_t *sizes = unit_sizes(ctx, &faces);
    faces_json(ctx, b, &faces, sizes);
    free(sizes);
    fs_person_clear(&p);
    fs_person_faces_free(&faces);
    return 1;
}

int srv_api_person(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    int64_t id = seg_id(req, 1);
    srv_buf b = {0};
    fs_error err;
    int found = person_body(ctx, id, &b, &err);
    if (found <= 0) {
        srv_buf_free(&b);
        if (found < 0)
            return srv_error_fs(res, &err);
        return srv_error(res, 404, "person %lld: no such person", (long long)id);
    }
    res->body = b;
    srv_json(res, 200);
    return 0;
}

/* The unsure faces of the index, or of the library (serve --shards: from every rank, without
 * those the user placed in a person). */
static fs_status unsure_get(srv_ctx *ctx, fs_person_faces *faces, fs_error *err)
{
    if (ctx->cfg->search)
        return ctx->cfg->unsure(ctx->cfg->search_ctx, faces, err);
    fs_index *ix = srv_reader_take(ctx);
    fs_status rc = fs_people_unsure(ix, faces, err);
    srv_reader_give(ctx, ix);
    return rc;
}

/* The faces left out of the grouping as unsure (fs_people_unsure: tiny, blurred, turned away,
 * doubtful), best quality first, as a person's faces are given: the user may move one into a
 * person. */
int srv_api_people_unsure(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)req;
    fs_person_faces faces;
    fs_error err;
    fs_status rc = unsure_get(ctx, &faces, &err);
    if (rc != FS_OK)
        return srv_error_fs(res, &err);
    srv_buf *b = srv_json(res, 200);
    srv_buf_puts(b, "{");
    faces_json(ctx, b, &faces, NULL);
    fs_person_faces_free(&faces);
    return 0;
}

/* ---- The grouping run, in the background ------------------------------------------------- */

static const char *people_state_name(srv_run_state s)
{
    static const char *const names[] = {"idle", "running", "done", "cancelled", "failed"};
    return names[s];
}

/* The run as JSON (run_lock held): its state and stage; the summary once done. */
static void people_run_json(const srv_people_run *r, srv_buf *b)
{
    const fs_people_progress *p = &r->progress;
    const fs_people_summary *s = &r->summary;
    srv_buf_printf(b, "{\"state\":\"%s\",\"rebuild\":%s,\"stage\":",
                   people_state_name(r->state), r->rebuild ? "true" : "false");
    if (r->state == RUN_RUNNING && p->stage)
        srv_json_string(b, p->stage);
    else
        srv_buf_puts(b, "null");
    srv_buf_printf(b,
                   ",\"done\":%zu,\"total\":%zu,\"seconds\":%.3f,\"faces\":%zu,\"grouped\":%zu,"
                   "\"unsure\":%zu,\"people\":%zu,\"new_people\":%zu,\"edits_dropped\":%zu,"
                   "\"error\":",
                   p->done, p->total, r->state == RUN_DONE ? s->seconds : p->seconds, s->faces,
                   s->grouped, s->unsure, s->people, s->new_people, s->edits_dropped);
    srv_json_string(b, r->error);
    srv_buf_puts(b, "}");
}

static void on_people_progress(const fs_people_progress *p, void *arg)
{
    srv_ctx *ctx = arg;
    pthread_mutex_lock(&ctx->run_lock);
    ctx->people.progress = *p;
    pthread_mutex_unlock(&ctx->run_lock);
}

typedef struct people_args {
    srv_ctx *ctx;
    fs_index *writer;          /* NULL: a sharded library's grouping (fs_server_config.group) */
} people_args;

static void *people_thread(void *arg)
{
    people_args *a = arg;
    srv_ctx *ctx = a->ctx;
    fs_people_options opt = {.rebuild = ctx->people.rebuild, .algorithm = FS_PEOPLE_GRAPH,
                             .on_progress = on_people_progress, .ctx = ctx};
    fs_people_summary s = {0};
    fs_error err = {0};
    fs_status rc = a->writer ? fs_people_update(a->writer, &opt, &s, &err)
                             : ctx->cfg->group(ctx->cfg->search_ctx, &opt, &s, &err);
    fs_index_close(a->writer);
    pthread_mutex_lock(&ctx->run_lock);
    ctx->people.summary = s;
    if (rc) {
        ctx->people.state = RUN_FAILED;
        snprintf(ctx->people.error, sizeof ctx->people.error, "%s", err.message);
        fprintf(stderr, "facesearch serve: people update failed: %s\n", err.message);
    } else {
        ctx->people.state = RUN_DONE;
    }
    pthread_mutex_unlock(&ctx->run_lock);
    free(a);
    return NULL;
}

int srv_api_people_update(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    srv_params p;
    if (body_fields(req, &p, res))
        return 0;
    long rebuild;
    int bad = srv_param_long(&p, "rebuild", 0, 1, 0, &rebuild);
    srv_params_free(&p);
    if (bad)
        return srv_error(res, 400, "rebuild: 0 or 1");
    people_args *a = calloc(1, sizeof *a);
    if (!a)
        return srv_error(res, 503, "out of memory");
    a->ctx = ctx;
    /* 409 while an index run or another grouping writes (here, or the tool's; over a sharded
     * library the shards' writers are taken by the ranks, and a busy one fails the run) */
    if (!ctx->cfg->search && !(a->writer = writer_open(ctx, res))) {
        free(a);
        return 0;
    }
    pthread_mutex_lock(&ctx->run_lock);
    if (ctx->people.state == RUN_RUNNING) { /* a sharded library (one index has its writer lock) */
        pthread_mutex_unlock(&ctx->run_lock);
        fs_index_close(a->writer);
        free(a);
        return srv_error(res, 409, "a people update is running (see GET /api/v1/people/update)");
    }
    if (ctx->people.joinable)
        pthread_join(ctx->people.thread, NULL);
    ctx->people.joinable = 0;
    memset(&ctx->people.progress, 0, sizeof ctx->people.progress);
    memset(&ctx->people.summary, 0, sizeof ctx->people.summary);
    ctx->people.error[0] = '\0';
    ctx->people.rebuild = (int)rebuild;
    ctx->people.state = RUN_RUNNING;
    if (pthread_create(&ctx->people.thread, NULL, people_thread, a) != 0) {
        ctx->people.state = RUN_FAILED;
        snprintf(ctx->people.error, sizeof ctx->people.error, "could not start the update");
        pthread_mutex_unlock(&ctx->run_lock);
        fs_index_close(a->writer);
        free(a);
        return srv_error(res, 503, "could not start the people update");
    }
    ctx->people.joinable = 1;
    srv_buf *b = srv_json(res, 202);
    people_run_json(&ctx->people, b);
    pthread_mutex_unlock(&ctx->run_lock);
    srv_buf_puts(b, "\n");
    return 0;
}

int srv_api_people_update_status(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)req;
    srv_buf *b = srv_json(res, 200);
    pthread_mutex_lock(&ctx->run_lock);
    people_run_json(&ctx->people, b);
    pthread_mutex_unlock(&ctx->run_lock);
    srv_buf_puts(b, "\n");
    return 0;
}

void srv_people_shutdown(srv_ctx *ctx)
{
    pthread_mutex_lock(&ctx->run_lock);
    int joinable = ctx->people.joinable;
    ctx->people.joinable = 0;
    pthread_mutex_unlock(&ctx->run_lock);
    if (joinable)
        pthread_join(ctx->people.thread, NULL);
}

/* Answers a write that went well with the person's new state (as GET /api/v1/people/{id});
 * {"person": null, ...} when the write left it without faces (it is gone). */
static int answer_person(srv_ctx *ctx, int64_t id, srv_response *res)
{
    srv_buf b = {0};
    fs_error err;
    int found = person_body(ctx, id, &b, &err);
    if (found < 0) {
        srv_buf_free(&b);
        return srv_error_fs(res, &err);
    }
    if (!found)
        srv_buf_puts(&b, "{\"person\":null,\"faces\":[],\"count\":0}\n");
    res->body = b;
    srv_json(res, 200);
    return 0;
}

int srv_api_person_name(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    int64_t id = seg_id(req, 1);
    srv_params p;
    if (body_fields(req, &p, res))
        return 0;
    const char *name = srv_params_get(&p, "name");
    if (!name || strlen(name) > NAME_MAX_LEN) {
        srv_params_free(&p);
        return srv_error(res, 400, "name: a string of at most %d bytes (\"\" removes it)",
                         NAME_MAX_LEN);
    }
    fs_error err;
    fs_status rc;
    if (ctx->cfg->search) { /* the library's people, in DIR/people.db */
        rc = fs_library_people_name(ctx->db_dir, id, name, &err);
    } else {
        fs_index *w = writer_open(ctx, res);
        rc = w ? fs_people_name(w, id, name, &err) : FS_OK;
        if (!w) {
            srv_params_free(&p);
            return 0;
        }
        fs_index_close(w);
    }
    srv_params_free(&p);
    if (rc)
        return srv_error_fs(res, &err);
    return answer_person(ctx, id, res);
}

/* On a sharded library: the unit that holds face (a library id) among person from's faces, into
 * *unit; -1 with res filled when there is none. */
static int library_unit(srv_ctx *ctx, int64_t face, int64_t from, fs_library_member *unit,
                        srv_response *res)
{
    fs_shards_info info;
    fs_person p;
    fs_person_faces faces;
    fs_error err;
    fs_status rc = fs_shards_open(ctx->db_dir, &info, &err);
    if (rc == FS_OK)
        rc = ctx->cfg->person(ctx->cfg->search_ctx, from, &p, &faces, &err);
    if (rc == FS_OK) {
        rc = fs_library_face_unit(&faces, info.count, face, unit, &err);
        fs_person_clear(&p);
        fs_person_faces_free(&faces);
    }
    return rc == FS_OK ? 0 : (srv_error_fs(res, &err), -1);
}

/* On a sharded library: face (a library id), one of the unsure faces, placed in person to (0:
 * a new one, whose id goes to *person). Not while the library's people are grouped: the ranks
 * listed their units before the face was placed, and the update would drop it until the next. */
static fs_status library_place(srv_ctx *ctx, int64_t face, int64_t to, int64_t *person,
                               fs_error *err)
{
    pthread_mutex_lock(&ctx->run_lock);
    int grouping = ctx->people.state == RUN_RUNNING;
    pthread_mutex_unlock(&ctx->run_lock);
    if (grouping) {
        err->code = FS_ERR_BUSY;
        snprintf(err->message, sizeof err->message,
                 "a people update is running (see GET /api/v1/people/update): move an unsure "
                 "face once it is done");
        return err->code;
    }
    fs_person_faces faces;
    fs_status rc = unsure_get(ctx, &faces, err);
    if (rc != FS_OK)
        return rc;
    size_t i = 0;
    while (i < faces.count && faces.items[i].face_id != face)
        i++;
    if (i < faces.count) {
        fs_person p = {0};
        fs_person_faces theirs = {0}; /* none of them of the face's photo */
        if (to > 0)
            rc = ctx->cfg->person(ctx->cfg->search_ctx, to, &p, &theirs, err);
        if (rc == FS_OK)
            rc = fs_library_people_place(ctx->db_dir, &faces.items[i], to, &theirs, person,
                                         err);
        fs_person_clear(&p);
        fs_person_faces_free(&theirs);
    } else {
        rc = err->code = FS_ERR_NOT_FOUND;
        snprintf(err->message, sizeof err->message,
                 "face %lld is not an unsure face: give from, the person it is in",
                 (long long)face);
    }
    fs_person_faces_free(&faces);
    return rc;
}

int srv_api_person_merge(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    int64_t into = seg_id(req, 1), from;
    srv_params p;
    if (body_fields(req, &p, res))
        return 0;
    int bad = field_id(&p, "from", &from, res);
    srv_params_free(&p);
    if (bad)
        return 0;
    if (from == into)
        return srv_error(res, 400, "from: a person other than %lld", (long long)into);
    fs_error err;
    fs_status rc;
    if (ctx->cfg->search) {
        rc = fs_library_people_merge(ctx->db_dir, into, from, &err);
    } else {
        fs_index *w = writer_open(ctx, res);
        if (!w)
            return 0;
        rc = fs_people_merge(w, into, from, &err);
        fs_index_close(w);
    }
    if (rc)
        return srv_error_fs(res, &err);
    return answer_person(ctx, into, res);
}

int srv_api_face_move(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    int64_t face = seg_id(req, 1), to = 0;
    srv_params p;
    if (body_fields(req, &p, res))
        return 0;
    const char *v = srv_params_get(&p, "to");
    int bad = !v ? (srv_error(res, 400, "to: the id of a person, or \"new\""), -1)
              : strcmp(v, "new") == 0 ? 0 : field_id(&p, "to", &to, res);
    int64_t from = 0; /* on a sharded library: the person the face is in; none: unsure */
    if (!bad && ctx->cfg->search && srv_params_get(&p, "from"))
        bad = field_id(&p, "from", &from, res);
    srv_params_free(&p);
    if (bad)
        return 0;
    fs_error err;
    int64_t person = to;
    fs_status rc;
    if (ctx->cfg->search && !from) {
        rc = library_place(ctx, face, to, &person, &err);
    } else if (ctx->cfg->search) {
        fs_library_member unit;
        if (library_unit(ctx, face, from, &unit, res))
            return 0;
        rc = fs_library_people_move(ctx->db_dir, &unit, from, to, &person, &err);
    } else {
        fs_index *w = writer_open(ctx, res);
        if (!w)
            return 0;
        rc = fs_people_move(w, face, to, &person, &err);
        fs_index_close(w);
    }
    if (rc)
        return srv_error_fs(res, &err);
    return answer_person(ctx, person, res);
}

int srv_api_face_reject(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    int64_t face = seg_id(req, 1), from;
    srv_params p;
    if (body_fields(req, &p, res))
        return 0;
    int bad = field_id(&p, "from", &from, res);
    srv_params_free(&p);
    if (bad)
        return 0;
    fs_error err;
    fs_status rc;
    if (ctx->cfg->search) {
        fs_library_member unit;
        if (library_unit(ctx, face, from, &unit, res))
            return 0;
        rc = fs_library_people_reject(ctx->db_dir, &unit, from, &err);
    } else {
        fs_index *w = writer_open(ctx, res);
        if (!w)
            return 0;
        rc = fs_people_reject(w, face, from, &err);
        fs_index_close(w);
    }
    if (rc)
        return srv_error_fs(res, &err);
    return answer_person(ctx, from, res);
}
