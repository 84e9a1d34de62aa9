using NeuroPlugin.Graph;

namespace NeuroPlugin.Models;

/// <summary>
/// FractalNet (Larsson, Maire &amp; Shakhnarovich, 2016) for CIFAR: B = 5 blocks of C = 3 columns (depth 5·2^(C−1) = 20
/// convolutions), 64, 128, 256, 512, 512 channels, each block followed by 2×2 max pooling, then global average pool → fc
/// (the paper's 20-layer FractalNet; this layout has 33.7 M parameters). Within a block, column c (0 = shallowest) is a chain of 2^c units
/// (conv 3×3 → BN → ReLU); the block runs in 2^(C−1) steps, column c computing a unit every 2^(C−1−c) steps, and
/// after each step the columns that just computed are merged by a <see cref="FractalJoin"/> (element-wise mean), whose
/// output feeds all of them. This is the fractal expansion <c>f₁(z) = conv(z)</c>,
/// <c>f_{C+1}(z) = join(f_C(f_C(z)), conv(z))</c> with its nested joins merged into one join per depth.
/// <para>Drop-path is in the joins: local (each sample drops each input with probability 0.15, at least one kept) and
/// global (one column for the whole network and mini-batch) steps alternate at random, half each, per mini-batch, as in
/// the paper. Not implemented: the paper's per-block dropout rates (0, 0.1, 0.2, 0.3, 0.4) inside the units (the
/// <see cref="Dropout"/> layer exists; they are left out to keep the units as in most reimplementations).
/// Names: <c>blockB.colC.unitU.conv/bn/relu</c>, <c>blockB.joinS</c>.
/// Input (C,S,S), S ≥ 32 (five 2×2 poolings); output (classes).</para>
/// </summary>
public static class FractalNet
{
    /// <summary>The paper's 20-layer CIFAR FractalNet (3 columns, 5 blocks of 64/128/256/512/512 channels) for <paramref name="options"/>.</summary>
    public static NetworkGraph Build(ModelOptions options) => Build(options, columns: 3, channels: [64, 128, 256, 512, 512]);

    /// <summary>A FractalNet of <paramref name="columns"/> columns and one block per entry of <paramref name="channels"/>.</summary>
    public static NetworkGraph Build(ModelOptions options, int columns, IReadOnlyList<int> channels)
    {
        if (columns < 1 || columns > 8) throw new ArgumentOutOfRangeException(nameof(columns), columns, "FractalNet: columns must be in [1, 8]");
        if (channels.Count < 1) throw new ArgumentOutOfRangeException(nameof(channels), channels.Count, "FractalNet: needs at least one block");
        var g = new ZooGraph(options);
        string x = g.Input;
        for (int b = 0; b < channels.Count; b++)
        {
            x = Block(g, $"block{b + 1}", x, columns, g.Width(channels[b]));
            x = g.MaxPool($"block{b + 1}.pool", x, 2, 2);
        }
        x = g.GlobalAveragePool("avgpool", x);
        return g.Finish(g.Linear("fc", x, options.Classes));
    }

    static string Block(ZooGraph g, string name, string x, int columns, int channels)
    {
        var heads = new string[columns];  // each column's latest tensor
        var units = new int[columns];
        Array.Fill(heads, x);
        int steps = 1 << (columns - 1);
        var active = new List<int>(columns);
        for (int step = 1; step <= steps; step++)
        {
            active.Clear();
            for (int c = 0; c < columns; c++)
            {
                if (step % (1 << (columns - 1 - c)) != 0) continue;
                string unit = $"{name}.col{c}.unit{units[c]++}";
                heads[c] = g.ConvBnAct($"{unit}.conv", $"{unit}.bn", $"{unit}.relu", heads[c], channels, 3, padding: 1);
                active.Add(c);
            }
            if (active.Count == 1) continue;
            string joined = g.Add($"{name}.join{step}", new FractalJoin(active, columns), [.. active.Select(c => heads[c])]);
            foreach (int c in active) heads[c] = joined;
        }
        return heads[columns - 1];
    }
}
