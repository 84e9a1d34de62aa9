#version 430
// elementwise.comp: y = a ∘ b with NumPy broadcasting, forward and backward side by side.
// Variants: FORWARD, GRADIENT_A or GRADIENT_B, with one of ADD, SUB, MUL, DIV, POW, MINIMUM, MAXIMUM (BinaryOp's
// names, upper case). Shapes are padded on the left to 4 axes; a and b are read through strides along the output's
// axes that are 0 where the operand is broadcast (Backends/BinaryOp.cs, Broadcast).
//   Add      y = a + b        ∂y/∂a = 1         ∂y/∂b = 1
//   Sub      y = a − b        ∂y/∂a = 1         ∂y/∂b = −1
//   Mul      y = a·b          ∂y/∂a = b         ∂y/∂b = a
//   Div      y = a / b        ∂y/∂a = 1/b       ∂y/∂b = −a/b²
//   Pow      y = a^b          ∂y/∂a = b·a^(b−1) (0 at b = 0)      ∂y/∂b = y·ln a (0 at a = 0, b ≥ 0)
//   Minimum  y = min(a, b)    the smaller operand takes dy, half each at a tie
//   Maximum  y = max(a, b)    the larger operand takes dy, half each at a tie
// The gradients gather: one invocation per operand element sums dy·∂y/∂operand over the output elements that read
// it, in output order (as the CPU backend does), so no atomics.
#include "common.glsl"

uniform int count;        // invocations that do work
uniform ivec4 outputDims; // y's sizes
uniform ivec4 stridesA;   // a's strides along y's axes (0 where a is broadcast)
uniform ivec4 stridesB;

layout(std430, binding = INPUT0) readonly buffer ABuffer { float a[]; };
layout(std430, binding = INPUT1) readonly buffer BBuffer { float b[]; };

const float notANumber = uintBitsToFloat(0x7FC00000u);
const float positiveInfinity = uintBitsToFloat(0x7F800000u);

// a^b as C's powf: GLSL's pow is undefined for a < 0 and for a = 0 with b ≤ 0
float power(float x, float e)
{
    if (e == 2.0) return x * x;
    if (e == 0.0) return 1.0;
    if (x == 0.0) return e > 0.0 ? 0.0 : positiveInfinity;
    float magnitude = pow(abs(x), e);
    if (x > 0.0) return magnitude;
    if (e != floor(e)) return notANumber;
    return mod(e, 2.0) == 1.0 ? -magnitude : magnitude;
}

float value(float x, float z)
{
#if defined(ADD)
    return x + z;
#elif defined(SUB)
    return x - z;
#elif defined(MUL)
    return x * z;
#elif defined(DIV)
    return x / z;
#elif defined(POW)
    return power(x, z);
#elif defined(MINIMUM)
    return isnan(x) || isnan(z) ? notANumber : min(x, z);
#elif defined(MAXIMUM)
    return isnan(x) || isnan(z) ? notANumber : max(x, z);
#else
#error "elementwise.comp: no op variant defined"
#endif
}

#if defined(FORWARD)
layout(std430, binding = OUTPUT0) writeonly buffer OutputBuffer { float y[]; };

void main()
{
    int o = flatIndex();
    if (o >= count) return;
    ivec4 c = ivec4(o / (outputDims.y * outputDims.z * outputDims.w), o / (outputDims.z * outputDims.w) % outputDims.y,
                    o / outputDims.w % outputDims.z, o % outputDims.w);
    y[o] = value(a[c.x * stridesA.x + c.y * stridesA.y + c.z * stridesA.z + c.w * stridesA.w],
                 b[c.x * stridesB.x + c.y * stridesB.y + c.z * stridesB.z + c.w * stridesB.w]);
}

#else
layout(std430, binding = INPUT2) readonly buffer OutputBuffer { float y[]; };
layout(std430, binding = INPUT3) readonly buffer OutputGradBuffer { float dy[]; };
layout(std430, binding = OUTPUT0) buffer OperandGradBuffer { float dx[]; };
uniform ivec4 operandDims; // the operand's sizes, padded to 4 axes
uniform ivec4 repeats;     // y's size on the axes where the operand is broadcast, 1 elsewhere

// ∂y/∂a or ∂y/∂b at (x, z) with output v
float partial(float x, float z, float v)
{
#if defined(GRADIENT_A)
    bool ofA = true;
#else
    bool ofA = false;
#endif
#if defined(ADD)
    return 1.0;
#elif defined(SUB)
    return ofA ? 1.0 : -1.0;
#elif defined(MUL)
    return ofA ? z : x;
#elif defined(DIV)
    return ofA ? 1.0 / z : -x / (z * z);
#elif defined(POW)
    if (ofA) return z == 0.0 ? 0.0 : z * power(x, z - 1.0);
    return x == 0.0 && z >= 0.0 ? 0.0 : v * log(x);
#elif defined(MINIMUM)
    return x == z ? 0.5 : ((ofA ? x < z : z < x) ? 1.0 : 0.0);
#elif defined(MAXIMUM)
    return x == z ? 0.5 : ((ofA ? x > z : z > x) ? 1.0 : 0.0);
#endif
}

// In the forward pass this was y = a ∘ b: d(operand) += Σ dy·∂y/∂operand over the y elements that read it.
void main()
{
    int i = flatIndex();
    if (i >= count) return;
    ivec4 c = ivec4(i / (operandDims.y * operandDims.z * operandDims.w), i / (operandDims.z * operandDims.w) % operandDims.y,
                    i / operandDims.w % operandDims.z, i % operandDims.w);
    bvec4 broadcast = greaterThan(repeats, ivec4(1));
    float sum = 0.0;
    for (int j0 = 0; j0 < repeats.x; j0++)
        for (int j1 = 0; j1 < repeats.y; j1++)
            for (int j2 = 0; j2 < repeats.z; j2++)
                for (int j3 = 0; j3 < repeats.w; j3++)
                {
                    // the output coordinate: the operand's own on its full axes, the repeat's on its broadcast ones
                    ivec4 oc = ivec4(broadcast.x ? j0 : c.x, broadcast.y ? j1 : c.y, broadcast.z ? j2 : c.z, broadcast.w ? j3 : c.w);
                    int o = ((oc.x * outputDims.y + oc.y) * outputDims.z + oc.z) * outputDims.w + oc.w;
                    float x = a[oc.x * stridesA.x + oc.y * stridesA.y + oc.z * stridesA.z + oc.w * stridesA.w];
                    float z = b[oc.x * stridesB.x + oc.y * stridesB.y + oc.z * stridesB.z + oc.w * stridesB.w];
                    sum += dy[o] * partial(x, z, y[o]);
                }
    dx[i] += sum;
}
#endif
