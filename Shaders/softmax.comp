#version 430
// softmax.comp: softmax (or log-softmax) over one axis of any shape, forward and backward side by side, numerically
// stable. The tensor is read as (outer, K, inner): row r = (o, i) holds the K elements (o·K + k)·inner + i.
//   y[o,k,i] = e^(x[o,k,i] − m) / Σ_j e^(x[o,j,i] − m),  m = max_j x[o,j,i]
//   LOGARITHM: y[o,k,i] = x[o,k,i] − m − log Σ_j e^(x[o,j,i] − m)
//   backward: dx[o,k,i] += y[o,k,i]·(dy[o,k,i] − Σ_j dy[o,j,i]·y[o,j,i]);  LOGARITHM: dx += dy − e^y·Σ_j dy[o,j,i]
// Variants: FORWARD and BACKWARD (each optionally LOGARITHM), one invocation per row (a row's max, sum and dot product
// are sequential; no shared memory on llvmpipe), so every dx element has one writer.
#include "common.glsl"

uniform int rows;     // outer · inner
uniform int classes;  // K, the softmax axis' size
uniform int inner;    // the distance between a row's elements

// The first element of row r.
int rowStart(int r)
{
    return (r / inner) * classes * inner + r % inner;
}

#if defined(FORWARD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = OUTPUT0) writeonly buffer OutputBuffer { float y[]; };

void main()
{
    int r = flatIndex();
    if (r >= rows) return;
    int base = rowStart(r);
    // shifting by the row's maximum keeps every exponent ≤ 0: no overflow, and the sum is ≥ 1
    float largest = x[base];
    for (int k = 1; k < classes; k++) largest = max(largest, x[base + k * inner]);
    float sum = 0.0;
    for (int k = 0; k < classes; k++) sum += exp(x[base + k * inner] - largest);
#if defined(LOGARITHM)
    float shift = largest + log(sum);
    for (int k = 0; k < classes; k++) y[base + k * inner] = x[base + k * inner] - shift;
#else
    for (int k = 0; k < classes; k++) y[base + k * inner] = exp(x[base + k * inner] - largest) / sum;
#endif
}

#elif defined(BACKWARD)
layout(std430, binding = INPUT0) readonly buffer OutputBuffer { float y[]; };
layout(std430, binding = INPUT1) readonly buffer OutputGradBuffer { float dy[]; };
layout(std430, binding = OUTPUT0) buffer InputGradBuffer { float dx[]; };

// In the forward pass this was y = softmax(x): ∂y_j/∂x_k = y_j(δ_jk − y_k), so dx_k += y_k·(dy_k − Σ_j dy_j·y_j);
// for y = log softmax(x), ∂y_j/∂x_k = δ_jk − e^(y_k), so dx_k += dy_k − e^(y_k)·Σ_j dy_j.
void main()
{
    int r = flatIndex();
    if (r >= rows) return;
    int base = rowStart(r);
    float sum = 0.0;
#if defined(LOGARITHM)
    for (int k = 0; k < classes; k++) sum += dy[base + k * inner];
    for (int k = 0; k < classes; k++) dx[base + k * inner] += dy[base + k * inner] - exp(y[base + k * inner]) * sum;
#else
    for (int k = 0; k < classes; k++) sum += dy[base + k * inner] * y[base + k * inner];
    for (int k = 0; k < classes; k++) dx[base + k * inner] += y[base + k * inner] * (dy[base + k * inner] - sum);
#endif
}
#endif
