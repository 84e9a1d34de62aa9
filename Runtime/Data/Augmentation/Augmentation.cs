namespace NeuroPlugin.Data;

/// <summary>
/// Data augmentation applied on the device to a batch already uploaded there (the plan's input, (N,C,H,W), and its
/// targets, (N,K)), transform after transform, in place:
/// <code>
/// using var augmentation = new Augmentation(seed: 1, new RandomCrop(28, 2), new RandomHorizontalFlip(), new Cutout(8));
/// plan.Input.Upload(loader.Images);
/// plan.Target!.Upload(loader.Targets);
/// augmentation.Apply(plan.Input, plan.Target, step);   // before TrainStep
/// </code>
/// <para>Random numbers: every per-sample parameter (crop offsets, flip bits, rectangles, λ and the permutation) is
/// drawn on the host from Philox4x32-10 (<see cref="CounterRandom"/>) keyed by (seed, transform index, step), and
/// uploaded as a small (N, width) tensor per transform; the device kernels only move pixels. The draws are a handful
/// of numbers per sample, so the host's cost is negligible, the results are identical on every backend by
/// construction (the GL kernels receive exactly the CPU's parameters), rejection sampling (Beta for mixup, Random
/// Erasing's retries) is ordinary code, and nothing is read back. The same seed and step give the same batch;
/// another step gives fresh draws, whatever steps came before.</para>
/// <para>Buffers (the parameter tensors, their host arrays, and the scratch copies that crop, flip and mixup gather
/// into) are allocated on the first <see cref="Apply"/> for a batch shape and reused, so a step allocates nothing on
/// the managed heap. The pipeline owns them; dispose it (before its backend).</para>
/// </summary>
public sealed class Augmentation : IDisposable
{
    readonly AugmentationTransform[] transforms;
    readonly float[][] hostParameters;
    readonly Tensor?[] deviceParameters;
    Tensor? imageScratch, targetScratch;

