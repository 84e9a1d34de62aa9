#version 430
// activation.comp: element-wise activations, forward and backward side by side.
// Variants: FORWARD or BACKWARD, with one of RELU, SIGMOID, TANH.
//   ReLU     y = max(0, x)          dy/dx = 1 if x > 0 else 0   (from the input)
//   Sigmoid  y = 1 / (1 + e^−x)     dy/dx = y(1 − y)             (from the saved output)
//   Tanh     y = tanh x             dy/dx = 1 − y²               (from the saved output)
#include "common.glsl"

uniform int count;

#if defined(FORWARD)
layout(std430, binding = 0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = 1) writeonly buffer OutputBuffer { float y[]; };

float activate(float v)
{
#if defined(RELU)
    return max(v, 0.0);
#elif defined(SIGMOID)
    return 1.0 / (1.0 + exp(-v));
#else
    // tanh from e^(−2|v|) ≤ 1: never inf/inf, unlike (e^2v − 1)/(e^2v + 1) for large v.
    float e = exp(-2.0 * abs(v));
    float t = (1.0 - e) / (1.0 + e);
    return v < 0.0 ? -t : t;
#endif
}

void main()
{
    int i = flatIndex();
    if (i >= count) return;
    y[i] = activate(x[i]);
}

#elif defined(BACKWARD)
layout(std430, binding = 0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = 1) readonly buffer OutputBuffer { float y[]; };
layout(std430, binding = 2) readonly buffer OutputGradBuffer { float dy[]; };
layout(std430, binding = 3) buffer InputGradBuffer { float dx[]; };

// In the forward pass this was y = f(x): dx += f′·dy.
void main()
{
    int i = flatIndex();
    if (i >= count) return;
#if defined(RELU)
    float slope = x[i] > 0.0 ? 1.0 : 0.0;
#elif defined(SIGMOID)
    float slope = y[i] * (1.0 - y[i]);
#else
    float slope = 1.0 - y[i] * y[i];
#endif
    dx[i] += slope * dy[i];
}
#endif
