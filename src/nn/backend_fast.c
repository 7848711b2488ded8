/*
 * backend_fast.c — the fast backend's hooks (see kernel.h). For now every op keeps its reference
 * kernel; the oneDNN convolution (dnnl_conv.{h,c}) plugs in here: nn_fast_plan_begin creates the
 * plan's nn_dnnl_ctx (one per plan, so plans stay independent across threads), and for a step with
 * step->node->op == NN_OP_CONV, build the primitive from nn_conv_geometry(step, &g) (NCHW float32,
 * weights [c_out][c_in/group][kh][kw], bias, fused activation), keep it in step->state with
 * step->free_state, and set step->run to a function that executes it on step->in[0]->data →
 * step->out[0]->data (pointers fixed for the plan's life). Return FS_OK leaving the step untouched
 * to fall back to the reference kernel.
 */
#include "nn/kernel.h"

fs_status nn_fast_plan_begin(int threads, void **state, fs_error *err)
{
    (void)threads;
    (void)err;
    *state = NULL;
    return FS_OK;
}

void nn_fast_plan_end(void *state)
{
    (void)state;
}

fs_status nn_fast_prepare(nn_step *step, fs_error *err)
{
    (void)step;
    (void)err;
    return FS_OK;
}
