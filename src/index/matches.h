/*
 * matches.h — ordering search results, shared by the on-the-fly search (scan.c) and the indexed
 * one (search.c) so that both print the same faces in the same order (matches.c).
 */
#ifndef FS_INDEX_MATCHES_H
#define FS_INDEX_MATCHES_H

#include "facesearch.h"

/* Sorts matches best first (equal similarities by path, then face number) and keeps the best
 * top of them (0 = all), freeing the rest. */
void index_matches_rank(fs_matches *m, size_t top);

#endif
