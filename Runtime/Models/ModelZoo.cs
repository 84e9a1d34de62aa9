using NeuroPlugin.Graph;

namespace NeuroPlugin.Models;

/// <summary>What a zoo builder needs to know about the data: input channels, square image size, class count.</summary>
public sealed record ModelOptions(int InputChannels = 1, int ImageSize = 28, int Classes = 10);

/// <summary>The model zoo: network builders by name (<c>lenet5</c>, …), used by the command line and the editor.</summary>
public static class ModelZoo
{
    static readonly Dictionary<string, Func<ModelOptions, NetworkGraph>> builders = new(StringComparer.OrdinalIgnoreCase)
    {
        ["lenet5"] = LeNet5.Build,
    };

    /// <summary>Every model name the zoo knows.</summary>
    public static IReadOnlyCollection<string> Names => builders.Keys;

    /// <summary>Builds the graph of model <paramref name="name"/>; throws <see cref="UnknownModelException"/> for an unknown name.</summary>
    public static NetworkGraph Build(string name, ModelOptions? options = null) =>
        builders.TryGetValue(name, out var build)
            ? build(options ?? new ModelOptions())
            : throw new UnknownModelException($"unknown model '{name}'; known models: {string.Join(", ", builders.Keys)}");
}

/// <summary>A model name the zoo does not know.</summary>
public sealed class UnknownModelException(string message) : ArgumentException(message);
