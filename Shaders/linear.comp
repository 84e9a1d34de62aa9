#version 430
// linear.comp: the fully connected layer as one strided GEMM,
//   C[m,n] (+)= Σ_k A[m,k]·B[k,n] (+ bias[n]),  A[m,k] = a[m·strides.x + k·strides.y],
//                                              B[k,n] = b[k·strides.z + n·strides.w],  C (M,N) row-major,
// so the forward pass and both backward products are this kernel with other strides (GLBackend.Linear.cs):
//   forward   y  (N,O) =  x (N,I) · Wᵀ + bias
//   backward  dx (N,I) += dy (N,O) · W (O,I)
//             dW (O,I) += dyᵀ (O,N) · x (N,I)
// Register blocking instead of shared memory (barrier() is slow on llvmpipe): an invocation computes a
// TILE×TILE block of C. Its rows come from the work group row (groupRow()), so the A reads are uniform over the group.
// Variant ACTIVATION (with one of activation.glsl's RELU…; forward only, inference plans' fusion): C = act(A·B + bias),
// the activation applied to each finished value as activation.comp would apply it.
#include "common.glsl"
#if defined(ACTIVATION)
#include "activation.glsl"
#endif

#define TILE 4

layout(std430, binding = INPUT0) readonly buffer ABuffer { float a[]; };
layout(std430, binding = INPUT1) readonly buffer BBuffer { float b[]; };
layout(std430, binding = INPUT2) readonly buffer BiasBuffer { float bias[]; };
layout(std430, binding = OUTPUT0) buffer CBuffer { float c[]; };
uniform ivec4 size;    // (M, N, K, unused)
uniform ivec4 strides; // (A row, A column, B row, B column)
uniform int hasBias;
uniform int accumulate; // 1: C += A·B (gradients); 0: C = A·B + bias (forward)

void main()
{
    int M = size.x, N = size.y, K = size.z;
    int n0 = flatIndex() * TILE;
    if (n0 >= N) return;
    int m0 = groupRow() * TILE;

    // Edge tiles read the last row/column again (always in bounds) and skip those results when writing.
    int aRow[TILE], bColumn[TILE];
    for (int r = 0; r < TILE; r++) aRow[r] = min(m0 + r, M - 1) * strides.x;
    for (int s = 0; s < TILE; s++) bColumn[s] = min(n0 + s, N - 1) * strides.w;

    float acc[TILE][TILE];
    for (int r = 0; r < TILE; r++)
        for (int s = 0; s < TILE; s++) acc[r][s] = 0.0;
    for (int k = 0; k < K; k++)
    {
        float av[TILE], bv[TILE];
        for (int r = 0; r < TILE; r++) av[r] = a[aRow[r] + k * strides.y];
        for (int s = 0; s < TILE; s++) bv[s] = b[k * strides.z + bColumn[s]];
        for (int r = 0; r < TILE; r++)
            for (int s = 0; s < TILE; s++) acc[r][s] = fma(av[r], bv[s], acc[r][s]);
    }
    for (int r = 0; r < TILE && m0 + r < M; r++)
        for (int s = 0; s < TILE && n0 + s < N; s++)
        {
            int at = (m0 + r) * N + n0 + s;
            float value = acc[r][s];
            if (hasBias != 0) value += bias[n0 + s];
#if defined(ACTIVATION)
            c[at] = activate(vec4(value)).x;
#else
            c[at] = accumulate != 0 ? c[at] + value : value;
#endif
        }
}
