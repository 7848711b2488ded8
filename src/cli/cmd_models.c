/*
 * cmd_models.c — `facesearch models`: list the model packs on this machine, verify each one's files
 * (presence and sha256), and show which is active. Exit 2 if any pack fails to verify.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct listing {
    const cli_globals *g;
    int active_seen;
    int failures;
} listing;

static void show_pack(const char *name, const char *dir, void *ctx)
{
    listing *l = ctx;
    int active = strcmp(name, l->g->models) == 0 || strcmp(dir, l->g->models) == 0;
    l->active_seen |= active;
    fs_pack *pack;
    fs_error err;
    if (fs_pack_open(dir, &pack, &err) != FS_OK) {
        printf("%c %-12s %s  FAILED\n", active ? '*' : ' ', name, dir);
        cli_fail_error(&err);
        l->failures++;
        return;
    }
    printf("%c %-12s %s  ok, %zu files verified, threshold %.2f\n", active ? '*' : ' ', name, dir,
           fs_pack_file_count(pack), fs_pack_threshold(pack));
    fs_pack_close(pack);
}

int cmd_models(const cli_globals *g, int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return cli_fail("models: takes no arguments");
    listing l = {.g = g};
    fs_error err;
    if (fs_pack_list(show_pack, &l, &err) != FS_OK)
        return cli_fail_error(&err);
    if (!l.active_seen) {
        /* The active pack is not installed where we list: open it to say why. */
        fs_pack *pack;
        if (fs_pack_open(g->models, &pack, &err) != FS_OK) {
            printf("* %-12s FAILED\n", g->models);
            cli_fail_error(&err);
            l.failures++;
        } else {
            show_pack(fs_pack_name(pack), fs_pack_dir(pack), &l);
            fs_pack_close(pack);
        }
    }
    if (!g->quiet)
        printf("(* = active pack; choose another with --models PACK)\n");
    return l.failures ? EXIT_ERROR : 0;
}
