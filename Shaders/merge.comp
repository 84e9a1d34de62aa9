#version 430
// merge.comp: joining branches of a graph, forward and backward side by side.
// Variants:
//   ACCUMULATE                  y += scale·x, element-wise on vec4 (residual sums; Add's backward); with accumulate = 0,
//                               y = 0 + scale·x without reading y
//   CONCAT_FORWARD              y[n, offset + r] = x[n, r]          one invocation per input element
//   CONCAT_BACKWARD             dx[n, r] += dy[n, offset + r]       (r runs over one sample's Ci·H·W block)
//   CHANNEL_MULTIPLY_FORWARD    y[n,c,h,w] = x[n,c,h,w]·s[n,c]      one invocation per element
//   CHANNEL_MULTIPLY_INPUT_GRAD dx += dy·s[n,c]
//   CHANNEL_MULTIPLY_SCALE_GRAD ds[n,c] += Σ_{h,w} dy·x             one invocation per (n,c) plane
// Every output element has one writer, so no atomics.
#include "common.glsl"

uniform int count;        // invocations that do work

#if defined(ACCUMULATE)
layout(std430, binding = INPUT0) readonly buffer SourceBuffer { vec4 x[]; };
layout(std430, binding = OUTPUT0) buffer DestinationBuffer { vec4 y[]; };
// x and y may be one tensor (y += scale·y): each invocation reads and writes only its own vec4
#pragma neuro_in_place(OUTPUT0, INPUT0)
uniform float scale;
uniform int accumulate;

void main()
{
    int i = flatIndex();
    if (i >= count) return;
    y[i] = (accumulate != 0 ? y[i] : vec4(0.0)) + scale * x[i];
}

#elif defined(CONCAT_FORWARD) || defined(CONCAT_BACKWARD)
uniform int block;        // Ci·H·W of the part
uniform int outputBlock;  // C·H·W of the concatenation
uniform int offset;       // channelOffset·H·W
layout(std430, binding = INPUT0) readonly buffer FromBuffer { float from[]; };
layout(std430, binding = OUTPUT0) buffer ToBuffer { float to[]; };

void main()
{
    int e = flatIndex();
    if (e >= count) return;
    int whole = (e / block) * outputBlock + offset + e % block;
#if defined(CONCAT_FORWARD)
    to[whole] = from[e];
#else
    to[e] += from[whole];
#endif
}

#else
uniform int pixels;       // H·W of one plane
// each variant declares only the blocks it reads: drivers may count every declared std430 block as used, and every
// block a kernel uses must be bound for its dispatch
#if !defined(CHANNEL_MULTIPLY_INPUT_GRAD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
#endif
#if !defined(CHANNEL_MULTIPLY_SCALE_GRAD)
layout(std430, binding = INPUT1) readonly buffer ScaleBuffer { float s[]; };
#endif
#if !defined(CHANNEL_MULTIPLY_FORWARD)
layout(std430, binding = INPUT2) readonly buffer OutputGradBuffer { float dy[]; };
#endif
layout(std430, binding = OUTPUT0) buffer ResultBuffer { float result[]; };

void main()
{
    int i = flatIndex();
    if (i >= count) return;
#if defined(CHANNEL_MULTIPLY_FORWARD)
    result[i] = x[i] * s[i / pixels];
#elif defined(CHANNEL_MULTIPLY_INPUT_GRAD)
    result[i] += dy[i] * s[i / pixels];
#else
    // in the forward pass this was y = x·s[plane]: ds[plane] += Σ dy·x over the plane
    float sum = 0.0;
    int start = i * pixels;
    for (int k = 0; k < pixels; k++) sum += dy[start + k] * x[start + k];
    result[i] += sum;
#endif
}
#endif
