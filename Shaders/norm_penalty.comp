#version 430
// norm_penalty.comp: the L1/L2 penalty λ₁·Σ|x| + (λ₂/2)·Σx², its gradient, and clipping by a total norm.
// Variants:
//   FORWARD   the first pass of the penalty's sum: invocation s writes the penalty of elements
//             [s·chunk, (s+1)·chunk) to partial[s]; reduce.comp then adds the partial sums, in order, into
//             the one-element total. Scalar, exact length: the vec4 padding is never counted.
//   BACKWARD  dx += λ₁·sign(x) + λ₂·x (sign(0) = 0), on vec4s
//   CLIP      g ← g·min(1, maxNorm / (√s + 1e-6)), s = Σ‖g‖² read from the device (clip_grad_norm_), on vec4s
#include "common.glsl"

#if defined(FORWARD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = OUTPUT1) writeonly buffer PartialBuffer { float partial[]; };
uniform int elementCount; // floats
uniform int chunk;
uniform int slices;
uniform float l1;
uniform float l2;

void main()
{
    int s = flatIndex();
    if (s >= slices) return;
    int first = s * chunk, end = min(first + chunk, elementCount);
    float absolute = 0.0, square = 0.0;
    for (int j = first; j < end; j++)
    {
        absolute += abs(x[j]);
        square += x[j] * x[j];
    }
    partial[s] = l1 * absolute + 0.5 * l2 * square;
}

#elif defined(BACKWARD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { vec4 x[]; };
layout(std430, binding = OUTPUT0) buffer InputGradBuffer { vec4 dx[]; };
uniform int count; // vec4s
uniform float l1;
uniform float l2;

// In the forward pass this was λ₁·Σ|x| + (λ₂/2)·Σx².
void main()
{
    int i = flatIndex();
    if (i >= count) return;
    vec4 value = x[i];
    dx[i] += l1 * sign(value) + l2 * value;
}

#elif defined(CLIP)
layout(std430, binding = INPUT0) readonly buffer SumOfSquaresBuffer { float sumOfSquares[]; };
layout(std430, binding = OUTPUT0) buffer GradientBuffer { vec4 g[]; };
uniform int count; // vec4s
uniform float maxNorm;

void main()
{
    int i = flatIndex();
    if (i >= count) return;
    float factor = min(1.0, maxNorm / (sqrt(sumOfSquares[0]) + 1e-6));
    g[i] *= factor;
}
#endif
