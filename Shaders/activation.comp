#version 430
// activation.comp: element-wise activations, forward and backward side by side.
// Variants: FORWARD or BACKWARD, with one of RELU, SIGMOID, TANH.
//   ReLU     y = max(0, x)          dy/dx = 1 if x > 0 else 0   (from the input)
//   Sigmoid  y = 1 / (1 + e^−x)     dy/dx = y(1 − y)             (from the saved output)
//   Tanh     y = tanh x             dy/dx = 1 − y²               (from the saved output)
// Four elements per invocation (vec4): a buffer load costs about the same for 4 floats as for 1 on
// llvmpipe. GL tensors are allocated in whole vec4s, so the last vector is in bounds (its padding
// lanes compute values nobody reads).
#include "common.glsl"

uniform int count; // vec4s

#if defined(FORWARD)
layout(std430, binding = 0) readonly buffer InputBuffer { vec4 x[]; };
layout(std430, binding = 1) writeonly buffer OutputBuffer { vec4 y[]; };

vec4 activate(vec4 v)
{
#if defined(RELU)
    return max(v, vec4(0.0));
#elif defined(SIGMOID)
    return 1.0 / (1.0 + exp(-v));
#else
    // tanh from e^(−2|v|) ≤ 1: never inf/inf, unlike (e^2v − 1)/(e^2v + 1) for large v.
    vec4 e = exp(-2.0 * abs(v));
    return sign(v) * (1.0 - e) / (1.0 + e);
#endif
}

void main()
{
    int i = flatIndex();
    if (i >= count) return;
    y[i] = activate(x[i]);
}

#elif defined(BACKWARD)
layout(std430, binding = 0) readonly buffer InputBuffer { vec4 x[]; };
layout(std430, binding = 1) readonly buffer OutputBuffer { vec4 y[]; };
layout(std430, binding = 2) readonly buffer OutputGradBuffer { vec4 dy[]; };
layout(std430, binding = 3) buffer InputGradBuffer { vec4 dx[]; };

// In the forward pass this was y = f(x): dx += f′·dy.
void main()
{
    int i = flatIndex();
    if (i >= count) return;
#if defined(RELU)
    vec4 slope = vec4(greaterThan(x[i], vec4(0.0)));
#elif defined(SIGMOID)
    vec4 slope = y[i] * (1.0 - y[i]);
#else
    vec4 slope = 1.0 - y[i] * y[i];
#endif
    dx[i] += slope * dy[i];
}
#endif
