#version 430
// activation.comp: element-wise activations, forward and backward side by side.
// Variants: FORWARD or BACKWARD, with one of RELU, SIGMOID, TANH, LEAKYRELU, RELU6, SILU, HARDSIGMOID,
// HARDSWISH (ActivationKind's names, upper case). Derivatives at the kinks take PyTorch's side.
//   ReLU         y = max(0, x)             dy/dx = 1 if x > 0 else 0
//   Sigmoid      y = 1 / (1 + e^−x)        dy/dx = y(1 − y)                      (from the saved output)
//   Tanh         y = tanh x                dy/dx = 1 − y²                        (from the saved output)
//   LeakyReLU    y = x if x > 0 else α·x   dy/dx = 1 if x > 0 else α
//   ReLU6        y = min(max(0, x), 6)     dy/dx = 1 if 0 < x < 6 else 0
//   SiLU         y = x·σ(x)                dy/dx = σ(x)·(1 + x·(1 − σ(x)))
//   HardSigmoid  y = relu6(x + 3) / 6      dy/dx = 1/6 if −3 < x < 3 else 0
//   HardSwish    y = x·relu6(x + 3) / 6    dy/dx = 0 if x < −3, x/3 + 1/2 if x < 3, else 1
// Four elements per invocation (vec4): a buffer load costs about the same for 4 floats as for 1 on
// llvmpipe. GL tensors are allocated in whole vec4s, so the last vector is in bounds (its padding
// lanes compute values nobody reads).
#include "common.glsl"

uniform int count;   // vec4s
uniform float alpha; // LeakyReLU's negative slope (the other variants do not read it)

#if defined(FORWARD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { vec4 x[]; };
layout(std430, binding = OUTPUT0) writeonly buffer OutputBuffer { vec4 y[]; };

vec4 activate(vec4 v)
{
#if defined(RELU)
    return max(v, vec4(0.0));
#elif defined(SIGMOID)
    return 1.0 / (1.0 + exp(-v));
#elif defined(TANH)
    // tanh from e^(−2|v|) ≤ 1: never inf/inf, unlike (e^2v − 1)/(e^2v + 1) for large v.
    vec4 e = exp(-2.0 * abs(v));
    return sign(v) * (1.0 - e) / (1.0 + e);
#elif defined(LEAKYRELU)
    return mix(alpha * v, v, greaterThan(v, vec4(0.0)));
#elif defined(RELU6)
    return clamp(v, 0.0, 6.0);
#elif defined(SILU)
    return v / (1.0 + exp(-v));
#elif defined(HARDSIGMOID)
    return clamp(v + 3.0, 0.0, 6.0) / 6.0;
#elif defined(HARDSWISH)
    return v * clamp(v + 3.0, 0.0, 6.0) / 6.0;
#else
#error "activation.comp: no activation variant defined"
#endif
}

void main()
{
    int i = flatIndex();
    if (i >= count) return;
    y[i] = activate(x[i]);
}

#elif defined(BACKWARD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { vec4 x[]; };
layout(std430, binding = INPUT1) readonly buffer OutputBuffer { vec4 y[]; };
layout(std430, binding = INPUT2) readonly buffer OutputGradBuffer { vec4 dy[]; };
layout(std430, binding = OUTPUT0) buffer InputGradBuffer { vec4 dx[]; };

// In the forward pass this was y = f(x): dx += f′·dy.
void main()
{
    int i = flatIndex();
    if (i >= count) return;
    vec4 v = x[i];
#if defined(RELU)
    vec4 slope = vec4(greaterThan(v, vec4(0.0)));
#elif defined(SIGMOID)
    vec4 slope = y[i] * (1.0 - y[i]);
#elif defined(TANH)
    vec4 slope = 1.0 - y[i] * y[i];
#elif defined(LEAKYRELU)
    vec4 slope = mix(vec4(alpha), vec4(1.0), greaterThan(v, vec4(0.0)));
#elif defined(RELU6)
    vec4 slope = vec4(greaterThan(v, vec4(0.0))) * vec4(lessThan(v, vec4(6.0)));
#elif defined(SILU)
    vec4 s = 1.0 / (1.0 + exp(-v));
    vec4 slope = s * (1.0 + v * (1.0 - s));
#elif defined(HARDSIGMOID)
    vec4 slope = vec4(greaterThan(v, vec4(-3.0))) * vec4(lessThan(v, vec4(3.0))) / 6.0;
#elif defined(HARDSWISH)
    vec4 slope = mix(mix(vec4(1.0), v / 3.0 + 0.5, lessThan(v, vec4(3.0))), vec4(0.0), lessThan(v, vec4(-3.0)));
#else
#error "activation.comp: no activation variant defined"
#endif
    dx[i] += slope * dy[i];
}
#endif
