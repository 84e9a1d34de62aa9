namespace NeuroPlugin.Backends;

/// <summary>Element-wise math functions <c>y = f(x)</c> and their derivatives as PyTorch takes them (outside a function's
/// domain the result is NaN or ±∞, as in PyTorch; at a kink the value PyTorch picks is given after "at").
/// Each member gives its formula and derivatives.</summary>
public enum UnaryOp
{
    /// <summary><c>y = −x</c>; <c>dy/dx = −1</c>.</summary>
    Neg,
    /// <summary><c>y = |x|</c>; <c>dy/dx = sign x</c> (at 0: 0).</summary>
    Abs,
    /// <summary><c>y = 1/x</c>; <c>dy/dx = −y²</c>.</summary>
    Reciprocal,
    /// <summary><c>y = √x</c>; <c>dy/dx = 1/(2y)</c>.</summary>
    Sqrt,
    /// <summary><c>y = eˣ</c>; <c>dy/dx = y</c>.</summary>
    Exp,
    /// <summary><c>y = ln x</c>; <c>dy/dx = 1/x</c>.</summary>
    Log,
    /// <summary><c>y = erf x = 2/√π ∫₀ˣ e^(−t²) dt</c>; <c>dy/dx = 2/√π · e^(−x²)</c>.</summary>
    Erf,
}
