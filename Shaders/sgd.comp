#version 430
// sgd.comp: stochastic gradient descent, element-wise, four elements per invocation (GL tensors are
// allocated in whole vec4s). Variants:
//   (none)     w ← w − lr·g
//   MOMENTUM   v ← μ·v + g,  w ← w − lr·v   (PyTorch's SGD with momentum)
#include "common.glsl"

layout(std430, binding = 0) readonly buffer GradientBuffer { vec4 g[]; };
layout(std430, binding = 3) buffer ParameterBuffer { vec4 w[]; };
#if defined(MOMENTUM)
layout(std430, binding = 4) buffer VelocityBuffer { vec4 v[]; };
uniform float momentum;
#endif
uniform int count; // vec4s
uniform float learningRate;

void main()
{
    int i = flatIndex();
    if (i >= count) return;
#if defined(MOMENTUM)
    vec4 velocity = momentum * v[i] + g[i];
    v[i] = velocity;
    w[i] -= learningRate * velocity;
#else
    w[i] -= learningRate * g[i];
#endif
}
