// window2d.glsl: the sliding-window geometry of convolution and pooling (Window2d on the C# side).
// Tap (p,q) of output (i,j) reads input (i·SH − PT + p·DH, j·SW − PL + q·DW).
// The geometry is compiled in: GLBackend defines KH, KW (kernel), SH, SW (stride), PT, PL (top/left
// padding) and DH, DW (dilation) per layer, so tap loops unroll and divisions by the stride become
// multiplications (a runtime integer division costs tens of cycles per lane on llvmpipe).
// Bottom/right padding only set the output size, which the caller allocated.
uniform ivec4 inputShape;   // (N, C, H, W)
uniform ivec4 outputShape;  // (N, C or O, OH, OW)

// The inverse map, for gathers in backward passes: the output position (one axis) whose tap `tap`
// reads input position i, or -1 when there is none (off the stride grid or outside the output).
int windowOutputFor(int i, int tapOffset, int s, int outputSize)
{
    int offset = i - tapOffset;       // tapOffset = tap·dilation − padding
    int o = max(offset, 0) / s;       // never divide a negative: its quotient is implementation-defined
    return (offset >= 0 && o * s == offset && o < outputSize) ? o : -1;
}
#define OUTPUT_ROW_FOR(iy, p) windowOutputFor(iy, (p) * DH - PT, SH, outputShape.z)
#define OUTPUT_COLUMN_FOR(ix, q) windowOutputFor(ix, (q) * DW - PL, SW, outputShape.w)

// How many taps of a window starting at `start` (one axis) land inside [0, size).
int tapsInside(int start, int taps, int d, int size)
{
    int inside = 0;
    for (int t = 0; t < taps; t++)
    {
        int at = start + t * d;
        inside += (at >= 0 && at < size) ? 1 : 0;
    }
    return inside;
}
