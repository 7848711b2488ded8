/*
 * people_file.h — DIR/people.db, the file that keeps a sharded library's people, as people.c
 * (grouping, reading) and people_edit.c (the user's edits) open and write it. Internal to
 * libfacesearch; the public API is facesearch.h, "People of a sharded library".
 *
 * The file is SQLite (user_version 3):
 *     person(id INTEGER PRIMARY KEY, name TEXT UNIQUE, faces, photos,
 *            face_id, face_path, x0, y0, x1, y1)          the representative face, library id
 *     member(shard, person_id, face_id, person, faces,     a unit: a shard's person (face_id 0)
 *            photos, lead, face_path, x0, y0, x1, y1)      or a face in none (person_id 0), with
 *                                                          its representative face (lead: a
 *                                                          library id) and its counts
 *     pin(shard, person_id, face_id, person, lead)         a unit the user put in a person,
 *     reject(shard, person_id, face_id, person, lead)      or took out of one, with its
 *                                                          representative face then (library
 *                                                          id; 0: not known)
 *     counts(unsure, ungrouped, unseen)                    one row: the shards' faces judged
 *                                                          unsure, in no library person, and
 *                                                          not seen, at the last update
 *     edits(id, n)                                         one row: merges, moves and rejects
 *                                                          made (an update grouping meanwhile
 *                                                          groups again)
 * A file of version 1 (no pin, reject, counts, nor the member's counts and face) is brought to
 * the current version by the next update, which rewrites every member; edits other than naming
 * need version 2 or later. Version 2 (pins and rejects without their face) is brought to 3 by
 * the next update or edit.
 */
#ifndef FS_SHARD_PEOPLE_FILE_H
#define FS_SHARD_PEOPLE_FILE_H

#include <sqlite3.h>
#include <stddef.h>

#include "facesearch.h"

typedef enum people_file_mode {
    PEOPLE_FILE_READ,    /* read only; any version */
    PEOPLE_FILE_NAME,    /* names written; any version */
    PEOPLE_FILE_EDIT,    /* pins, rejects and members written: version 2 brought to 3 */
    PEOPLE_FILE_CREATE   /* an update: made when absent, brought to the current version */
} people_file_mode;

/* Opens DIR/people.db (path gets its name) after checking that dir is a sharded library; *count
 * gets its shard count. No file yet, but for PEOPLE_FILE_CREATE: FS_ERR_NOT_FOUND. */
fs_status people_file_open(const char *dir, people_file_mode mode, sqlite3 **db, char *path,
                           size_t size, int *count, fs_error *err);

/* The file's version (its user_version) into *version. */
fs_status people_file_version(sqlite3 *db, const char *path, int *version, fs_error *err);

/* Moves the member, pin and reject rows of each renamed unit to the unit that holds its faces
 * now (people_known.c), in one transaction; *dropped gets the pins and rejects that no longer
 * apply (their unit was swallowed by one the file knows). */
fs_status people_file_follow(sqlite3 *db, const char *path, const fs_unit_rename *renames,
                             size_t n, size_t *dropped, fs_error *err);

/* The error of db's last call, as a status (FS_ERR_FORMAT for a damaged file, FS_ERR_BUSY when
 * another writer held it too long). */
fs_status people_file_fail(sqlite3 *db, const char *path, fs_error *err);

/* sqlite3_prepare_v2, failing as people_file_fail. */
fs_status people_file_prepare(sqlite3 *db, const char *path, const char *sql, sqlite3_stmt **s,
                              fs_error *err);

/* Steps a prepared statement that returns no row, and resets it for the next use. */
fs_status people_file_run(sqlite3 *db, const char *path, sqlite3_stmt *s, fs_error *err);

/* Runs SQL that returns no row (several statements may follow each other). */
fs_status people_file_exec(sqlite3 *db, const char *path, const char *sql, fs_error *err);

#endif
