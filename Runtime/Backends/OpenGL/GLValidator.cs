using Silk.NET.OpenGL;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// Validation mode at work (<see cref="GLValidationOptions"/>, <see cref="GLDevice.Validation"/>): checks each dispatch's
/// bindings against the kernel's <see cref="ShaderInterface"/>, reports its accesses to the <see cref="GLHazardTracker"/>,
/// and runs its work groups one dispatch each in the configured order. Allocates; a debugging mode.
/// </summary>
internal sealed class GLValidator
{
    readonly Random random;
    int[] order = new int[64];

    public GLValidator(GLValidationOptions options)
    {
        Options = options;
        random = new Random(options.Seed);
    }

    public GLValidationOptions Options { get; }
    public GLHazardTracker Tracker { get; } = new();

    /// <summary>Checks and records the accesses of a dispatch of <paramref name="program"/> with the bindings set since
    /// the last dispatch (<paramref name="bindings"/>, <paramref name="generation"/>).</summary>
    public void CheckBindings(ComputeProgram program, ReadOnlySpan<GLDevice.BoundStorage> bindings, long generation)
    {
        var shader = program.Interface;
        var blocks = shader.Blocks;
        for (int i = 0; i < blocks.Count; i++)
        {
            var block = blocks[i];
            var bound = (uint)block.Binding < (uint)bindings.Length ? bindings[block.Binding] : default;
            if (bound.Handle == 0 || bound.Generation != generation)
                throw new GLHazardException(GLHazard.UnboundBinding, program.Name, bound.Label ?? "(none)",
                    $"GL validation: {GLHazard.UnboundBinding}: kernel {program.Name} uses storage block {block.Name} at binding {block.Binding}, " +
                    (bound.Handle == 0 ? "but no buffer was ever bound there" : $"but nothing was bound there for this dispatch (buffer '{bound.Label}' is left over from an earlier kernel)"));
        }
        for (int i = 0; i < blocks.Count; i++)
            for (int j = i + 1; j < blocks.Count; j++)
            {
                var (a, b) = (blocks[i], blocks[j]);
                if (a.Access == StorageAccess.Read && b.Access == StorageAccess.Read) continue;
                var (x, y) = (bindings[a.Binding], bindings[b.Binding]);
                if (x.Handle != y.Handle || x.Offset + x.Size <= y.Offset || y.Offset + y.Size <= x.Offset) continue;
                if (shader.IsInPlace(a.Binding, b.Binding)) continue;
                throw new GLHazardException(GLHazard.AliasedBinding, program.Name, x.Label ?? "",
                    $"GL validation: {GLHazard.AliasedBinding}: kernel {program.Name} has buffer '{x.Label}' at binding {a.Binding} ({a.Name}, {a.Access}) " +
                    $"and at binding {b.Binding} ({b.Name}, {b.Access}); a kernel that reads and writes one buffer must declare it with #pragma neuro_in_place");
            }
        Tracker.BeginCommand();
        for (int i = 0; i < blocks.Count; i++)
        {
            var block = blocks[i];
            var bound = bindings[block.Binding];
            Tracker.Kernel(program.Name, bound.Handle, bound.Label ?? "", bound.Offset, bound.Size,
                read: block.Access != StorageAccess.Write, write: block.Access != StorageAccess.Read);
        }
    }

    /// <summary>Runs work groups [<paramref name="first"/>, <paramref name="end"/>) of a grid <paramref name="groupsX"/>
    /// wide, numbered row by row (<c>y·groupsX + x</c>: the whole grid, or a work slice's window of it), as one
    /// <c>glDispatchCompute(1, 1, 1)</c> per group, in the configured order (the kernel adds the group's position from
    /// the <c>groupOffset</c> and <c>groupOffsetY</c> uniforms).</summary>
    public void DispatchEachGroup(GL gl, uint program, int groupOffsetLocation, int groupOffsetYLocation, long groupsX, long first, long end)
    {
        int total = checked((int)(end - first));
        if (order.Length < total) order = new int[Math.Max(total, order.Length * 2)];
        for (int i = 0; i < total; i++) order[i] = Options.Order == WorkGroupOrder.Reversed ? total - 1 - i : i;
        if (Options.Order == WorkGroupOrder.Shuffled)
            for (int i = total - 1; i > 0; i--)
            {
                int k = random.Next(i + 1);
                (order[i], order[k]) = (order[k], order[i]);
            }
        for (int i = 0; i < total; i++)
        {
            long group = first + order[i];
            gl.ProgramUniform1(program, groupOffsetLocation, (uint)(group % groupsX));
            gl.ProgramUniform1(program, groupOffsetYLocation, (uint)(group / groupsX));
            gl.DispatchCompute(1, 1, 1);
        }
    }
}
