using System.Text.RegularExpressions;
using Silk.NET.OpenGL;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>How a kernel may access a storage block: from its GLSL qualifiers (<c>readonly</c>, <c>writeonly</c>, neither).</summary>
internal enum StorageAccess { Read, Write, ReadWrite }

/// <summary>
/// The storage blocks a compiled kernel uses and how: the active blocks and their bindings as the driver reports them
/// (<c>glGetProgramResourceiv</c>, <c>GL_BUFFER_BINDING</c>), their access from the qualifiers in the source (the driver
/// does not report <c>readonly</c>), and the binding pairs the kernel declares in place with
/// <c>#pragma neuro_in_place(A, B)</c> (A and B may then be one buffer: the kernel reads and writes each element in one
/// invocation only). The source is the preprocessed text, read with its <c>#if</c>/<c>#ifdef</c> conditions evaluated
/// under the variant's defines. Built once per program, for validation mode.
/// </summary>
internal sealed partial class ShaderInterface
{
    /// <summary>One active storage block.</summary>
    public readonly record struct Block(int Binding, string Name, StorageAccess Access);

    ShaderInterface(Block[] blocks, (int, int)[] inPlace)
    {
        Blocks = blocks;
        InPlace = inPlace;
    }

    /// <summary>The active blocks, by binding.</summary>
    public IReadOnlyList<Block> Blocks { get; }
    /// <summary>Binding pairs declared in place.</summary>
    public IReadOnlyList<(int A, int B)> InPlace { get; }

    /// <summary>True when bindings <paramref name="a"/> and <paramref name="b"/> are declared in place.</summary>
    public bool IsInPlace(int a, int b)
    {
        foreach (var (x, y) in InPlace)
            if ((x == a && y == b) || (x == b && y == a)) return true;
        return false;
    }

    /// <summary>Reads the interface of <paramref name="program"/> compiled from <paramref name="source"/>.</summary>
    /// <exception cref="InvalidOperationException">The source and the driver disagree (a block the source does not
    /// declare, or at another binding): the validator cannot trust its reading.</exception>
    public static ShaderInterface Read(GL gl, uint program, string name, string source)
    {
        var (declared, inPlace) = ParseSource(source);
        gl.GetProgramInterface(program, ProgramInterface.ShaderStorageBlock, ProgramInterfacePName.ActiveResources, out int count);
        var blocks = new Block[count];
        for (int i = 0; i < count; i++)
        {
            string blockName = ResourceName(gl, program, (uint)i);
            int binding = ResourceBinding(gl, program, (uint)i);
            if (!declared.TryGetValue(blockName, out var block) || block.Binding != binding)
                throw new InvalidOperationException(
                    $"GL validation cannot read the interface of kernel {name}: the driver reports storage block {blockName} at binding {binding}, the source " +
                    (declared.TryGetValue(blockName, out var other) ? $"declares it at binding {other.Binding}" : "does not declare it in this variant"));
            blocks[i] = block;
        }
        return new ShaderInterface(blocks, inPlace.ToArray());
    }

    static unsafe string ResourceName(GL gl, uint program, uint index)
    {
        const int Capacity = 256;
        byte* name = stackalloc byte[Capacity];
        uint length;
        gl.GetProgramResourceName(program, ProgramInterface.ShaderStorageBlock, index, Capacity, &length, name);
        return System.Text.Encoding.UTF8.GetString(name, (int)length);
    }

    static unsafe int ResourceBinding(GL gl, uint program, uint index)
    {
        var property = ProgramResourceProperty.BufferBinding;
        int value;
        uint written;
        gl.GetProgramResource(program, ProgramInterface.ShaderStorageBlock, index, 1, &property, 1, &written, &value);
        return value;
    }

    [GeneratedRegex(@"layout\s*\((.*)\)\s*((?:(?:readonly|writeonly|coherent|volatile|restrict)\s+)*)buffer\s+(\w+)")]
    private static partial Regex BlockDeclaration();

    [GeneratedRegex(@"binding\s*=\s*([^,]+)")]
    private static partial Regex BindingQualifier();

    [GeneratedRegex(@"^\s*#\s*pragma\s+neuro_in_place\s*\(\s*([^,]+),\s*([^)]+)\)")]
    private static partial Regex InPlacePragma();

    /// <summary>The blocks declared in the active parts of <paramref name="source"/> and the in-place pragmas there.</summary>
    internal static (Dictionary<string, Block> Blocks, List<(int, int)> InPlace) ParseSource(string source)
    {
        var blocks = new Dictionary<string, Block>(StringComparer.Ordinal);
        var inPlace = new List<(int, int)>();
        var conditions = new ShaderConditions();
        foreach (var line in source.Split('\n'))
        {
            var pragma = InPlacePragma().Match(line);
            if (pragma.Success && conditions.IsActive)
                inPlace.Add((conditions.Evaluate(pragma.Groups[1].Value), conditions.Evaluate(pragma.Groups[2].Value)));
            if (conditions.Consume(line)) continue; // a preprocessor directive (evaluated) or a line in an inactive branch
            foreach (Match match in BlockDeclaration().Matches(line))
            {
                var binding = BindingQualifier().Match(match.Groups[1].Value);
                if (!binding.Success) continue;
                string qualifiers = match.Groups[2].Value;
                var access = qualifiers.Contains("readonly", StringComparison.Ordinal) ? StorageAccess.Read
                    : qualifiers.Contains("writeonly", StringComparison.Ordinal) ? StorageAccess.Write : StorageAccess.ReadWrite;
                string blockName = match.Groups[3].Value;
                blocks[blockName] = new Block(conditions.Evaluate(binding.Groups[1].Value.Trim()), blockName, access);
            }
        }
        return (blocks, inPlace);
    }
}
