/*
 * clock.h — the one clock of the library: seconds on the monotonic clock, for stage timings,
 * progress and batching (never for dates).
 */
#ifndef FS_UTIL_CLOCK_H
#define FS_UTIL_CLOCK_H

/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
double util_now(void);

#endif
