namespace NeuroPlugin.Backends;

/// <summary>Element-wise math functions <c>y = f(x)</c> and their derivatives as PyTorch takes them (outside a function's
/// domain the result is NaN or ±∞, as in PyTorch; at a kink the value PyTorch picks is given after "at"):
/// <list type="bullet">
/// <item>Neg: <c>y = −x</c>; <c>dy/dx = −1</c>.</item>
/// <item>Abs: <c>y = |x|</c>; <c>dy/dx = sign x</c> (at 0: 0).</item>
/// <item>Reciprocal: <c>y = 1/x</c>; <c>dy/dx = −y²</c>.</item>
/// <item>Sqrt: <c>y = √x</c>; <c>dy/dx = 1/(2y)</c>.</item>
/// <item>Exp: <c>y = eˣ</c>; <c>dy/dx = y</c>.</item>
/// <item>Log: <c>y = ln x</c>; <c>dy/dx = 1/x</c>.</item>
/// <item>Erf: <c>y = erf x = 2/√π ∫₀ˣ e^(−t²) dt</c>; <c>dy/dx = 2/√π · e^(−x²)</c>.</item>
/// </list></summary>
public enum UnaryOp
{
    Neg,
    Abs,
    Reciprocal,
    Sqrt,
    Exp,
    Log,
    Erf,
}
