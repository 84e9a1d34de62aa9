using NeuroPlugin.Data;
using NeuroPlugin.Graph;
using NeuroPlugin.Models;

namespace NeuroPlugin.Search;

/// <summary>
/// The architectures the search explores, built from the zoo's own blocks (ResNet's basic block, MobileNet's separable
/// and inverted residual blocks, squeeze-and-excitation, VGG's conv → BN → ReLU), and the two random operations of
/// regularized evolution over them: <see cref="Sample"/> (a uniformly drawn architecture, for the first population) and
/// <see cref="Mutate"/> (one random change, Real et al. 2019). Every choice is drawn from a <see cref="SplitMix64"/>, so
/// the same generator state gives the same architecture on every machine.
/// </summary>
public static class SearchSpace
{
    /// <summary>Channels of the stem.</summary>
    public static readonly int[] StemWidths = [4, 8, 12, 16, 24];
    /// <summary>Channels of a stage's blocks.</summary>
    public static readonly int[] Widths = [8, 12, 16, 24, 32, 48];
    /// <summary>Spatial kernel sizes (odd, padded by k/2 so stride 1 keeps H×W).</summary>
    public static readonly int[] KernelSizes = [3, 5];
    /// <summary>An inverted residual's expansion factors t.</summary>
    public static readonly int[] Expansions = [2, 4, 6];
    /// <summary>At most this many stages, and blocks per stage.</summary>
    public const int MaxStages = 4, MaxDepth = 3;
    /// <summary>At most this many halvings in all (28 → 14 → 7 → 3).</summary>
    public const int MaxDownsamples = 3;
    /// <summary>Squeeze-and-excitation's reduction r inside searched networks (the small widths here make ResNet's 16 too coarse).</summary>
    public const int SqueezeReduction = 4;

    static readonly SearchBlock[] Blocks = Enum.GetValues<SearchBlock>();
    static readonly SearchDownsample[] Downsamples = Enum.GetValues<SearchDownsample>();
    static readonly SearchHead[] Heads = Enum.GetValues<SearchHead>();

    /// <summary>A block kind's name in tables and logs: plain, residual, separable, inverted-residual.</summary>
    public static string BlockName(SearchBlock block) => block switch
    {
        SearchBlock.Plain => "plain",
        SearchBlock.Residual => "residual",
        SearchBlock.Separable => "separable",
        _ => "inverted-residual",
    };

    /// <summary>A downsampling's name: none, stride, maxpool, avgpool.</summary>
    public static string DownsampleName(SearchDownsample downsample) => downsample switch
    {
        SearchDownsample.None => "none",
        SearchDownsample.Stride => "stride",
        SearchDownsample.MaxPool => "maxpool",
        _ => "avgpool",
    };

    /// <summary>
    /// The network of <paramref name="genome"/> for <paramref name="options"/>' input and classes: stem, stages (node names
    /// <c>stage{s}.{b}.…</c>, each block by the zoo's builder), the head (global pooling or a flatten), <c>fc</c>. Throws <see cref="GraphException"/>
    /// naming the node when the image is too small for the genome's downsampling.
    /// </summary>
    public static NetworkGraph Build(SearchGenome genome, ModelOptions options)
    {
        var g = new ZooGraph(options);
        string x = g.ConvBnAct("stem.conv", "stem.bn", "stem.relu", g.Input, genome.StemWidth, genome.StemKernel, padding: genome.StemKernel / 2);
        for (int s = 0; s < genome.Stages.Count; s++)
        {
            var stage = genome.Stages[s];
            string name = $"stage{s + 1}";
            int stride = stage.Downsample == SearchDownsample.Stride ? 2 : 1;
            if (stage.Downsample == SearchDownsample.MaxPool) x = g.MaxPool($"{name}.pool", x, 2, 2);
            if (stage.Downsample == SearchDownsample.AveragePool) x = g.Add($"{name}.pool", new AvgPool2d(2), x);
            for (int b = 0; b < stage.Depth; b++)
            {
                string block = $"{name}.{b}";
                int blockStride = b == 0 ? stride : 1;
                x = stage.Block switch
                {
                    SearchBlock.Plain => g.ConvBnAct($"{block}.conv", $"{block}.bn", $"{block}.relu", x, stage.Width, stage.KernelSize, blockStride,
                        padding: stage.KernelSize / 2),
                    SearchBlock.Residual => ResNet.BasicBlock(g, block, x, stage.Width, blockStride, stage.KernelSize),
                    SearchBlock.Separable => MobileNetV1.SeparableBlock(g, block, x, stage.Width, blockStride, stage.KernelSize),
                    _ => MobileNetV2.InvertedResidual(g, block, x, stage.Width, blockStride, stage.Expansion, stage.KernelSize),
                };
                if (stage.SqueezeExcitation) x = SqueezeExcitation.Apply(g, $"{block}.se", x, SqueezeReduction);
            }
        }
        x = genome.Head switch
        {
            SearchHead.Average => g.GlobalAveragePool("head.pool", x),
            SearchHead.Max => g.Add("head.pool.flatten", new Flatten(), g.Add("head.pool", new GlobalMaxPool2d(), x)),
            _ => g.Add("head.flatten", new Flatten(), x),
        };
        return g.Finish(g.Linear("fc", x, options.Classes));
    }

