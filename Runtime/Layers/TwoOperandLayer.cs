namespace NeuroPlugin.Layers;

/// <summary>
/// A layer <c>y = a ∘ b</c> in two forms, one class (<see cref="Elementwise"/>, <see cref="MatMul"/>): a and b are two
/// inputs, or one input x and a constant c of <see cref="ConstantShape"/> (a parameter or a buffer of the layer, saved
/// with the model) that is b, <c>y = x ∘ c</c>, or a when <see cref="ConstantFirst"/>, <c>y = c ∘ x</c>. Each form has
/// its own descriptor.
/// </summary>
public abstract class TwoOperandLayer : Layer
{
    /// <summary>The two-input form.</summary>
    private protected TwoOperandLayer() { }

    /// <summary>The one-input form, with a constant of <paramref name="constantShape"/>.</summary>
    private protected TwoOperandLayer(TensorShape constantShape, bool constantFirst) =>
        (HasConstant, ConstantShape, ConstantFirst) = (true, constantShape, constantFirst);

    /// <summary>True for the one-input form (a constant operand).</summary>
    public bool HasConstant { get; }
    /// <summary>The constant operand's shape (one-input form).</summary>
    public TensorShape ConstantShape { get; }
    /// <summary>The constant is the left operand: <c>y = c ∘ x</c>.</summary>
    public bool ConstantFirst { get; }

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Forms[HasConstant ? 1 : 0];
    /// <inheritdoc/>
    public override int InputCount => HasConstant ? 1 : 2;

    /// <summary>The two forms' descriptors: the two-input one, then the one with a constant.</summary>
    private protected abstract IReadOnlyList<LayerDescriptor> Forms { get; }

    /// <summary>A node's constant (one-input form) and its gradient, null when the constant is not learned.</summary>
    private protected abstract (Tensor Value, Tensor? Gradient) Constant(NodeTensors t);

    /// <summary>(a, b): the inputs, or the input and the constant in their order.</summary>
    private protected (Tensor A, Tensor B) Operands(NodeTensors t)
    {
        if (!HasConstant) return (t.Inputs[0], t.Inputs[1]);
        var c = Constant(t).Value;
        return ConstantFirst ? (c, t.Inputs[0]) : (t.Inputs[0], c);
    }

    /// <summary>(da, db), either may be null: the inputs' gradients, or the input's and the constant's in their order.</summary>
    private protected (Tensor? A, Tensor? B) OperandGradients(NodeTensors t)
    {
        Tensor? dx = t.InputGrads[0], dc = HasConstant ? Constant(t).Gradient : t.InputGrads[1];
        return ConstantFirst ? (dc, dx) : (dx, dc);
    }
}
