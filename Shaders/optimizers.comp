#version 430
// optimizers.comp: torch.optim's update rules, element-wise and in place, four elements per invocation
// (GL tensors are allocated in whole vec4s; the padding of w, g and the state stays zero). Every rule starts
// from the gradient with coupled weight decay, g = ∇E + λ·w (λ = 0 when off). Variants:
//   SGD              w ← w − lr·g
//   SGD;MOMENTUM     v ← μ·v + g,  w ← w − lr·v,  or with nesterov ≠ 0  w ← w − lr·(g + μ·v)
//   ADAGRAD          h ← h + g²,  w ← w − lr·g / (√h + ε)
//   RMSPROP          h ← α·h + (1 − α)·g²,  w ← w − lr·g / (√h + ε)
//   RMSPROP;MOMENTUM h as above,  v ← μ·v + g / (√h + ε),  w ← w − lr·v
//   ADAM             w ← w·shrink (AdamW's decoupled decay, 1 otherwise),  m ← β₁·m + (1 − β₁)·g,
//                    v ← β₂·v + (1 − β₂)·g²,  w ← w − stepSize·m / (√v / secondMomentScale + ε)
//                    with the bias corrections stepSize = lr/(1 − β₁ᵗ), secondMomentScale = √(1 − β₂ᵗ) from the host
// Operations are written in the order torch.optim evaluates them, so rounding follows the same path.
// Every rule first reads the guard word (binding INPUT3: a non-finite report, IBackend.UpdateGuard, or zeros) and
// leaves w and its state untouched when it is set, so a bad step is skipped on the device without a readback.
#include "common.glsl"

layout(std430, binding = INPUT3) readonly buffer GuardBuffer { uint guardWord[]; };

layout(std430, binding = INPUT0) readonly buffer GradientBuffer { vec4 dw[]; };
layout(std430, binding = OUTPUT0) buffer ParameterBuffer { vec4 w[]; };
#if defined(ADAGRAD) || defined(RMSPROP) || defined(ADAM)
layout(std430, binding = OUTPUT1) buffer FirstStateBuffer { vec4 state0[]; };  // AdaGrad's sum, RMSProp's square_avg, Adam's exp_avg
#endif
#if defined(ADAM) || (defined(RMSPROP) && defined(MOMENTUM))
layout(std430, binding = OUTPUT2) buffer SecondStateBuffer { vec4 state1[]; }; // Adam's exp_avg_sq, RMSProp's momentum_buffer
#endif
#if defined(SGD) && defined(MOMENTUM)
layout(std430, binding = OUTPUT1) buffer VelocityBuffer { vec4 velocity[]; };   // momentum_buffer
uniform int nesterov;
#endif
uniform int count; // vec4s
uniform float learningRate;
uniform float weightDecay;
#if defined(MOMENTUM)
uniform float momentum;
#endif
#if defined(ADAGRAD) || defined(RMSPROP) || defined(ADAM)
uniform float epsilon;
#endif
#if defined(RMSPROP)
uniform float alpha;
#endif
#if defined(ADAM)
uniform float beta1;
uniform float beta2;
uniform float shrink;
uniform float stepSize;
uniform float secondMomentScale;
#endif

void main()
{
    int i = flatIndex();
    if (i >= count || guardWord[0] != 0u) return;
    vec4 weight = w[i];
    vec4 g = dw[i] + weightDecay * weight;
#if defined(SGD)
#if defined(MOMENTUM)
    vec4 v = momentum * velocity[i] + g;
    velocity[i] = v;
    g = nesterov != 0 ? g + momentum * v : v;
#endif
    w[i] = weight - learningRate * g;
#elif defined(ADAGRAD)
    vec4 h = state0[i] + g * g;
    state0[i] = h;
    w[i] = weight - learningRate * (g / (sqrt(h) + epsilon));
#elif defined(RMSPROP)
    vec4 h = alpha * state0[i] + (1.0 - alpha) * (g * g);
    state0[i] = h;
    vec4 update = g / (sqrt(h) + epsilon);
#if defined(MOMENTUM)
    update = momentum * state1[i] + update;
    state1[i] = update;
#endif
    w[i] = weight - learningRate * update;
#elif defined(ADAM)
    weight *= shrink;
    vec4 m = beta1 * state0[i] + (1.0 - beta1) * g;
    vec4 v = beta2 * state1[i] + (1.0 - beta2) * (g * g);
    state0[i] = m;
    state1[i] = v;
    w[i] = weight - stepSize * (m / (sqrt(v) / secondMomentScale + epsilon));
#endif
}
