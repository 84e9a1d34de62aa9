using System.Runtime.CompilerServices;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.Cpu;

/// <summary>
/// A weight matrix W (O × K, row-major) packed as a <see cref="Gemm"/>'s op(B) = Wᵀ (K × O), the way
/// <see cref="GemmSource.PackColumns"/> packs it, for products that each take a block of <see cref="BlockColumns"/> of W's
/// rows (all of them, or a channels-last pair's blocks of channels): K in blocks of <see cref="Gemm.BlockDepth"/>, block b
/// from <c>b·BlockDepth·Ô</c> on, and inside it panels of <see cref="PanelColumns"/> columns, value (p, j) of the panel
/// at padded column ĉ at <c>ĉ·depth + p·nr + j</c>. Each block of rows is padded with zeros to a whole number of panels,
/// Ô columns in all, so a product on one block of rows finds its panels one after another.
/// </summary>
internal readonly record struct PackedPanels(float[] Panels, int Rows, int Depth, int PanelColumns, int BlockColumns)
{
    int PaddedBlock => Gemm.RoundUp(BlockColumns, PanelColumns);

    /// <summary>Ô: the padded columns of all blocks.</summary>
    public int PaddedRows => Rows / BlockColumns * PaddedBlock + Gemm.RoundUp(Rows % BlockColumns, PanelColumns);

    /// <summary>Floats of the whole pack: K·Ô.</summary>
    public int Length => Depth * PaddedRows;

    /// <summary>Where the panels of depths [p0, p0 + depth) and of W's rows (op(B)'s columns) from
    /// <paramref name="column"/> on start, or −1 where they are not laid out as one tile's pack (a block of K cut
    /// elsewhere, a column inside a panel).</summary>
    public int Start(int p0, int depth, int column)
    {
        if (Panels is null || p0 % Gemm.BlockDepth != 0 || depth != Math.Min(Gemm.BlockDepth, Depth - p0) || (uint)column >= (uint)Rows)
            return -1;
        int within = column % BlockColumns;
        return within % PanelColumns != 0 ? -1 : p0 * PaddedRows + (column / BlockColumns * PaddedBlock + within) * depth;
    }

    /// <summary>The first of W's rows in the panel at padded column <paramref name="padded"/> (a multiple of the panel
    /// width), and how many of its columns are W's.</summary>
    public (int Row, int Width) PanelAt(int padded)
    {
        int block = padded / PaddedBlock, within = padded % PaddedBlock, row = block * BlockColumns + within;
        return (row, Math.Min(PanelColumns, Math.Min(BlockColumns, Rows - block * BlockColumns) - within));
    }
}

/// <summary>
/// The packed weights of the layers whose GEMM takes the weights as op(B) (convolutions with the pixels as rows, the
/// expansions of channels-last pairs), kept per weight tensor between calls: those layers packed C·O floats on every
/// call, 9.5 % of MobileNet v2's batch-1 pass on one thread (`perf`, Zen 4). A pack is valid while its tensor's
/// <see cref="CpuTensorStorage.Version"/> is the one it was made at — every op that may write a tensor moves it on
/// (<see cref="CpuBackend.Data"/>), while the forward convolution reads its weights without doing so — and is made
/// again, in the same array, after any change (an optimizer step, an upload). Packs live as long as their tensors'
/// arrays (a weak table) and hold at most <see cref="MaxFloats"/> together; beyond that, layers pack on every call as
/// before. The packed values are the weights themselves, so the sums are the same bits either way.
/// </summary>
internal sealed class PackedWeights : IParallelWork
{
    /// <summary>Floats all packs may hold together (256 MiB): every pointwise layer of the zoo's models fits many times.</summary>
    public const long MaxFloats = 64L << 20;

    sealed class Entry
    {
        public long Version = -1;
        public PackedPanels Packed;
    }

    readonly ConditionalWeakTable<float[], Entry> entries = new();

    /// <summary>How many packs have been made (tests: a second pass with the same weights makes none).</summary>
    public int Packs { get; private set; }

    // the pack being made, read by the worker tasks
    float[] weights = [];
    PackedPanels target;
    int panels;

    /// <summary>
    /// The packed Wᵀ of <paramref name="weight"/>'s first <paramref name="rows"/> × <paramref name="depth"/> values
    /// (W row-major, O × K) in panels of <paramref name="panelColumns"/>, for products on blocks of
    /// <paramref name="blockColumns"/> rows; made now where the tensor has changed since the last pack (on up to
    /// <paramref name="threads"/> threads), or default where it would pass <see cref="MaxFloats"/>.
    /// </summary>
    public PackedPanels Find(Tensor weight, int rows, int depth, int panelColumns, int blockColumns, int threads)
    {
        var storage = (CpuTensorStorage)weight.Storage;
        float[] data = CpuBackend.ReadOnlyArrayOf(weight);
        long version = storage.Version;
        var wanted = new PackedPanels(null!, rows, depth, panelColumns, blockColumns);
        if (entries.TryGetValue(data, out var entry) && entry.Version == version && entry.Packed with { Panels = null! } == wanted)
            return entry.Packed;
        if (entry is null)
        {
            if (Total() + wanted.Length > MaxFloats) return default;
            entry = new Entry();
            entries.Add(data, entry);
        }
        float[] panelsArray = entry.Packed.Panels is { } old && old.Length == wanted.Length ? old : new float[wanted.Length];
        (weights, target) = (data, wanted with { Panels = panelsArray });
        panels = target.PaddedRows / panelColumns;
        int blocks = (depth + Gemm.BlockDepth - 1) / Gemm.BlockDepth;
        CpuWorkers.Shared.Run(this, blocks * panels, (long)rows * depth >= 1 << 16 ? threads : 1);
        (entry.Packed, entry.Version) = (target, version);
        (weights, target) = ([], default);
        Packs++;
        return entry.Packed;
    }

    /// <summary>Floats held by the packs whose tensors are alive (counted when a new one is added, which is rare).</summary>
    long Total()
    {
        long total = 0;
        foreach (var pair in entries) total += pair.Value.Packed.Panels?.Length ?? 0;
        return total;
    }

    /// <summary>Task: one panel of one block of K.</summary>
    void IParallelWork.Run(int task, int participant)
    {
        int block = task / panels, padded = task % panels * target.PanelColumns, nr = target.PanelColumns;
        int p0 = block * Gemm.BlockDepth, depth = Math.Min(Gemm.BlockDepth, target.Depth - p0);
        var (row, width) = target.PanelAt(padded);
        DenseSource.PackTransposedPanel(weights, row * target.Depth + p0, target.Depth, width, depth,
            target.Panels.AsSpan(p0 * target.PaddedRows + padded * depth, nr * depth), nr);
    }
}
