/*
 * paths.c — where facesearch keeps its data (model packs, samples, the default index).
 */
#include <stdio.h>
#include <stdlib.h>

#include "util/error.h"
#include "util/paths.h"

fs_status fs_data_dir(char *buf, size_t size, fs_error *err)
{
    const char *dir = getenv("FACESEARCH_DATA_DIR");
    int n;
    if (dir && *dir) {
        n = snprintf(buf, size, "%s", dir);
    } else if ((dir = getenv("XDG_DATA_HOME")) && *dir) {
        n = snprintf(buf, size, "%s/facesearch", dir);
    } else if ((dir = getenv("HOME")) && *dir) {
        n = snprintf(buf, size, "%s/.local/share/facesearch", dir);
    } else {
        return fs_fail(err, FS_ERR_NOT_FOUND,
                       "no data folder: set FACESEARCH_DATA_DIR, XDG_DATA_HOME or HOME");
    }
    if (n < 0 || (size_t)n >= size)
        return fs_fail(err, FS_ERR_LIMIT, "data folder path is too long");
    return FS_OK;
}

int fs_path_join(char *buf, size_t size, const char *a, const char *b)
{
    int n = snprintf(buf, size, "%s/%s", a, b);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}
