#version 430
// softmax.comp: softmax over axis 1 of (N,K), forward and backward side by side, numerically stable.
//   y[n,k] = e^(x[n,k] − m) / Σ_j e^(x[n,j] − m),  m = max_j x[n,j]
//   backward: dx[n,k] += y[n,k]·(dy[n,k] − Σ_j dy[n,j]·y[n,j])
// Variants: FORWARD and BACKWARD, each one invocation per row (a row's max, sum and dot product are
// sequential; no shared memory on llvmpipe), so every dx element has one writer.
#include "common.glsl"

uniform int rows;
uniform int classes;

#if defined(FORWARD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = OUTPUT0) writeonly buffer OutputBuffer { float y[]; };

void main()
{
    int n = flatIndex();
    if (n >= rows) return;
    int base = n * classes;
    // shifting by the row's maximum keeps every exponent ≤ 0: no overflow, and the sum is ≥ 1
    float largest = x[base];
    for (int k = 1; k < classes; k++) largest = max(largest, x[base + k]);
    float sum = 0.0;
    for (int k = 0; k < classes; k++) sum += exp(x[base + k] - largest);
    for (int k = 0; k < classes; k++) y[base + k] = exp(x[base + k] - largest) / sum;
}

#elif defined(BACKWARD)
layout(std430, binding = INPUT0) readonly buffer OutputBuffer { float y[]; };
layout(std430, binding = INPUT1) readonly buffer OutputGradBuffer { float dy[]; };
layout(std430, binding = OUTPUT0) buffer InputGradBuffer { float dx[]; };

// In the forward pass this was y = softmax(x): ∂y_j/∂x_k = y_j(δ_jk − y_k), so dx_k += y_k·(dy_k − Σ_j dy_j·y_j).
void main()
{
    int n = flatIndex();
    if (n >= rows) return;
    int base = n * classes;
    float dot = 0.0;
    for (int k = 0; k < classes; k++) dot += dy[base + k] * y[base + k];
    for (int k = 0; k < classes; k++) dx[base + k] += y[base + k] * (dy[base + k] - dot);
}
#endif
