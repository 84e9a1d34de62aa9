#version 430
// activation.comp: element-wise activations, forward and backward side by side.
// Variants: FORWARD or BACKWARD, with one of RELU, SIGMOID, TANH, LEAKYRELU, RELU6, SILU, HARDSIGMOID,
// HARDSWISH, GELU, GELUTANH (ActivationKind's names, upper case). Derivatives at the kinks take PyTorch's side.
//   ReLU         y = max(0, x)             dy/dx = 1 if x > 0 else 0
//   Sigmoid      y = 1 / (1 + e^−x)        dy/dx = y(1 − y)                      (from the saved output)
//   Tanh         y = tanh x                dy/dx = 1 − y²                        (from the saved output)
//   LeakyReLU    y = x if x > 0 else α·x   dy/dx = 1 if x > 0 else α
//   ReLU6        y = min(max(0, x), 6)     dy/dx = 1 if 0 < x < 6 else 0
//   SiLU         y = x·σ(x)                dy/dx = σ(x)·(1 + x·(1 − σ(x)))
//   HardSigmoid  y = relu6(x + 3) / 6      dy/dx = 1/6 if −3 < x < 3 else 0
//   HardSwish    y = x·relu6(x + 3) / 6    dy/dx = 0 if x < −3, x/3 + 1/2 if x < 3, else 1
//   GELU         y = x·Φ(x) = x/2·(1 + erf(x/√2))            dy/dx = Φ(x) + x·e^(−x²/2)/√(2π)
//   GELUTanh     y = x/2·(1 + tanh u), u = √(2/π)(x + 0.044715x³)
//                dy/dx = (1 + tanh u)/2 + x/2·(1 − tanh² u)·√(2/π)(1 + 3·0.044715x²)
// Four elements per invocation (vec4): a buffer load costs about the same for 4 floats as for 1 on
// llvmpipe. GL tensors are allocated in whole vec4s, so the last vector is in bounds (its padding
// lanes compute values nobody reads).
#include "common.glsl"
#include "activation.glsl"

uniform int count;   // vec4s

#if defined(FORWARD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { vec4 x[]; };
layout(std430, binding = OUTPUT0) writeonly buffer OutputBuffer { vec4 y[]; };

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
uniform int accumulate; // 0: dx = 0 + f′·dy, set without reading dx (its first contributor in a step)

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
#elif defined(GELU)
    vec4 slope = 0.5 * (1.0 + erf4(v * 0.7071067812)) + v * exp(-0.5 * v * v) * 0.3989422804;
#elif defined(GELUTANH)
    vec4 t = tanh4(geluTanhArgument(v));
    vec4 slope = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * 0.7978845608 * (1.0 + 3.0 * 0.044715 * v * v);
#else
#error "activation.comp: no activation variant defined"
#endif
    dx[i] = (accumulate != 0 ? dx[i] : vec4(0.0)) + slope * dy[i];
}
#endif
