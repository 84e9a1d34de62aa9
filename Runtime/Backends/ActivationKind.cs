namespace NeuroPlugin.Backends;

/// <summary>Element-wise activation functions, with PyTorch's formulas and its derivatives at the kinks
/// (where the derivative does not exist, PyTorch picks one side; the choice is given after "at"):
/// <list type="bullet">
/// <item>ReLU: <c>y = max(0, x)</c>; <c>dy/dx = 1 if x &gt; 0 else 0</c> (at 0: 0).</item>
/// <item>Sigmoid: <c>y = σ(x) = 1 / (1 + e^−x)</c>; <c>dy/dx = y(1 − y)</c>.</item>
/// <item>Tanh: <c>y = tanh x</c>; <c>dy/dx = 1 − y²</c>.</item>
/// <item>LeakyReLU: <c>y = x if x &gt; 0 else α·x</c>, α the negative slope (PyTorch's default 0.01);
///   <c>dy/dx = 1 if x &gt; 0 else α</c> (at 0: α).</item>
/// <item>ReLU6: <c>y = min(max(0, x), 6)</c>; <c>dy/dx = 1 if 0 &lt; x &lt; 6 else 0</c> (at 0 and 6: 0).</item>
/// <item>SiLU (Swish): <c>y = x·σ(x)</c>; <c>dy/dx = σ(x)·(1 + x·(1 − σ(x)))</c>.</item>
/// <item>HardSigmoid: <c>y = relu6(x + 3) / 6</c>; <c>dy/dx = 1/6 if −3 &lt; x &lt; 3 else 0</c> (at ±3: 0).</item>
/// <item>HardSwish: <c>y = x·relu6(x + 3) / 6</c>; <c>dy/dx = 0 if x &lt; −3, x/3 + 1/2 if x &lt; 3, else 1</c>
///   (at −3: −1/2, at 3: 1). PyTorch itself is inconsistent at 3: its CPU kernel gives 1 on the vectorized path
///   (every tensor of 16 or more elements, except a short tail) and 3/2 on the scalar one; CUDA gives 1 at 3 and 0 at −3.
///   Here: the CPU kernel's vectorized path, what PyTorch computes for almost every element.</item>
/// <item>GELU: <c>y = x·Φ(x) = x/2·(1 + erf(x/√2))</c>, Φ the standard normal distribution function (PyTorch's
///   <c>GELU()</c>); <c>dy/dx = Φ(x) + x·φ(x)</c>, <c>φ(x) = e^(−x²/2)/√(2π)</c>.</item>
/// <item>GELUTanh: <c>y = x/2·(1 + tanh u)</c>, <c>u = √(2/π)·(x + 0.044715·x³)</c> (PyTorch's <c>GELU(approximate='tanh')</c>);
///   <c>dy/dx = (1 + tanh u)/2 + x/2·(1 − tanh² u)·√(2/π)·(1 + 3·0.044715·x²)</c>.</item>
/// </list>
/// Backward reads the saved output for Sigmoid and Tanh, the input for the others.</summary>
public enum ActivationKind
{
    /// <summary>Rectified linear unit: <c>y = max(0, x)</c>.</summary>
    ReLU,
    /// <summary>Logistic sigmoid: <c>y = 1 / (1 + e^−x)</c>, in (0, 1).</summary>
    Sigmoid,
    /// <summary>Hyperbolic tangent: <c>y = tanh x</c>, in (−1, 1).</summary>
    Tanh,
    /// <summary>Leaky ReLU: <c>y = x if x &gt; 0 else α·x</c>, α the layer's negative slope.</summary>
    LeakyReLU,
    /// <summary>ReLU clipped at 6: <c>y = min(max(0, x), 6)</c> (MobileNet's activation).</summary>
    ReLU6,
    /// <summary>Sigmoid-weighted linear unit (Swish): <c>y = x·σ(x)</c>.</summary>
    SiLU,
    /// <summary>Piecewise-linear sigmoid: <c>y = relu6(x + 3) / 6</c>, in [0, 1].</summary>
    HardSigmoid,
    /// <summary>Piecewise-quadratic Swish: <c>y = x·relu6(x + 3) / 6</c> (MobileNetV3's activation).</summary>
    HardSwish,
    /// <summary>Gaussian error linear unit: <c>y = x·Φ(x) = x·(1 + erf(x/√2))/2</c> (PyTorch's <c>GELU()</c>, approximate='none').</summary>
    GELU,
    /// <summary>GELU's tanh approximation: <c>y = x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))/2</c> (PyTorch's <c>GELU(approximate='tanh')</c>).</summary>
    GELUTanh,
}
