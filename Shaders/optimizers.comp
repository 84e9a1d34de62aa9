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
//
// With MULTI_TENSOR, one dispatch updates every parameter of a step (a multi-tensor apply, GLBackend.UpdateParameters):
// w, g and each state are each one buffer holding all parameters' ranges (IBackend.AllocateGroup), and a table has one
// row per parameter — its first vec4 in the dispatch's flat index space, where its w, g and states start in their
// buffers (in vec4s) and its λ. An invocation finds its row by binary search and runs the same update on that
// parameter's vec4. AdamW's shrink 1 − lr·λ is then computed here, `precise` (no fused multiply-add), as the host
// computes it for one parameter, so both paths give the same bits.
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
#if defined(MULTI_TENSOR)
// a row per parameter: first vec4, where w, g, the first and the second state start (vec4s), λ
#define SEGMENT_COLUMNS 6
#include "segments.glsl"
#else
uniform float weightDecay;
#endif
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
uniform float stepSize;
uniform float secondMomentScale;
#if defined(MULTI_TENSOR)
uniform int decoupled; // AdamW: λ shrinks w instead of joining g
#else
uniform float shrink;
#endif
#endif

// The update of one vec4: w[wi] with gradient dw[gi] and state at si0 (first state) and si1 (second state), decay λ
// (coupled; 0 for AdamW) and, for Adam, the weights' shrink factor.
#if defined(ADAM)
void update(int wi, int gi, int si0, int si1, float weightDecay, float shrink)
#else
void update(int wi, int gi, int si0, int si1, float weightDecay)
#endif
{
    vec4 weight = w[wi];
    vec4 g = dw[gi] + weightDecay * weight;
#if defined(SGD)
#if defined(MOMENTUM)
    vec4 v = momentum * velocity[si0] + g;
    velocity[si0] = v;
    g = nesterov != 0 ? g + momentum * v : v;
#endif
    w[wi] = weight - learningRate * g;
#elif defined(ADAGRAD)
    vec4 h = state0[si0] + g * g;
    state0[si0] = h;
    w[wi] = weight - learningRate * (g / (sqrt(h) + epsilon));
#elif defined(RMSPROP)
    vec4 h = alpha * state0[si0] + (1.0 - alpha) * (g * g);
    state0[si0] = h;
    vec4 scaled = g / (sqrt(h) + epsilon);
#if defined(MOMENTUM)
    scaled = momentum * state1[si1] + scaled;
    state1[si1] = scaled;
#endif
    w[wi] = weight - learningRate * scaled;
#elif defined(ADAM)
    weight *= shrink;
    vec4 m = beta1 * state0[si0] + (1.0 - beta1) * g;
    vec4 v = beta2 * state1[si1] + (1.0 - beta2) * (g * g);
    state0[si0] = m;
    state1[si1] = v;
    w[wi] = weight - stepSize * (m / (sqrt(v) / secondMomentScale + epsilon));
#endif
}

void main()
{
    int i = flatIndex();
    if (i >= count || guardWord[0] != 0u) return;
#if defined(MULTI_TENSOR)
    int row = segmentOf(i, 0);
    int k = i - int(segmentValue(row, 0));
    int wi = int(segmentValue(row, 1)) + k, gi = int(segmentValue(row, 2)) + k;
    int si0 = int(segmentValue(row, 3)) + k, si1 = int(segmentValue(row, 4)) + k;
    float weightDecay = segmentValue(row, 5);
#if defined(ADAM)
    precise float shrink = decoupled != 0 ? 1.0 - learningRate * weightDecay : 1.0;
    update(wi, gi, si0, si1, decoupled != 0 ? 0.0 : weightDecay, shrink);
#else
    update(wi, gi, si0, si1, weightDecay);
#endif
#else
#if defined(ADAM)
    update(i, i, i, i, weightDecay, shrink);
#else
    update(i, i, i, i, weightDecay);
#endif
#endif
}
