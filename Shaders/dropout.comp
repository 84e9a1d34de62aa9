#version 430
// dropout.comp: inverted dropout, forward and backward side by side. Variants: FORWARD or BACKWARD.
//   forward   mask = u >= p ? 1/(1-p) : 0,  y = x * mask   (u from random.glsl, the same bits as the CPU)
//   backward  dx += dy * mask
// Four elements per invocation (vec4), which is also one Philox call: GL tensors are allocated in whole
// vec4s, so the last vector is in bounds (its padding lanes compute values nobody reads).
#include "common.glsl"
#include "random.glsl"

uniform int count; // vec4s

#if defined(FORWARD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { vec4 x[]; };
layout(std430, binding = OUTPUT0) writeonly buffer OutputBuffer { vec4 y[]; };
layout(std430, binding = OUTPUT1) writeonly buffer MaskBuffer { vec4 mask[]; };
uniform float p;
uniform float keepScale; // 1/(1-p), computed on the host as the CPU backend computes it
uniform ivec4 key;       // (seed, stream, step, unused) as raw 32-bit patterns

void main()
{
    int i = flatIndex();
    if (i >= count) return;
    vec4 m = vec4(1.0);
    if (p > 0.0) // p = 0 is eval mode: identity, no random numbers
    {
        vec4 u = toUniform(philox4x32(uvec4(uint(i), uint(key.z), 0u, 0u), uvec2(uint(key.x), uint(key.y))));
        m = vec4(greaterThanEqual(u, vec4(p))) * keepScale;
    }
    mask[i] = m;
    y[i] = x[i] * m;
}

#elif defined(BACKWARD)
layout(std430, binding = INPUT0) readonly buffer MaskBuffer { vec4 mask[]; };
layout(std430, binding = INPUT1) readonly buffer OutputGradBuffer { vec4 dy[]; };
layout(std430, binding = OUTPUT0) buffer InputGradBuffer { vec4 dx[]; };

// In the forward pass this was y = x * mask.
void main()
{
    int i = flatIndex();
    if (i >= count) return;
    dx[i] += dy[i] * mask[i];
}
#endif
