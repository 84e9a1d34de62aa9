using System.Text.Json.Nodes;
using NeuroPlugin.Init;

namespace NeuroPlugin.Layers;

/// <summary>
/// One kind of graph node: its attributes, parameters, shape inference, and forward and backward
/// passes (which call the backend's primitive ops). A layer holds no tensors itself: the execution
/// plan allocates them and hands them over in <see cref="NodeTensors"/>, so one layer object can be
/// planned at several batch sizes and on several backends.
/// </summary>
public abstract class Layer
{
    /// <summary>This layer's type: its name, attributes, palette entry and ONNX ops (see <see cref="LayerRegistry"/>).</summary>
    public abstract LayerDescriptor Descriptor { get; }

    /// <summary>The op's name in PyTorch's vocabulary (<c>Conv2d</c>, <c>Linear</c>, <c>ReLU</c>…), used in files and messages.</summary>
    public string Type => Descriptor.Type;

    /// <summary>Number of input tensors: the descriptor's count (layers that take any number say how many this one takes).</summary>
    public virtual int InputCount => Descriptor.Inputs;

    /// <summary>Checks the input shapes (with the batch axis) and returns the output shape.
    /// Throws <see cref="ShapeException"/> whose message starts with <paramref name="node"/> and names both shapes.</summary>
    public abstract TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs);

    /// <summary>The learnable parameters, in PyTorch's state-dict order (<c>weight</c> then <c>bias</c>).</summary>
    public virtual IReadOnlyList<ParameterSpec> Parameters => [];

    /// <summary>Non-learnable state saved with the model (PyTorch's buffers, e.g. batch norm's <c>running_mean</c>):
    /// allocated by the network beside the parameters, updated by forward, never seen by the optimizer.</summary>
    public virtual IReadOnlyList<BufferSpec> Buffers => [];

    /// <summary>Scratch tensors that forward fills and backward reads (e.g. max pooling's argmax).</summary>
    public virtual IReadOnlyList<TensorShape> WorkspaceShapes(ReadOnlySpan<TensorShape> inputs, TensorShape output) => [];

    /// <summary>True when the output is the first input's storage seen with another shape (Flatten): no copy
    /// forward, and the output's gradient is the input's gradient, so backward has nothing to do.</summary>
    public virtual bool OutputIsViewOfInput => false;

    /// <summary>Fills <see cref="NodeTensors.Output"/> (and the workspace) from the inputs, parameters and buffers; a
    /// training forward also updates the buffers (batch norm's running statistics). Allocates no tensors: the plan
    /// allocated them all.</summary>
    public abstract void Forward(IBackend backend, NodeTensors tensors);

    /// <summary>From dL/doutput (<see cref="NodeTensors.Gradient"/>) and what forward saved, adds (+=, never overwrites)
    /// dL/dinput into each non-null <see cref="NodeTensors.InputGrads"/> entry and dL/dparameter into
    /// <see cref="NodeTensors.ParameterGrads"/>; a layer that <see cref="CanSetInputGradients"/> sets (<c>0 + …</c>) the
    /// input gradients <see cref="NodeTensors.SetsInputGrad"/> flags instead.</summary>
    public abstract void Backward(IBackend backend, NodeTensors tensors);

    /// <summary>True when <see cref="Backward"/> honours <see cref="NodeTensors.SetsInputGrad"/>: for each input it flags,
    /// backward writes every element of that input's gradient once, as <c>0 + its contribution</c> (the backend ops'
    /// <c>accumulate: false</c>), without reading it: the bits of adding into a zeroed gradient. A plan then skips zeroing
    /// the gradients such a layer is the first to write in a step; those of other layers stay zeroed and added into.</summary>
    public virtual bool CanSetInputGradients => false;

    /// <summary>The attributes that define this layer, for model files and the editor (JSON values, in the order and with
    /// the names of <see cref="LayerDescriptor.Attributes"/>); <see cref="LayerDescriptor.Create(JsonObject)"/> reads them back.</summary>
    public JsonObject Attributes() => Descriptor.Write(this);

    /// <summary>Multiply–accumulate count of the forward pass for one item, for reports.</summary>
    public virtual long MultiplyAccumulates(ReadOnlySpan<TensorShape> inputs, TensorShape output) => 0;

    /// <summary>The type and its attributes as JSON, e.g. <c>Conv2d {"inChannels":3,…}</c>, for messages and the debugger.</summary>
    public override string ToString() => $"{Type} {Attributes().ToJsonString()}";
}

/// <summary>A learnable parameter a layer declares: its name within the node (<c>weight</c>), shape, and initializer.</summary>
public sealed record ParameterSpec(string Name, TensorShape Shape, Initializer Initializer, int FanIn, int FanOut);

