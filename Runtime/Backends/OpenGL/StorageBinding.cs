namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// The shader storage binding points every kernel uses, by name: the one table that both sides read.
/// <see cref="ShaderLibrary"/> defines each name in every shader it compiles (<c>#define INPUT0 0</c> …), so a
/// kernel declares <c>layout(std430, binding = OUTPUT0) writeonly buffer …</c> and the C# side binds
/// <c>Output0</c>; no file writes a binding number. A kernel reads up to five tensors (Input0…Input4) and writes up
/// to four (Output0…Output3); <see cref="Output3"/> shares its slot with <see cref="Input3"/> (no kernel needs both),
/// so every kernel fits the 8 bindings OpenGL 4.3 guarantees.
/// </summary>
public static class StorageBinding
{
    /// <summary>First input (binding 0).</summary>
    public const int Input0 = 0;
    /// <summary>Second input (binding 1).</summary>
    public const int Input1 = 1;
    /// <summary>Third input (binding 2).</summary>
    public const int Input2 = 2;
    /// <summary>Main output, or the tensor an in-place or accumulating kernel updates (binding 3).</summary>
    public const int Output0 = 3;
    /// <summary>Second output (binding 4).</summary>
    public const int Output1 = 4;
    /// <summary>Third output (binding 5).</summary>
    public const int Output2 = 5;
    /// <summary>Fourth input (binding 6): batch norm's γ or saved 1/σ, the update rules' guard word.</summary>
    public const int Input3 = 6;
    /// <summary>Fourth output (binding 6, the slot of <see cref="Input3"/>): batch norm's running variance.</summary>
    public const int Output3 = 6;
    /// <summary>Fifth input (binding 7).</summary>
    public const int Input4 = 7;
    /// <summary>Binding points in use (0…7).</summary>
    public const int Count = 8;

    /// <summary>The names as <see cref="ShaderLibrary"/>'s define list: <c>INPUT0=0;…</c>.</summary>
    internal static readonly string Defines =
        $"INPUT0={Input0};INPUT1={Input1};INPUT2={Input2};INPUT3={Input3};INPUT4={Input4};" +
        $"OUTPUT0={Output0};OUTPUT1={Output1};OUTPUT2={Output2};OUTPUT3={Output3}";
}
