using System.Text.Json.Nodes;

namespace NeuroPlugin.Layers;

/// <summary>A <see cref="Window2d"/> as four layer attributes in PyTorch's names: <c>kernelSize</c> [KH, KW], <c>stride</c>
/// [SH, SW], <c>padding</c> [top, left, bottom, right] and <c>dilation</c> [DH, DW] (declared by
/// <see cref="LayerDescriptorBuilder{TLayer}.Window"/>).</summary>
internal sealed class WindowAttributes(LayerAttribute<int[]> kernelSize, LayerAttribute<int[]> stride, LayerAttribute<int[]> padding, LayerAttribute<int[]> dilation)
{
    /// <summary>The window in <paramref name="attributes"/>; <see cref="Tensors.ShapeException"/> when a field is out of range.</summary>
    public Window2d Read(JsonObject attributes)
    {
        int[] k = kernelSize.Read(attributes), s = stride.Read(attributes), p = padding.Read(attributes), d = dilation.Read(attributes);
        var window = new Window2d(k[0], k[1], s[0], s[1], p[0], p[1], p[2], p[3], d[0], d[1]);
        window.Validate("window");
        return window;
    }
}