/// <summary>A buffer a layer declares (non-learnable state, see <see cref="Layer.Buffers"/>): its name within the
/// node (<c>running_var</c>), shape, and the value every element starts at.</summary>
public sealed record BufferSpec(string Name, TensorShape Shape, float InitialValue);

/// <summary>
/// The tensors of one node in an execution plan, allocated once. Gradients are null where they are not
/// needed (inference plans, or the input of the first layer).
/// </summary>
public sealed class NodeTensors
{
    /// <summary>Wraps the tensors the plan allocated for <paramref name="node"/>; each array is in its layer's order
    /// (inputs as wired, parameters as <see cref="Layer.Parameters"/>, workspace as <see cref="Layer.WorkspaceShapes"/>).</summary>
    public NodeTensors(string node, Tensor[] inputs, Tensor?[] inputGrads, Tensor output, Tensor? outputGrad,
        Tensor[] parameters, Tensor?[] parameterGrads, Tensor[] workspace)
    {
        Node = node; Inputs = inputs; InputGrads = inputGrads; Output = output; OutputGrad = outputGrad;
        Parameters = parameters; ParameterGrads = parameterGrads; Workspace = workspace;
    }

    /// <summary>The node's name in the graph, the start of every message about it.</summary>
    public string Node { get; }
    /// <summary>The input tensors with the batch axis, e.g. (N,C,H,W), in the order the node's inputs are wired.</summary>
    public Tensor[] Inputs { get; }
    /// <summary>dL/dinput per input, same shapes as <see cref="Inputs"/>; backward adds into them (or sets those
    /// <see cref="SetsInputGrad"/> flags). An entry is null where no gradient is needed (inference plans, a network input).</summary>
    public Tensor?[] InputGrads { get; }
    /// <summary>The output tensor, of the shape <see cref="Layer.InferOutputShape"/> returned (with the batch axis).</summary>
    public Tensor Output { get; }
    /// <summary>dL/doutput, same shape as <see cref="Output"/>; null in inference plans (see <see cref="Gradient"/>).</summary>
    public Tensor? OutputGrad { get; }
    /// <summary>The network's learnable parameters of this node, in <see cref="Layer.Parameters"/> order (shared by every plan).</summary>
    public Tensor[] Parameters { get; }
    /// <summary>dL/dparameter per parameter, same shapes as <see cref="Parameters"/>; backward adds into them; the plan
    /// zeroes them once per backward pass. Every entry is null in inference plans.</summary>
    public Tensor?[] ParameterGrads { get; }
    /// <summary>Scratch tensors of the shapes <see cref="Layer.WorkspaceShapes"/> returned: forward fills, backward reads.</summary>
    public Tensor[] Workspace { get; }
    /// <summary>The network's buffers of this node, in <see cref="Layer.Buffers"/> order (shared by every plan).</summary>
    public Tensor[] Buffers { get; init; } = [];
    /// <summary>Training or inference mode (dropout and batch norm behave differently).</summary>
    public bool Training { get; internal set; }
    /// <summary>Seed of the plan's counter-based random numbers (<see cref="Backends.CounterRandom"/>).</summary>
    public uint Seed { get; internal set; }
    /// <summary>The plan's random counter (<see cref="Execution.ExecutionPlan.RandomCounter"/>): training forwards it ran
    /// before this one, so random layers draw fresh numbers each time.</summary>
    public uint RandomCounter { get; internal set; }
    /// <summary>This node's random stream (its index in the graph), so two dropout nodes never share a mask.</summary>
    public uint Stream { get; init; }

    /// <summary>The output gradient; backward is only called when it exists.</summary>
    public Tensor Gradient => OutputGrad ?? throw new InvalidOperationException($"{Node}: backward in a plan without gradients");

    /// <summary>Per input: true where this node's backward is the step's first writer of that input's gradient, whose layer
    /// can set it (<see cref="Layer.CanSetInputGradients"/>): it writes <c>dx = 0 + …</c> and the plan does not zero dx
    /// (a fork's later contributors add as usual). Set by the execution plan once, when it is built; empty (every input
    /// added into) elsewhere.</summary>
    public IReadOnlyList<bool> SetsInputGrad { get; internal set; } = [];

    /// <summary>Whether backward adds into input <paramref name="input"/>'s gradient (the backend ops' <c>accumulate</c>)
    /// rather than setting it (<see cref="SetsInputGrad"/>).</summary>
    public bool AddsToInputGrad(int input) => input >= SetsInputGrad.Count || !SetsInputGrad[input];
}
