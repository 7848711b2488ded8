/*
 * fpenv.c — subnormal floats off while a plan runs (see fpenv.h for why).
 *
 * The control register is per thread. oneDNN and our own kernels run on the calling thread's
 * OpenMP team, whose threads persist between parallel regions, so one region of the same size
 * before the run reaches the threads that will do the work, and one after puts them back.
 */
#include "nn/fpenv.h"

#include <omp.h>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define FTZ_DAZ 0x8040u /* MXCSR bits: flush-to-zero (15) and denormals-are-zero (6) */

static unsigned int swap_csr(unsigned int set_bits)
{
    unsigned int before = _mm_getcsr();
    _mm_setcsr(before | set_bits);
    return before;
}

void nn_fpenv_enter(nn_fpenv *env, int threads)
{
    env->threads = threads > 1 ? threads : 1;
    if (env->threads == 1) {
        env->saved[0] = swap_csr(FTZ_DAZ);
        return;
    }
#pragma omp parallel num_threads(env->threads)
    {
        int t = omp_get_thread_num();
        unsigned int before = swap_csr(FTZ_DAZ);
        if (t < NN_FPENV_MAX_THREADS)
            env->saved[t] = before;
    }
}

void nn_fpenv_leave(const nn_fpenv *env)
{
    if (env->threads == 1) {
        _mm_setcsr(env->saved[0]);
        return;
    }
#pragma omp parallel num_threads(env->threads)
    {
        int t = omp_get_thread_num();
        if (t < NN_FPENV_MAX_THREADS)
            _mm_setcsr(env->saved[t]);
    }
}

#else /* other CPUs: their defaults are left alone */

void nn_fpenv_enter(nn_fpenv *env, int threads)
{
    env->threads = threads;
}

void nn_fpenv_leave(const nn_fpenv *env)
{
    (void)env;
}

#endif
