#version 430
// matmul.comp: batched matrix products with broadcast batch axes (ONNX MatMul), forward and backward side by side.
// a (A0,A1,M,K), b (B0,B1,K,P), y (Y0,Y1,M,P), padded on the left to four axes; an operand's batch stride is 0 on an
// axis where it is repeated (aStrides, bStrides), and `repeated` flags those axes (a0, a1, b0, b1).
//   FORWARD:    y[i,m,p] = Σ_k a[i,m,k]·b[i,k,p]                     one invocation per y element
//   GRADIENT_A: da[j,m,k] += Σ_{i reading j} Σ_p dy[i,m,p]·b[i,k,p]   one invocation per da element
//   GRADIENT_B: db[j,k,p] += Σ_{i reading j} Σ_m a[i,m,k]·dy[i,m,p]   one invocation per db element
// Each sum runs over its index in increasing order, as the CPU backend's; every output element has one writer.
#include "common.glsl"

uniform ivec2 batches;    // Y0, Y1
uniform ivec4 sizes;      // M, K, P (w unused)
uniform ivec2 aStrides;
uniform ivec2 bStrides;
uniform ivec4 repeated;   // a0, a1, b0, b1: 1 where the operand is repeated along that batch axis
uniform int count;        // elements written

#if defined(FORWARD)
layout(std430, binding = INPUT0) readonly buffer ABuffer { float a[]; };
layout(std430, binding = INPUT1) readonly buffer BBuffer { float b[]; };
layout(std430, binding = OUTPUT0) writeonly buffer OutputBuffer { float y[]; };

void main()
{
    if (laneSkipped()) return; // a work slice's piece of the group (common.glsl)
    int e = flatIndex();
    if (e >= count) return;
    int M = sizes.x, K = sizes.y, P = sizes.z;
    int p = e % P, m = e / P % M, batch = e / (M * P);
    int i0 = batch / batches.y, i1 = batch % batches.y;
    int aBase = i0 * aStrides.x + i1 * aStrides.y, bBase = i0 * bStrides.x + i1 * bStrides.y;
    float sum = 0.0;
    for (int k = 0; k < K; k++) sum += a[aBase + m * K + k] * b[bBase + k * P + p];
    y[e] = sum;
}

#elif defined(GRADIENT_A) || defined(GRADIENT_B)
layout(std430, binding = INPUT0) readonly buffer OtherBuffer { float other[]; };   // b for GRADIENT_A, a for GRADIENT_B
layout(std430, binding = INPUT1) readonly buffer OutputGradBuffer { float dy[]; };
layout(std430, binding = OUTPUT0) buffer OperandGradBuffer { float grad[]; };

// In the forward pass this was y[i,m,p] = Σ_k a[i,m,k]·b[i,k,p]: an operand element gathers from every output batch
// i that read its batch j, then over the free index.
void main()
{
    if (laneSkipped()) return; // a work slice's piece of the group (common.glsl)
    int e = flatIndex();
    if (e >= count) return;
    int M = sizes.x, K = sizes.y, P = sizes.z;
#if defined(GRADIENT_A)
    int c = e % K, r = e / K % M, batch = e / (M * K);
    ivec2 rep = repeated.xy;
#else
    int c = e % P, r = e / P % K, batch = e / (K * P);
    ivec2 rep = repeated.zw;
#endif
    int own1 = rep.y != 0 ? 1 : batches.y;
    int c0 = batch / own1, c1 = batch % own1;
    int first0 = rep.x != 0 ? 0 : c0, end0 = rep.x != 0 ? batches.x : c0 + 1;
    int first1 = rep.y != 0 ? 0 : c1, end1 = rep.y != 0 ? batches.y : c1 + 1;
    float sum = 0.0;
    for (int i0 = first0; i0 < end0; i0++)
        for (int i1 = first1; i1 < end1; i1++)
        {
            int yBase = (i0 * batches.y + i1) * M * P;
#if defined(GRADIENT_A)
            int bBase = i0 * bStrides.x + i1 * bStrides.y;
            for (int p = 0; p < P; p++) sum += dy[yBase + r * P + p] * other[bBase + c * P + p];
#else
            int aBase = i0 * aStrides.x + i1 * aStrides.y;
            for (int m = 0; m < M; m++) sum += other[aBase + m * K + r] * dy[yBase + m * P + c];
#endif
        }
    grad[e] += sum;
}
#else
#error "matmul.comp: define FORWARD, GRADIENT_A or GRADIENT_B"
#endif
