#version 430
// texture_input.comp: a game's texture becomes one sample of an NCHW network input, with no CPU readback
// (Backends/OpenGL/TextureInput.cs). The twin of ImageInputTransform's CPU loop, the same arithmetic in the same
// order. One invocation per output pixel (i,j), writing all C channels of y[batchIndex, c, i, j]:
//   rows     image row yi is texture row (bottomUp ? H-1-yi : yi)      (GL textures it rendered run bottom-up)
//   resize   AREA:     mean over rows [i*H/OH, ceil((i+1)*H/OH)) x columns [j*W/OW, ceil((j+1)*W/OW))
//            BILINEAR: s = (H/OH)*(i+0.5) - 0.5 clamped at 0, y0 = floor(s), y1 = min(y0+1, H-1), l = s - y0, same in x,
//                      v = (1-l)*((1-m)*t00 + m*t01) + l*((1-m)*t10 + m*t11)   (PyTorch, align_corners=False)
//   channels 0: (R,G,B)  1: (B,G,R)  2: 0.299 R + 0.587 G + 0.114 B
//   y        (scale*v - mean[c]) / std[c]
// Texels come from texelFetch (level 0, no filtering): RGBA8 as x/255, RGBA16F/RGBA32F as stored.
#include "common.glsl"

uniform sampler2D source;
uniform ivec2 sourceSize;   // (W, H) of level 0
uniform ivec4 outputShape;  // (N, C, OH, OW)
uniform int batchIndex;
uniform int bottomUp;
uniform int channels;
uniform float scale;
uniform vec3 mean;
uniform vec3 std;
layout(std430, binding = OUTPUT0) writeonly buffer OutputBuffer { float y[]; };

vec3 texel(int x, int imageRow)
{
    int row = bottomUp != 0 ? sourceSize.y - 1 - imageRow : imageRow;
    return texelFetch(source, ivec2(x, row), 0).rgb;
}

void main()
{
    int e = flatIndex();
    int height = outputShape.z, width = outputShape.w;
    if (e >= height * width) return;
    int i = e / width, j = e % width;
    vec3 v;
#if defined(BILINEAR)
    float sy = max(float(sourceSize.y) / float(height) * (float(i) + 0.5) - 0.5, 0.0);
    float sx = max(float(sourceSize.x) / float(width) * (float(j) + 0.5) - 0.5, 0.0);
    int y0 = int(sy), x0 = int(sx);
    int y1 = y0 < sourceSize.y - 1 ? y0 + 1 : y0, x1 = x0 < sourceSize.x - 1 ? x0 + 1 : x0;
    float wy = sy - float(y0), wx = sx - float(x0), uy = 1.0 - wy, ux = 1.0 - wx;
    v = uy * (ux * texel(x0, y0) + wx * texel(x1, y0)) + wy * (ux * texel(x0, y1) + wx * texel(x1, y1));
#else
    int top = i * sourceSize.y / height, bottom = ((i + 1) * sourceSize.y + height - 1) / height;
    int left = j * sourceSize.x / width, right = ((j + 1) * sourceSize.x + width - 1) / width;
    v = vec3(0.0);
    for (int r = top; r < bottom; r++)
        for (int c = left; c < right; c++)
            v += texel(c, r);
    v /= float((bottom - top) * (right - left));
#endif
    int plane = height * width;
    int at = batchIndex * outputShape.y * plane + e;
    if (channels == 2)
    {
        y[at] = (scale * (0.299 * v.r + 0.587 * v.g + 0.114 * v.b) - mean.x) / std.x;
    }
    else
    {
        vec3 ordered = channels == 1 ? v.bgr : v;
        y[at] = (scale * ordered.x - mean.x) / std.x;
        y[at + plane] = (scale * ordered.y - mean.y) / std.y;
        y[at + 2 * plane] = (scale * ordered.z - mean.z) / std.z;
    }
}
