/*
 * paths.h — small path helpers shared by the library (fs_data_dir is public, in facesearch.h).
 */
#ifndef FS_UTIL_PATHS_H
#define FS_UTIL_PATHS_H

#include <stddef.h>

/* Writes "a/b" into buf. Returns 0, or -1 (buf holds a truncated string) if it does not fit. */
int util_path_join(char *buf, size_t size, const char *a, const char *b);

#endif
