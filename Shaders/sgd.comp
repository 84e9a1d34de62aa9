#version 430
// sgd.comp: plain stochastic gradient descent, w ← w − lr·g, element-wise, four elements per
// invocation (GL tensors are allocated in whole vec4s).
#include "common.glsl"

layout(std430, binding = 0) readonly buffer GradientBuffer { vec4 g[]; };
layout(std430, binding = 3) buffer ParameterBuffer { vec4 w[]; };
uniform int count; // vec4s
uniform float learningRate;

void main()
{
    int i = flatIndex();
    if (i >= count) return;
    w[i] -= learningRate * g[i];
}
