namespace NeuroPlugin.Backends.Cpu;

// Augmentation's pixel work: shifted/mirrored copies, rectangle fills, mixing with a partner sample. Forward
// only (augmentation acts on the input batch); the per-sample parameters were drawn on the host.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void AugmentCropFlip(Tensor input, Tensor output, Tensor parameters, float fill)
    {
        if (Skips) return;
        Span<float> x = Data(input), y = Data(output), p = Data(parameters);
        TensorShape from = input.Shape, to = output.Shape;
        int height = from.H, width = from.W, outHeight = to.H, outWidth = to.W;
        for (int n = 0; n < to.N; n++)
        {
            int rowShift = (int)p[n * 3], columnShift = (int)p[n * 3 + 1];
            bool flip = p[n * 3 + 2] != 0f;
            for (int c = 0; c < to.C; c++)
            {
                Span<float> plane = x.Slice((n * from.C + c) * height * width, height * width);
                Span<float> result = y.Slice((n * to.C + c) * outHeight * outWidth, outHeight * outWidth);
                for (int i = 0; i < outHeight; i++)
                    for (int j = 0; j < outWidth; j++)
                    {
                        int h = i + rowShift, w = (flip ? outWidth - 1 - j : j) + columnShift;
                        result[i * outWidth + j] = h >= 0 && h < height && w >= 0 && w < width ? plane[h * width + w] : fill;
                    }
            }
        }
    }

    /// <inheritdoc/>
    public void AugmentFillRectangles(Tensor images, Tensor rectangles, float value)
    {
        if (Skips) return;
        Span<float> x = Data(images), r = Data(rectangles);
        TensorShape shape = images.Shape;
        for (int n = 0; n < shape.N; n++)
        {
            int top = (int)r[n * 4], left = (int)r[n * 4 + 1], bottom = (int)r[n * 4 + 2], right = (int)r[n * 4 + 3];
            for (int c = 0; c < shape.C; c++)
            {
                Span<float> plane = x.Slice((n * shape.C + c) * shape.H * shape.W, shape.H * shape.W);
                for (int h = top; h < bottom; h++)
                    plane.Slice(h * shape.W + left, Math.Max(right - left, 0)).Fill(value);
            }
        }
    }

    /// <inheritdoc/>
    public void AugmentMix(Tensor input, Tensor output, Tensor parameters)
    {
        if (Skips) return;
        Span<float> x = Data(input), y = Data(output), p = Data(parameters);
        int rows = parameters.Shape[0], row = x.Length / rows;
        for (int n = 0; n < rows; n++)
        {
            int partner = (int)p[n * 3];
            float lambda = p[n * 3 + 1], rest = p[n * 3 + 2];
            Span<float> own = x.Slice(n * row, row), other = x.Slice(partner * row, row), result = y.Slice(n * row, row);
            for (int r = 0; r < row; r++) result[r] = lambda * own[r] + rest * other[r];
        }
    }
}
