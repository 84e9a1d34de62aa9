#version 430
// augmentation.comp: data augmentation's pixel work, forward only (it rewrites the input batch). The random
// draws were made on the host and arrive as whole-number floats in a small per-sample parameter buffer.
// Variants, one invocation per element, each element written by exactly one invocation:
//   CROP_FLIP        y[n,c,i,j] = x[n,c, i + p[n].rowShift, j' + p[n].columnShift], j' = flip ? OW-1-j : j,
//                    fill outside x                                       p (N,3): rowShift, columnShift, flip
//   FILL_RECTANGLES  x[n,c,h,w] = fill inside [top,bottom) x [left,right), in place   p (N,4): top, left, bottom, right
//   MIX              y[n,r] = lambda*x[n,r] + (1-lambda)*x[partner,r]       p (N,3): partner, lambda, 1-lambda
#include "common.glsl"

uniform int count;          // elements
layout(std430, binding = INPUT1) readonly buffer ParameterBuffer { float p[]; };

#if defined(CROP_FLIP)
uniform ivec4 inputShape;   // (N,C,H,W)
uniform ivec4 outputShape;  // (N,C,OH,OW)
uniform float fill;
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = OUTPUT0) writeonly buffer OutputBuffer { float y[]; };

void main()
{
    int e = flatIndex();
    if (e >= count) return;
    int j = e % outputShape.w, i = (e / outputShape.w) % outputShape.z, plane = e / (outputShape.w * outputShape.z);
    int n = plane / outputShape.y;
    int h = i + int(p[n * 3]);
    int w = (p[n * 3 + 2] != 0.0 ? outputShape.w - 1 - j : j) + int(p[n * 3 + 1]);
    bool inside = h >= 0 && h < inputShape.z && w >= 0 && w < inputShape.w;
    y[e] = inside ? x[(plane * inputShape.z + h) * inputShape.w + w] : fill;
}

#elif defined(FILL_RECTANGLES)
uniform ivec4 inputShape;   // (N,C,H,W)
uniform float fill;         // the value written
layout(std430, binding = OUTPUT0) buffer ImageBuffer { float x[]; };

void main()
{
    int e = flatIndex();
    if (e >= count) return;
    int w = e % inputShape.w, h = (e / inputShape.w) % inputShape.z, n = e / (inputShape.y * inputShape.z * inputShape.w);
    if (h >= int(p[n * 4]) && w >= int(p[n * 4 + 1]) && h < int(p[n * 4 + 2]) && w < int(p[n * 4 + 3])) x[e] = fill;
}

#elif defined(MIX)
uniform int row;            // values per sample, Length / N
layout(std430, binding = INPUT0) readonly buffer InputBuffer { float x[]; };
layout(std430, binding = OUTPUT0) writeonly buffer OutputBuffer { float y[]; };

void main()
{
    int e = flatIndex();
    if (e >= count) return;
    int n = e / row;
    int partner = int(p[n * 3]);
    y[e] = p[n * 3 + 1] * x[e] + p[n * 3 + 2] * x[partner * row + e % row];
}
#endif
