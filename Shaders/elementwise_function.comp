#version 430
// elementwise_function.comp: element-wise math functions y = f(x), forward and backward side by side.
// Variants: FORWARD or BACKWARD, with one of NEG, ABS, RECIPROCAL, SQRT, EXP, LOG, ERF (UnaryOp's names, upper case).
//   Neg         y = −x       dy/dx = −1
//   Abs         y = |x|      dy/dx = sign x (0 at 0)
//   Reciprocal  y = 1/x      dy/dx = −y²                 (from the saved output)
//   Sqrt        y = √x       dy/dx = 1/(2y)              (from the saved output)
//   Exp         y = eˣ       dy/dx = y                   (from the saved output)
//   Log         y = ln x     dy/dx = 1/x
//   Erf         y = erf x    dy/dx = 2/√π·e^(−x²)
// Four elements per invocation (vec4), as activation.comp; GL tensors are allocated in whole vec4s.
#include "common.glsl"

uniform int count;   // vec4s

#if defined(ERF)
// erf from its Maclaurin series below |x| = 1 (13 terms, no cancellation there), and Abramowitz and Stegun 7.1.26
// (absolute error ≤ 1.5e-7, erf ≥ 0.84) above
vec4 erf4(vec4 v)
{
    vec4 a = abs(v);
    vec4 term = v, sum = v, square = v * v;
    for (int n = 1; n <= 13; n++)
    {
        term *= -square / float(n);
        sum += term / float(2 * n + 1);
    }
    vec4 series = 1.1283791671 * sum;
    vec4 t = 1.0 / (1.0 + 0.3275911 * a);
    vec4 poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    vec4 tail = sign(v) * (1.0 - poly * exp(-a * a));
    return mix(series, tail, greaterThanEqual(a, vec4(1.0)));
}
#endif

#if defined(FORWARD)
layout(std430, binding = INPUT0) readonly buffer InputBuffer { vec4 x[]; };
layout(std430, binding = OUTPUT0) writeonly buffer OutputBuffer { vec4 y[]; };

vec4 function(vec4 v)
{
#if defined(NEG)
    return -v;
#elif defined(ABS)
    return abs(v);
#elif defined(RECIPROCAL)
    return 1.0 / v;
#elif defined(SQRT)
    return sqrt(v);
#elif defined(EXP)
    return exp(v);
#elif defined(LOG)
    return log(v);
#elif defined(ERF)
    return erf4(v);
#else
#error "elementwise_function.comp: no function variant defined"
#endif
}

void main()
{
    int i = flatIndex();
    if (i >= count) return;
    y[i] = function(x[i]);
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
#if defined(NEG)
    vec4 slope = vec4(-1.0);
#elif defined(ABS)
    vec4 slope = sign(v);
#elif defined(RECIPROCAL)
    vec4 slope = -(y[i] * y[i]);
#elif defined(SQRT)
    vec4 slope = 1.0 / (2.0 * y[i]);
#elif defined(EXP)
    vec4 slope = y[i];
#elif defined(LOG)
    vec4 slope = 1.0 / v;
#elif defined(ERF)
    vec4 slope = 1.1283791671 * exp(-v * v);
#else
#error "elementwise_function.comp: no function variant defined"
#endif
    dx[i] += dy[i] * slope;
}
#endif
