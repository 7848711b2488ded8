/*
 * http.h — the listener (http.c) as serve.c starts it.
 */
#ifndef FS_SERVER_HTTP_H
#define FS_SERVER_HTTP_H

#include <sys/socket.h>

#include "srv.h"

struct MHD_Daemon;

/* Starts listening at addr with a thread per connection; *port gets the port bound (useful
 * when addr asked for port 0). NULL if the address cannot be bound. Stop with MHD_stop_daemon. */
struct MHD_Daemon *srv_listen(srv_ctx *ctx, const struct sockaddr *addr, int *port);

#endif
