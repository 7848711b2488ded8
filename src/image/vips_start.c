/*
 * vips_start.c — the single place where this module touches process-wide state: starting libvips.
 *
 * libvips must be initialised once per process before any use. We do it lazily, from whichever
 * thread first loads or saves an image, under pthread_once, and at the same time:
 *   - turn off libvips' operation cache (it would keep decoded images of files we never see again);
 *   - set libvips' own worker threads to 1: the engine decodes many images in parallel already;
 *   - block the loaders libvips marks untrusted (we also allow-list loaders in decode_vips.c);
 *   - silence glib messages of the "VIPS" log domain: libvips reports damaged files as g_warning,
 *     which would otherwise print to stderr. Failures still reach us as return codes.
 * libvips' error buffer is process-global in 8.14 (one buffer under a mutex, shared by all
 * threads), so we never quote it in messages: another thread's error could show up in ours. Our
 * messages are built from what we know (format, size); the buffer is cleared after failures so it
 * cannot grow.
 */
#include <pthread.h>

#include <vips/vips.h>

#include "image/image_internal.h"
#include "util/error.h"

static pthread_once_t vips_once = PTHREAD_ONCE_INIT;
static int vips_start_failed; /* written once inside vips_once, read-only afterwards */

static void ignore_log(const gchar *domain, GLogLevelFlags level, const gchar *message,
                       gpointer data)
{
    (void)domain;
    (void)level;
    (void)message;
    (void)data;
}

static void start_vips(void)
{
    if (VIPS_INIT("facesearch") != 0) {
        vips_start_failed = 1;
        return;
    }
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
    vips_concurrency_set(1);
    vips_block_untrusted_set(TRUE);
    g_log_set_handler("VIPS",
                      G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO |
                          G_LOG_LEVEL_DEBUG,
                      ignore_log, NULL);
}

fs_status img_vips_start(fs_error *err)
{
    if (pthread_once(&vips_once, start_vips) != 0 || vips_start_failed)
        return util_fail(err, FS_ERR_INTERNAL, "libvips could not be initialised");
    return FS_OK;
}
