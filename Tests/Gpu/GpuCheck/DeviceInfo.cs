using System.Text.Json.Nodes;
using NeuroPlugin.Backends.OpenGL;

namespace NeuroPlugin.GpuCheck;

/// <summary>The GL device the check runs on, and the backends it makes.</summary>
static class DeviceInfo
{
    public static JsonObject Describe()
    {
        using var device = GLDevice.CreateHeadless();
        return new JsonObject
        {
            ["renderer"] = device.Renderer,
            ["vendor"] = device.Vendor,
            ["version"] = device.Version,
            ["origin"] = device.Origin,
            ["description"] = device.Describe(),
            ["machine"] = $"{Environment.ProcessorCount} logical CPUs, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}",
        };
    }

    /// <summary><c>--validate shuffled|reversed</c> as options (seed from <c>--validate-seed</c>), or null.</summary>
    public static GLValidationOptions? Validation(CommandOptions options) => options.Get("validate") switch
    {
        null => null,
        "shuffled" => new GLValidationOptions(WorkGroupOrder.Shuffled, options.Int("validate-seed", 1)),
        "reversed" => new GLValidationOptions(WorkGroupOrder.Reversed),
        var other => throw new ArgumentException($"--validate {other}: expected shuffled or reversed"),
    };
}
