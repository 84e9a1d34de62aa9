namespace NeuroPlugin.Backends;

/// <summary>Element-wise activation functions. Formulas and derivatives:
/// <list type="bullet">
/// <item>ReLU: <c>y = max(0, x)</c>; <c>dy/dx = 1 if x &gt; 0 else 0</c>.</item>
/// <item>Sigmoid: <c>y = 1 / (1 + e^−x)</c>; <c>dy/dx = y(1 − y)</c>.</item>
/// <item>Tanh: <c>y = tanh x</c>; <c>dy/dx = 1 − y²</c>.</item>
/// </list></summary>
public enum ActivationKind
{
    ReLU,
    Sigmoid,
    Tanh,
}
