#version 430
// batch_expand.comp: a constant repeated over the batch (BatchExpand), forward and backward side by side.
// Variants:
//   FORWARD   y[n·item + i] = c[i]                 one invocation per output element
//   BACKWARD  dc[i] += Σ_n dy[n·item + i]          one invocation per constant element, items summed in batch order
// Every output element has one writer, so no atomics.
#include "common.glsl"

uniform int count;        // invocations that do work
uniform int item;         // the constant's length: one item of the output

layout(std430, binding = INPUT0) readonly buffer FromBuffer { float from[]; };
layout(std430, binding = OUTPUT0) buffer ToBuffer { float to[]; };

#if defined(FORWARD)
void main()
{
    int e = flatIndex();
    if (e >= count) return;
    to[e] = from[e % item];
}

#else
uniform int batch;        // N

void main()
{
    int i = flatIndex();
    if (i >= count) return;
    // in the forward pass this was y[n·item + i] = c[i]
    float sum = 0.0;
    for (int n = 0; n < batch; n++) sum += from[n * item + i];
    to[i] += sum;
}
#endif
