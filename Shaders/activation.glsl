// activation.glsl: the activations' forward formulas on vec4s (see activation.comp for the list and derivatives),
// for activation.comp and the convolution's fused epilogue (conv2d.comp's FUSED variants), so both give the same bits.
// The includer defines one of RELU, SIGMOID, TANH, LEAKYRELU, RELU6, SILU, HARDSIGMOID, HARDSWISH, GELU, GELUTANH.
#include "erf.glsl"

uniform float alpha; // LeakyReLU's negative slope (the other variants do not read it)

// tanh from e^(−2|v|) ≤ 1: never inf/inf, unlike (e^2v − 1)/(e^2v + 1) for large v.
vec4 tanh4(vec4 v)
{
    vec4 e = exp(-2.0 * abs(v));
    return sign(v) * (1.0 - e) / (1.0 + e);
}

// GELU's tanh form's argument u = √(2/π)(x + 0.044715x³)
vec4 geluTanhArgument(vec4 v)
{
    return 0.7978845608 * (v + 0.044715 * v * v * v);
}

vec4 activate(vec4 v)
{
#if defined(RELU)
    return max(v, vec4(0.0));
#elif defined(SIGMOID)
    return 1.0 / (1.0 + exp(-v));
#elif defined(TANH)
    return tanh4(v);
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
#elif defined(GELU)
    return 0.5 * v * (1.0 + erf4(v * 0.7071067812));
#elif defined(GELUTANH)
    return 0.5 * v * (1.0 + tanh4(geluTanhArgument(v)));
#else
#error "activation.glsl: no activation variant defined"
#endif
}

