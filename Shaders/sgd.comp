#version 430
// sgd.comp: plain stochastic gradient descent, w ← w − lr·g, element-wise.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer GradientBuffer { float g[]; };
layout(std430, binding = 3) buffer ParameterBuffer { float w[]; };
uniform int count;
uniform float learningRate;

void main()
{
    int i = flatIndex();
    if (i >= count) return;
    w[i] -= learningRate * g[i];
}
