using System.Globalization;
using System.Text;

namespace NeuroPlugin.Search;

/// <summary>The block a stage repeats, each one of the zoo's own builders (<see cref="Models.ZooBlocks"/>).</summary>
public enum SearchBlock
{
    /// <summary>conv k×k → BN → ReLU (VGG's unit).</summary>
    Plain,
    /// <summary>ResNet's basic block: two k×k convolutions with BN, plus the shortcut.</summary>
    Residual,
    /// <summary>MobileNet v1's depthwise-separable block: depthwise k×k → BN → ReLU → pointwise 1×1 → BN → ReLU.</summary>
    Separable,
    /// <summary>MobileNet v2's inverted residual: expand 1×1 (t·C) → depthwise k×k → project 1×1, plus the identity.</summary>
    InvertedResidual,
}

/// <summary>How a stage halves the feature map before its blocks (or does not).</summary>
public enum SearchDownsample
{
    /// <summary>Keeps H×W.</summary>
    None,
    /// <summary>The stage's first block runs with stride 2.</summary>
    Stride,
    /// <summary>A 2×2 max pool (stride 2) before the stage.</summary>
    MaxPool,
    /// <summary>A 2×2 average pool (stride 2) before the stage.</summary>
    AveragePool,
}

/// <summary>The pooling that turns the last feature map into the classifier's features.</summary>
public enum SearchHead
{
    /// <summary>Global average pooling (NiN, ResNet, MobileNet).</summary>
    Average,
    /// <summary>Global max pooling.</summary>
    Max,
}

/// <summary>
/// One stage of a <see cref="SearchGenome"/>: <see cref="Depth"/> blocks of kind <see cref="Block"/>, each with
/// <see cref="Width"/> output channels and <see cref="KernelSize"/>×<see cref="KernelSize"/> spatial kernels, after the
/// stage's <see cref="Downsample"/>; an inverted residual expands by <see cref="Expansion"/>; with
/// <see cref="SqueezeExcitation"/> every block's output is rescaled by squeeze-and-excitation (reduction 4).
/// </summary>
public sealed record SearchStage(SearchBlock Block, int Width, int Depth, int KernelSize, SearchDownsample Downsample,
    int Expansion, bool SqueezeExcitation)
{
    /// <summary>A compact text form, e.g. <c>residual w16 d2 k3 /2stride se</c> (the tables' and the log's).</summary>
    public override string ToString()
    {
        var text = new StringBuilder(SearchSpace.BlockName(Block));
        text.Append(CultureInfo.InvariantCulture, $" w{Width} d{Depth} k{KernelSize}");
        if (Block == SearchBlock.InvertedResidual) text.Append(CultureInfo.InvariantCulture, $" t{Expansion}");
        if (Downsample != SearchDownsample.None) text.Append(" /2").Append(SearchSpace.DownsampleName(Downsample));
        if (SqueezeExcitation) text.Append(" se");
        return text.ToString();
    }
}

/// <summary>
/// An architecture of the search space as data: a stem (conv <see cref="StemKernel"/>×<see cref="StemKernel"/> to
/// <see cref="StemWidth"/> channels → BN → ReLU), one to <see cref="SearchSpace.MaxStages"/> stages, and a head (global
/// <see cref="Head"/> pooling → Linear to the classes). <see cref="SearchSpace.Build"/> turns it into a graph.
/// Equality is by value (stages compared in order).
/// </summary>
public sealed record SearchGenome(int StemWidth, int StemKernel, IReadOnlyList<SearchStage> Stages, SearchHead Head)
{
    public bool Equals(SearchGenome? other) =>
        other is not null && StemWidth == other.StemWidth && StemKernel == other.StemKernel && Head == other.Head && Stages.SequenceEqual(other.Stages);

    public override int GetHashCode() => HashCode.Combine(StemWidth, StemKernel, Head, Stages.Count);

    /// <summary>A compact text form: <c>stem w8 k3 | residual w16 d2 k3 /2stride | … | avg</c>.</summary>
    public override string ToString() =>
        $"stem w{StemWidth} k{StemKernel} | {string.Join(" | ", Stages)} | {(Head == SearchHead.Average ? "avg" : "max")}";
}
