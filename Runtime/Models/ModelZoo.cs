using NeuroPlugin.Graph;

namespace NeuroPlugin.Models;

/// <summary>
/// What a zoo builder needs to know about the data: input channels, square image size, class count; and
/// <see cref="WidthDivisor"/>, which divides every published channel count (and hidden width, and ResNeXt's
/// group count) by an integer, rounding down, at least 1: 1 is the published network, larger values give the same
/// structure narrower, for tests and small devices.
/// </summary>
public sealed record ModelOptions(int InputChannels = 1, int ImageSize = 28, int Classes = 10, int WidthDivisor = 1)
{
    /// <summary>The ImageNet configuration torchvision's models use: 3×<paramref name="imageSize"/>², 1000 classes.</summary>
    public static ModelOptions ImageNet(int imageSize = 224) => new(3, imageSize, 1000);

    /// <summary>The CIFAR configuration: 3×32×32, 10 classes.</summary>
    public static ModelOptions Cifar => new(3, 32, 10);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first field out of range.</summary>
    public void Validate()
    {
        if (InputChannels < 1) throw new ArgumentOutOfRangeException(nameof(InputChannels), InputChannels, "InputChannels must be positive");
        if (ImageSize < 1) throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "ImageSize must be positive");
        if (Classes < 1) throw new ArgumentOutOfRangeException(nameof(Classes), Classes, "Classes must be positive");
        if (WidthDivisor < 1) throw new ArgumentOutOfRangeException(nameof(WidthDivisor), WidthDivisor, "WidthDivisor must be positive");
    }
}

/// <summary>
/// The model zoo: network builders by lower-case name, used by the command line and the editor. Every builder takes
/// <see cref="ModelOptions"/>; the networks torchvision also has are, at <see cref="ModelOptions.ImageNet"/>, exactly
/// torchvision's (parameter count and every parameter's name and shape). Images smaller than a network accepts give
/// <see cref="ModelInputException"/> naming the model and its smallest accepted size.
/// </summary>
public static class ModelZoo
{
    sealed record Entry(Func<ModelOptions, NetworkGraph> Build, ModelOptions Reference);

    static readonly Dictionary<string, Entry> builders = new(StringComparer.OrdinalIgnoreCase)
    {
        ["lenet5"] = new(LeNet5.Build, new ModelOptions()),
        ["alexnet"] = new(AlexNet.Build, ModelOptions.ImageNet()),
        ["zfnet"] = new(ZfNet.Build, ModelOptions.ImageNet()),
        ["vgg11"] = new(Vgg.Build11, ModelOptions.ImageNet()),
        ["vgg16"] = new(Vgg.Build16, ModelOptions.ImageNet()),
        ["googlenet"] = new(GoogLeNet.Build, ModelOptions.ImageNet()),
        ["inception_v3"] = new(InceptionV3.Build, ModelOptions.ImageNet(299)),
        ["resnet18"] = new(ResNet.Build18, ModelOptions.ImageNet()),
        ["resnet34"] = new(ResNet.Build34, ModelOptions.ImageNet()),
        ["resnet50"] = new(ResNet.Build50, ModelOptions.ImageNet()),
        ["wide_resnet50_2"] = new(ResNet.BuildWide50x2, ModelOptions.ImageNet()),
        ["resnext50_32x4d"] = new(ResNet.BuildResNeXt50x32x4d, ModelOptions.ImageNet()),
        ["se_resnet50"] = new(ResNet.BuildSeResNet50, ModelOptions.ImageNet()),
        ["pyramidnet"] = new(PyramidNet.Build110, ModelOptions.Cifar),
        ["ror"] = new(Ror.Build110, ModelOptions.Cifar),
        ["fractalnet"] = new(FractalNet.Build, ModelOptions.Cifar),
        ["densenet121"] = new(DenseNet.Build121, ModelOptions.ImageNet()),
        ["xception"] = new(Xception.Build, ModelOptions.ImageNet(299)),
        ["squeezenet1_0"] = new(SqueezeNet.Build10, ModelOptions.ImageNet()),
        ["squeezenet1_1"] = new(SqueezeNet.Build11, ModelOptions.ImageNet()),
        ["mobilenet_v1"] = new(MobileNetV1.Build, ModelOptions.ImageNet()),
        ["mobilenet_v2"] = new(MobileNetV2.Build, ModelOptions.ImageNet()),
        ["resnet_cifar"] = new(ResNetCifar.Build20, ModelOptions.Cifar),
    };

    /// <summary>Every model name the zoo knows.</summary>
    public static IReadOnlyCollection<string> Names => builders.Keys;

    /// <summary>The configuration model <paramref name="name"/> was published for (ImageNet 3×224² or 3×299² with
    /// 1000 classes, CIFAR 3×32² with 10, LeNet-5's 1×28² with 10): what <see cref="Build"/> uses without options.</summary>
    public static ModelOptions ReferenceOptions(string name) => Find(name).Reference;

    /// <summary>
    /// Builds the graph of model <paramref name="name"/> for <paramref name="options"/> (default: the model's
    /// <see cref="ReferenceOptions"/>). Throws <see cref="UnknownModelException"/> for an unknown name,
    /// <see cref="ArgumentOutOfRangeException"/> for options out of range, and <see cref="ModelInputException"/> when
    /// the images are too small for the network.
    /// </summary>
    public static NetworkGraph Build(string name, ModelOptions? options = null)
    {
        var entry = Find(name);
        options ??= entry.Reference;
        options.Validate();
        try
        {
            return entry.Build(options);
        }
        catch (ShapeException e)
        {
            int? smallest = SmallestImageSize(entry, options);
            throw new ModelInputException(smallest is int size && size > options.ImageSize
                ? $"{name.ToLowerInvariant()} needs images of at least {size}×{size}, got {options.ImageSize}×{options.ImageSize} ({e.Message})"
                : $"{name.ToLowerInvariant()} cannot be built for {options}: {e.Message}", e);
        }
    }

    static Entry Find(string name) =>
        builders.TryGetValue(name, out var entry)
            ? entry
            : throw new UnknownModelException($"unknown model '{name}'; known models: {string.Join(", ", builders.Keys)}");

    /// <summary>The smallest square image size, from <paramref name="options"/>' own <see cref="ModelOptions.ImageSize"/>
    /// up to 1024, at which model <paramref name="name"/> builds with the other options unchanged (null if none does): what
    /// a caller shows or offers when <see cref="Build"/> refuses images that are too small.</summary>
    public static int? SmallestImageSize(string name, ModelOptions options)
    {
        options.Validate();
        var entry = Find(name);
        try
        {
            entry.Build(options);
            return options.ImageSize;
        }
        catch (ShapeException)
        {
            return SmallestImageSize(entry, options);
        }
    }

    /// <summary>The smallest image size above the failing one that builds (searched up to 1024; null if none does).</summary>
    static int? SmallestImageSize(Entry entry, ModelOptions options)
    {
        for (int size = options.ImageSize + 1; size <= 1024; size++)
        {
            try
            {
                entry.Build(options with { ImageSize = size });
                return size;
            }
            catch (ShapeException)
            {
            }
        }
        return null;
    }
}

/// <summary>A model name the zoo does not know.</summary>
public sealed class UnknownModelException(string message) : ArgumentException(message);

/// <summary>Images a zoo model cannot take (too small for its poolings and strides); the message names the model and
/// the smallest size it accepts.</summary>
public sealed class ModelInputException(string message, Exception inner) : ArgumentException(message, inner);