    /// <param name="seed">Seed of every draw.</param>
    /// <param name="transforms">Applied in this order; transform k draws from stream k.</param>
    public Augmentation(int seed, params AugmentationTransform[] transforms)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        foreach (var transform in transforms) ArgumentNullException.ThrowIfNull(transform, nameof(transforms));
        Seed = seed;
        this.transforms = (AugmentationTransform[])transforms.Clone();
        hostParameters = new float[transforms.Length][];
        deviceParameters = new Tensor?[transforms.Length];
    }

    /// <summary>Seed of every draw.</summary>
    public int Seed { get; }

    /// <summary>The transforms, in order.</summary>
    public IReadOnlyList<AugmentationTransform> Transforms => transforms;

    /// <summary>
    /// Augments <paramref name="images"/> (N,C,H,W) and, for mixup, <paramref name="targets"/> (N,K) in place with the
    /// draws of <paramref name="step"/>. Nothing is read back; after the first call for a shape nothing is allocated.
    /// </summary>
    /// <exception cref="ShapeException">The images are not (N,C,H,W), the targets are missing for mixup or have
    /// another batch size, or a transform does not fit the images (a crop size other than H and W).</exception>
    public void Apply(Tensor images, Tensor? targets, long step)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (transforms.Length == 0) return;
        IBackend backend = images.Backend;
        Prepare(backend, images, targets);
        uint seed = unchecked((uint)Seed), stepBits = unchecked((uint)step);
        for (int k = 0; k < transforms.Length; k++)
        {
            var random = new AugmentationRandom(seed, (uint)k, stepBits);
            transforms[k].Draw(ref random, images.Shape, hostParameters[k]);
            deviceParameters[k]!.Upload(hostParameters[k]);
            transforms[k].Run(backend, images, targets, imageScratch!, targetScratch, deviceParameters[k]!);
        }
    }

    /// <summary>Checks the shapes and (re)allocates the buffers when the batch shape or backend changed.</summary>
    void Prepare(IBackend backend, Tensor images, Tensor? targets)
    {
        bool mixes = false;
        foreach (var transform in transforms) mixes |= transform.MixesTargets;
        if (imageScratch is not null && imageScratch.Shape == images.Shape && ReferenceEquals(imageScratch.Backend, backend)
            && (!mixes || targets is not null && targetScratch is not null && targetScratch.Shape == targets.Shape && ReferenceEquals(targets.Backend, backend)))
            return;

        TensorShape shape = images.Shape;
        if (shape.Rank != 4) throw new ShapeException($"augmentation: images must be (N,C,H,W), got {shape}");
        if (mixes)
        {
            if (targets is null) throw new ShapeException("augmentation: mixup mixes the targets too, but no targets were given");
            if (targets.Shape.Rank != 2 || targets.Shape[0] != shape.N)
                throw new ShapeException($"augmentation: targets must be (N,K) with the images' N = {shape.N}, got {targets.Shape}");
            if (!ReferenceEquals(targets.Backend, backend))
                throw new ArgumentException($"augmentation: targets '{targets.Name}' live on backend {targets.Backend.Name}, the images on {backend.Name}", nameof(targets));
        }
        foreach (var transform in transforms) transform.Check(shape);

        ReleaseBuffers();
        imageScratch = backend.Allocate(shape, "augmentation.images");
        if (mixes) targetScratch = backend.Allocate(targets!.Shape, "augmentation.targets");
        for (int k = 0; k < transforms.Length; k++)
        {
            int width = transforms[k].ParametersPerSample;
            hostParameters[k] = new float[shape.N * width];
            deviceParameters[k] = backend.Allocate(new TensorShape(shape.N, width), $"augmentation.{k}.parameters");
        }
    }

    /// <summary>The parameters transform <paramref name="index"/> drew at the latest <see cref="Apply"/>, (N, width) row
    /// by row (for tests and inspection; a copy of the host array, no readback).</summary>
    public float[] LastParameters(int index) => (float[])hostParameters[index].Clone();

    void ReleaseBuffers()
    {
        imageScratch?.Dispose();
        targetScratch?.Dispose();
        imageScratch = targetScratch = null;
        for (int k = 0; k < deviceParameters.Length; k++)
        {
            deviceParameters[k]?.Dispose();
            deviceParameters[k] = null;
        }
    }

    /// <summary>Releases the scratch and parameter tensors. Safe to call twice.</summary>
    public void Dispose() => ReleaseBuffers();

    /// <summary>The names <see cref="Parse"/> accepts, in the order it applies them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["crop", "flip", "cutout", "erasing", "mixup"];

    /// <summary>
    /// A pipeline from a comma-separated list of names (<c>"crop,flip,cutout"</c>), each with defaults for small
    /// images like Fashion-MNIST's 28×28: <c>crop</c> = <see cref="RandomCrop"/>(size, padding 2, <paramref name="padValue"/>),
    /// <c>flip</c> = <see cref="RandomHorizontalFlip"/>(0.5), <c>cutout</c> = <see cref="Cutout"/>(8), <c>erasing</c> =
    /// <see cref="RandomErasing"/>(0.5), <c>mixup</c> = <see cref="Mixup"/>(α = 0.2, the paper's ImageNet value: mild
    /// mixing, which short runs tolerate better than α = 1). Transforms run in the list's order.
    /// </summary>
    /// <param name="names">Comma-separated names; spaces and case are ignored, an empty list gives no transforms.</param>
    /// <param name="imageSize">Height and width of the images (the crop's size).</param>
    /// <param name="seed">Seed of the draws.</param>
    /// <param name="padValue">The crop's padding value (the normalized value of a black pixel, to pad with black).</param>
    /// <exception cref="ArgumentException">An unknown or repeated name; the message lists the known ones.</exception>
    public static Augmentation Parse(string names, int imageSize, int seed, float padValue = 0f)
    {
        ArgumentNullException.ThrowIfNull(names);
        var list = new List<AugmentationTransform>();
        var seen = new HashSet<string>();
        foreach (string part in names.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            string name = part.ToLowerInvariant();
            if (!seen.Add(name)) throw new ArgumentException($"augmentation '{name}' is listed twice");
            list.Add(name switch
            {
                "crop" => new RandomCrop(imageSize, 2, padValue),
                "flip" => new RandomHorizontalFlip(0.5f),
                "cutout" => new Cutout(8),
                "erasing" => new RandomErasing(0.5f),
                "mixup" => new Mixup(0.2f),
                _ => throw new ArgumentException($"unknown augmentation '{part}'; known: {string.Join(", ", Names)}"),
            });
        }
        return new Augmentation(seed, list.ToArray());
    }
}