    /// <summary>An architecture with every choice drawn uniformly: 1 to 3 stages (at most <see cref="MaxDownsamples"/>
    /// halvings in all), each with its block, width, depth, kernel, downsampling, expansion and squeeze-and-excitation.</summary>
    internal static SearchGenome Sample(ref SplitMix64 random)
    {
        int stages = 1 + (int)random.NextBelow(3), downsamples = 0;
        var list = new List<SearchStage>(stages);
        for (int s = 0; s < stages; s++)
        {
            var stage = SampleStage(ref random, downsamples < MaxDownsamples);
            if (stage.Downsample != SearchDownsample.None) downsamples++;
            list.Add(stage);
        }
        return new SearchGenome(Pick(ref random, StemWidths), Pick(ref random, KernelSizes), list, Pick(ref random, Heads));
    }

    static SearchStage SampleStage(ref SplitMix64 random, bool mayDownsample) =>
        new(Pick(ref random, Blocks), Pick(ref random, Widths), 1 + (int)random.NextBelow(MaxDepth), Pick(ref random, KernelSizes),
            mayDownsample ? Pick(ref random, Downsamples) : SearchDownsample.None, Pick(ref random, Expansions), random.NextBelow(2) == 1);

    /// <summary>
    /// One random change of <paramref name="parent"/> (Real et al.'s mutation): the stem's width or kernel, the head, one
    /// stage's block, width, depth, kernel, downsampling, expansion (inverted residual stages) or squeeze-and-excitation, a
    /// stage inserted (a fresh random one) or removed. The child always differs from the parent and stays in the space
    /// (at most <see cref="MaxStages"/> stages and <see cref="MaxDownsamples"/> halvings). Returns the child and what
    /// changed, in words.
    /// </summary>
    internal static (SearchGenome Child, string Change) Mutate(SearchGenome parent, ref SplitMix64 random)
    {
        while (true)
        {
            var (child, change) = TryMutate(parent, ref random);
            if (child is not null && !child.Equals(parent) && Downsamplings(child) <= MaxDownsamples) return (child, change);
        }
    }

    static (SearchGenome? Child, string Change) TryMutate(SearchGenome parent, ref SplitMix64 random)
    {
        var stages = parent.Stages.ToList();
        int s = (int)random.NextBelow((uint)stages.Count);
        var stage = stages[s];
        string at = $"stage {s + 1}";
        switch (random.NextBelow(12))
        {
            case 0: return (parent with { StemWidth = Other(ref random, StemWidths, parent.StemWidth) }, "stem width");
            case 1: return (parent with { StemKernel = Other(ref random, KernelSizes, parent.StemKernel) }, "stem kernel");
            case 2: return (parent with { Head = Other(ref random, Heads, parent.Head) }, "head");
            case 3: stages[s] = stage with { Block = Other(ref random, Blocks, stage.Block) }; return (parent with { Stages = stages }, $"{at} block");
            case 4: stages[s] = stage with { Width = Other(ref random, Widths, stage.Width) }; return (parent with { Stages = stages }, $"{at} width");
            case 5: stages[s] = stage with { Depth = Other(ref random, [1, 2, 3], stage.Depth) }; return (parent with { Stages = stages }, $"{at} depth");
            case 6: stages[s] = stage with { KernelSize = Other(ref random, KernelSizes, stage.KernelSize) }; return (parent with { Stages = stages }, $"{at} kernel");
            case 7: stages[s] = stage with { Downsample = Other(ref random, Downsamples, stage.Downsample) }; return (parent with { Stages = stages }, $"{at} downsampling");
            case 8:
                if (stage.Block != SearchBlock.InvertedResidual) return (null, "");
                stages[s] = stage with { Expansion = Other(ref random, Expansions, stage.Expansion) };
                return (parent with { Stages = stages }, $"{at} expansion");
            case 9: stages[s] = stage with { SqueezeExcitation = !stage.SqueezeExcitation }; return (parent with { Stages = stages }, $"{at} squeeze-excitation");
            case 10:
                if (stages.Count >= MaxStages) return (null, "");
                int position = (int)random.NextBelow((uint)stages.Count + 1);
                stages.Insert(position, SampleStage(ref random, Downsamplings(parent) < MaxDownsamples));
                return (parent with { Stages = stages }, $"stage {position + 1} inserted");
            default:
                if (stages.Count <= 1) return (null, "");
                stages.RemoveAt(s);
                return (parent with { Stages = stages }, $"{at} removed");
        }
    }

    static int Downsamplings(SearchGenome genome) => genome.Stages.Count(s => s.Downsample != SearchDownsample.None);

    static T Pick<T>(ref SplitMix64 random, T[] choices) => choices[random.NextBelow((uint)choices.Length)];

    /// <summary>A choice other than <paramref name="current"/>, uniformly.</summary>
    static T Other<T>(ref SplitMix64 random, T[] choices, T current)
    {
        var others = choices.Where(c => !EqualityComparer<T>.Default.Equals(c, current)).ToArray();
        return others[random.NextBelow((uint)others.Length)];
    }
}
