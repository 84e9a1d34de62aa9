// erf.glsl: the error function on vec4s, for elementwise_function.comp (Erf) and activation.glsl (GELU).
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
