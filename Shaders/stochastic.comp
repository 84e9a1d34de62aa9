#version 430
// stochastic.comp: stochastic regularizers. Variants:
//   ACCUMULATE_PER_SAMPLE  y[n,i] += c[n,column]·x[n,i]    Stochastic Depth, Shake-Shake, ShakeDrop, forward (y = x + c·F)
//                                                          and backward (dF += c'·dy); c drawn on the host
//   SWAPOUT_FORWARD        θ1 = u1 >= p1, θ2 = u2 >= p2 (or 1−p1, 1−p2 in eval), y = θ1·x + θ2·F
//                          (backward is dropout.comp's BACKWARD with each mask)
// Four elements per invocation (vec4): GL tensors are allocated in whole vec4s, so the last vector is in bounds
// (its padding lanes compute values nobody reads).
#include "common.glsl"
#include "random.glsl"

uniform int count; // vec4s

#if defined(ACCUMULATE_PER_SAMPLE)
layout(std430, binding = INPUT0) readonly buffer SourceBuffer { vec4 x[]; };
layout(std430, binding = INPUT1) readonly buffer CoefficientBuffer { float c[]; };
layout(std430, binding = OUTPUT0) buffer DestinationBuffer { vec4 y[]; };
uniform int block;  // L: values per sample
uniform int batch;  // N
uniform int width;  // K: coefficients per sample
uniform int column;

void main()
{
    int i = flatIndex();
    if (i >= count) return;
    // a vec4 may straddle two samples when L is not a multiple of 4: each lane finds its own sample; padding lanes
    // past the last sample read the last sample's coefficient (in bounds, result unused)
    ivec4 n = min(ivec4(4 * i) + ivec4(0, 1, 2, 3), ivec4(batch * block - 1)) / block;
    vec4 scale = vec4(c[n.x * width + column], c[n.y * width + column], c[n.z * width + column], c[n.w * width + column]);
    y[i] += scale * x[i];
}

#elif defined(SWAPOUT_FORWARD)
layout(std430, binding = INPUT0) readonly buffer IdentityBuffer { vec4 x[]; };
layout(std430, binding = INPUT1) readonly buffer BranchBuffer { vec4 f[]; };
layout(std430, binding = OUTPUT2) writeonly buffer BranchMaskBuffer { vec4 mask2[]; };
layout(std430, binding = OUTPUT0) writeonly buffer OutputBuffer { vec4 y[]; };
layout(std430, binding = OUTPUT1) writeonly buffer IdentityMaskBuffer { vec4 mask1[]; };
uniform float p1;    // probability of dropping an identity unit
uniform float p2;    // probability of dropping a branch unit
uniform int training;
uniform ivec4 key;   // (seed, stream, step, unused) as raw 32-bit patterns

void main()
{
    int i = flatIndex();
    if (i >= count) return;
    vec4 m1 = vec4(1.0 - p1), m2 = vec4(1.0 - p2);
    if (training != 0)
    {
        uvec2 k = uvec2(uint(key.x), uint(key.y));
        m1 = vec4(greaterThanEqual(toUniform(philox4x32(uvec4(uint(i), uint(key.z), 0u, 0u), k)), vec4(p1)));
        m2 = vec4(greaterThanEqual(toUniform(philox4x32(uvec4(uint(i), uint(key.z), 1u, 0u), k)), vec4(p2)));
    }
    mask1[i] = m1;
    mask2[i] = m2;
    y[i] = m1 * x[i] + m2 * f[i];
}
#endif
