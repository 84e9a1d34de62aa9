#version 430
// linear.comp: the fully connected layer as one strided GEMM,
//   C[m,n] (+)= Σ_k A[m,k]·B[k,n] (+ bias[n]),  A[m,k] = a[m·strides.x + k·strides.y],
//                                              B[k,n] = b[k·strides.z + n·strides.w],  C (M,N) row-major,
// so the forward pass and both backward products are this kernel with other strides (GLBackend.Linear.cs):
//   forward   y  (N,O) =  x (N,I) · Wᵀ + bias
//   backward  dx (N,I) += dy (N,O) · W (O,I)
//             dW (O,I) += dyᵀ (O,N) · x (N,I)
// Register blocking instead of shared memory (barrier() is slow on llvmpipe): an invocation computes a
// ROWS×TILE block of C. Its rows come from the work group row (groupRow()), so the A reads are uniform over the group.
// ROWS is 4 unless defined (GLBackend defines ROWS=1 for M < 4: batch-1 inference would load one row of A four times).
// Variant VECTOR_K (GLBackend picks it when A's rows and B's columns are contiguous along k and K and both strides
// across k are multiples of 4: the forward pass): A and B are read as vec4s, 4 values of k a load. llvmpipe (Mesa 22)
// compiles every storage load at an index that is not a uniform expression as a loop over the lanes with a branch per
// lane (README, "Convolution backward on llvmpipe"); a vec4 load runs that loop once for 4 floats.
// The sums still run k = 0, 1, 2, … one fma at a time, so each value has the bits of the scalar loop.
// Variant ACTIVATION (with one of activation.glsl's RELU…; forward only, inference plans' fusion): C = act(A·B + bias),
// the activation applied to each finished value as activation.comp would apply it.
#include "common.glsl"
#if defined(ACTIVATION)
#include "activation.glsl"
#endif

#define TILE 4
#ifndef ROWS
#define ROWS 4
#endif

#if defined(VECTOR_K)
layout(std430, binding = INPUT0) readonly buffer ABuffer { vec4 a[]; };
layout(std430, binding = INPUT1) readonly buffer BBuffer { vec4 b[]; };
#else
layout(std430, binding = INPUT0) readonly buffer ABuffer { float a[]; };
layout(std430, binding = INPUT1) readonly buffer BBuffer { float b[]; };
#endif
layout(std430, binding = INPUT2) readonly buffer BiasBuffer { float bias[]; };
layout(std430, binding = OUTPUT0) buffer CBuffer { float c[]; };
uniform ivec4 size;    // (M, N, K, unused)
uniform ivec4 strides; // (A row, A column, B row, B column)
uniform int hasBias;
uniform int accumulate; // 1: C += A·B (gradients); 0: C = A·B + bias (forward)

void main()
{
    if (laneSkipped()) return; // a work slice's piece of the group (common.glsl)
    int M = size.x, N = size.y, K = size.z;
    int n0 = flatIndex() * TILE;
    if (n0 >= N) return;
    int m0 = groupRow() * ROWS;

    // Edge tiles read the last row/column again (always in bounds) and skip those results when writing.
    int aRow[ROWS], bColumn[TILE];
    for (int r = 0; r < ROWS; r++) aRow[r] = min(m0 + r, M - 1) * strides.x;
    for (int s = 0; s < TILE; s++) bColumn[s] = min(n0 + s, N - 1) * strides.w;

    float acc[ROWS][TILE];
    for (int r = 0; r < ROWS; r++)
        for (int s = 0; s < TILE; s++) acc[r][s] = 0.0;
#if defined(VECTOR_K)
    // in vec4s: A's row m starts at vec4 m·strides.x/4, B's column n at vec4 n·strides.w/4 (strides.y = strides.z = 1)
    for (int r = 0; r < ROWS; r++) aRow[r] /= 4;
    for (int s = 0; s < TILE; s++) bColumn[s] /= 4;
    for (int k = 0; k < K / 4; k++)
    {
        vec4 av[ROWS], bv[TILE];
        for (int r = 0; r < ROWS; r++) av[r] = a[aRow[r] + k];
        for (int s = 0; s < TILE; s++) bv[s] = b[bColumn[s] + k];
        for (int r = 0; r < ROWS; r++)
            for (int s = 0; s < TILE; s++)
            {
                acc[r][s] = fma(av[r].x, bv[s].x, acc[r][s]);
                acc[r][s] = fma(av[r].y, bv[s].y, acc[r][s]);
                acc[r][s] = fma(av[r].z, bv[s].z, acc[r][s]);
                acc[r][s] = fma(av[r].w, bv[s].w, acc[r][s]);
            }
    }
#else
    for (int k = 0; k < K; k++)
    {
        float av[ROWS], bv[TILE];
        for (int r = 0; r < ROWS; r++) av[r] = a[aRow[r] + k * strides.y];
        for (int s = 0; s < TILE; s++) bv[s] = b[k * strides.z + bColumn[s]];
        for (int r = 0; r < ROWS; r++)
            for (int s = 0; s < TILE; s++) acc[r][s] = fma(av[r], bv[s], acc[r][s]);
    }
#endif
    for (int r = 0; r < ROWS && m0 + r < M; r++)
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
