#version 430
// reduce.comp: dst[i] (+)= Σ_{s < slices} src[s·count + i] for i < count, the slices summed in order
// (deterministic, no atomics). The second pass of every split reduction: convolution weight and bias
// gradients, the linear bias gradient (dy itself is N slices of O values), the mean loss.
#include "common.glsl"

layout(std430, binding = INPUT0) readonly buffer SourceBuffer { float src[]; };
layout(std430, binding = OUTPUT0) buffer DestinationBuffer { float dst[]; };
uniform int slices;
uniform int count;
uniform int accumulate; // 1: add into dst (gradients); 0: overwrite (forward outputs)

void main()
{
    int i = flatIndex();
    if (i >= count) return;
    float sum = 0.0;
    for (int s = 0; s < slices; s++) sum += src[s * count + i];
    dst[i] = accumulate != 0 ? dst[i] + sum : sum;
}
