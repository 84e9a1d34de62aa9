using System.Text.Json.Nodes;
using NeuroPlugin.Backends;

namespace NeuroPlugin.Layers;

/// <summary>Writes and reads a <see cref="Window2d"/> as layer attributes (PyTorch's names: kernelSize, stride, padding, dilation).</summary>
internal static class WindowAttributes
{
    public static JsonObject Write(JsonObject attributes, Window2d w)
    {
        attributes["kernelSize"] = new JsonArray(w.KernelHeight, w.KernelWidth);
        attributes["stride"] = new JsonArray(w.StrideHeight, w.StrideWidth);
        attributes["padding"] = new JsonArray(w.PadTop, w.PadLeft, w.PadBottom, w.PadRight);
        attributes["dilation"] = new JsonArray(w.DilationHeight, w.DilationWidth);
        return attributes;
    }
}
