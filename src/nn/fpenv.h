/*
 * fpenv.h — subnormal floats off while a plan runs.
 *
 * Networks produce subnormal activations (|x| < FLT_MIN) now and then, and on some CPUs (Intel
 * Xeons) every arithmetic instruction that meets one takes a slow microcode path: fr_feature ran
 * 3x slower on one even with its subnormal weights already zeroed at load (graph_opt.c). A run
 * therefore sets flush-to-zero and denormals-are-zero (the SSE/AVX control register, MXCSR) on
 * the calling thread and on the OpenMP threads that work for it, and puts every thread back as
 * it found it when the run ends. Results change by less than 1e-38 per value.
 */
#ifndef FS_NN_FPENV_H
#define FS_NN_FPENV_H

/* The most threads whose state a run records (more are set but not put back). */
#define NN_FPENV_MAX_THREADS 64

typedef struct nn_fpenv {
    unsigned int saved[NN_FPENV_MAX_THREADS]; /* MXCSR before, per OpenMP thread number */
    int threads;                              /* team size it was entered with */
} nn_fpenv;

/* Turns flush-to-zero and denormals-are-zero on for the caller and a team of `threads`. */
void nn_fpenv_enter(nn_fpenv *env, int threads);
/* Puts back what nn_fpenv_enter found, on the same team. */
void nn_fpenv_leave(const nn_fpenv *env);

#endif
