#version 430
// norm_penalty.comp: the L1/L2 penalty λ₁·Σ|x| + (λ₂/2)·Σx², its gradient, and clipping by a total norm.
// Variants:
//   FORWARD   the first pass of the penalty's sum: invocation s writes the penalty of elements
//             [s·chunk, (s+1)·chunk) to partial[s]; reduce.comp then adds the partial sums, in order, into
//             the one-element total. Scalar, exact length: the vec4 padding is never counted.
//   BACKWARD  dx += λ₁·sign(x) + λ₂·x (sign(0) = 0), on vec4s
//   CLIP      g ← g·min(1, maxNorm / (√s + 1e-6)), s = Σ‖g‖² read from the device (clip_grad_norm_), on vec4s
// With MULTI_TENSOR, each variant covers many tensors in one dispatch (GLBackend.AddNormPenalties,
// ClipGradientsByTotalNorm): x and g are each one buffer holding every tensor's range (IBackend.AllocateGroup), and a
// table (segments.glsl) has a row per tensor: its first slice of FORWARD (slices never cross tensors; chunk is the same
// for all), its first vec4 of BACKWARD and CLIP, where its x and g start (vec4s), its length (floats), λ₁ and λ₂. An
// invocation finds its row and does the per-tensor variant's arithmetic on that tensor's element(s).
#include "common.glsl"
#if defined(MULTI_TENSOR)
#define SEGMENT_COLUMNS 7
#include "segments.glsl"
#endif

#if defined(FORWARD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = OUTPUT1) writeonly buffer PartialBuffer { float partial[]; };
uniform int chunk;
uniform int slices;
#if !defined(MULTI_TENSOR)
uniform int elementCount; // floats
uniform float l1;
uniform float l2;
#endif

void main()
{
    int s = flatIndex();
    if (s >= slices) return;
#if defined(MULTI_TENSOR)
    int row = segmentOf(s, 0);
    int start = 4 * int(segmentValue(row, 2));
    int first = start + (s - int(segmentValue(row, 0))) * chunk, end = min(first + chunk, start + int(segmentValue(row, 4)));
    float l1 = segmentValue(row, 5), l2 = segmentValue(row, 6);
#else
    int first = s * chunk, end = min(first + chunk, elementCount);
#endif
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
#if !defined(MULTI_TENSOR)
uniform float l1;
uniform float l2;
#endif

// In the forward pass this was λ₁·Σ|x| + (λ₂/2)·Σx².
void main()
{
    int i = flatIndex();
    if (i >= count) return;
#if defined(MULTI_TENSOR)
    int row = segmentOf(i, 1);
    int k = i - int(segmentValue(row, 1));
    int xi = int(segmentValue(row, 2)) + k, gi = int(segmentValue(row, 3)) + k;
    float l1 = segmentValue(row, 5), l2 = segmentValue(row, 6);
#else
    int xi = i, gi = i;
#endif
    vec4 value = x[xi];
    dx[gi] += l1 * sign(value) + l2 * value;
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
#if defined(MULTI_TENSOR)
    int row = segmentOf(i, 1);
    g[int(segmentValue(row, 3)) + i - int(segmentValue(row, 1))] *= factor;
#else
    g[i] *= factor;
#endif
}
#endif
