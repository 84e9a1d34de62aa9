using NeuroPlugin.Serialization.Onnx;
using static NeuroPlugin.Tests.Onnx.OnnxBuilder;

namespace NeuroPlugin.Tests.Onnx;

/// <summary>Gemm of a tensor and a constant in every transpose: the tensor as A or as B, transA and transB in {0,1}, α, β and
/// C's broadcast forms; hand-made graphs against ONNX Runtime on both backends, their gradients (a learnable shift before
/// the Gemm, the Gemm's weight and bias) against central finite differences on the CPU and GL, and the typed errors for
/// the products that would pair or sum over items.</summary>
public sealed class OnnxGemmTests : GLFixture
{
    const int K = 4, Out = 5;

    /// <summary>x (N,4) shifted by a learnable vector s, h = x + s, then Gemm. With the tensor as A: op(A) is h (N,4), A being h
    /// or its Transpose (4,N) where transA = 1, times the constant op(B) (4,5), plus C (5). With the tensor as B: the constant
    /// op(A) (5,4) times op(B) (4,N), B being h where transB = 1 or its Transpose, plus C (5,1): the result (5,N) has the batch
    /// in its columns and a Transpose takes it back to (N,5).</summary>
    static OnnxOpTests.Case Case(bool tensorIsB, bool transA, bool transB, int opset) =>
        new($"gemm_tensor_as_{(tensorIsB ? "B" : "A")}_transA{(transA ? 1 : 0)}_transB{(transB ? 1 : 0)}_opset{opset}", [K], b =>
        {
            b.Node("Add", ["x", b.Weight("shift", [K])], "h");
            AttributeProto[] attributes = [Int("transA", transA ? 1 : 0), Int("transB", transB ? 1 : 0), Float("alpha", 0.7f), Float("beta", 1.3f)];
            if (!tensorIsB)
            {
                if (transA) b.Node("Transpose", ["h"], "t", Ints("perm", 1, 0));
                b.Node("Gemm", [transA ? "t" : "h", b.Weight("fc.weight", transB ? [Out, K] : [K, Out]), b.Weight("fc.bias", [Out])], "y", attributes);
                return;
            }
            if (!transB) b.Node("Transpose", ["h"], "t", Ints("perm", 1, 0));
            b.Node("Gemm", [b.Weight("fc.weight", transA ? [K, Out] : [Out, K]), transB ? "h" : "t", b.Weight("fc.bias", [Out, 1])], "g", attributes);
            b.Node("Transpose", ["g"], "y", Ints("perm", 1, 0));
        }, opset);

    public static readonly OnnxOpTests.Case[] EveryTranspose =
    [
        .. from tensorIsB in new[] { false, true }
           from transA in new[] { false, true }
           from transB in new[] { false, true }
           select Case(tensorIsB, transA, transB, transA == transB ? 11 : 17),
    ];

    public static readonly OnnxOpTests.Case[] Cases =
    [
        // C's broadcast forms: (1,out) and a scalar on (N,out); (1,1) on the transposed (M,N)
        new("gemm_transA1_row_C", [K], b =>
        {
            b.Node("Transpose", ["x"], "t", Ints("perm", 1, 0));
            b.Node("Gemm", ["t", b.Weight("B", [K, 3]), b.Weight("C", [1, 3])], "y", Int("transA", 1), Float("beta", -0.5f));
        }),
        new("gemm_transA1_transB1_scalar_C_opset11", [K], b =>
        {
            b.Node("Transpose", ["x"], "t", Ints("perm", 1, 0));
            b.Node("Gemm", ["t", b.Weight("B", [3, K]), b.Scalar("C", 0.3f)], "y", Int("transA", 1), Int("transB", 1), Float("alpha", 2f));
        }, Opset: 11),
        new("gemm_tensor_B_one_by_one_C_no_beta", [K], b =>
        {
            b.Node("Gemm", [b.Weight("A", [6, K]), "x", b.Weight("C", [1, 1])], "g", Int("transB", 1));
            b.Node("Transpose", ["g"], "y", Ints("perm", 1, 0));
        }),
        new("gemm_tensor_B_without_C_opset17", [K], b =>
        {
            b.Node("Gemm", [b.Weight("A", [6, K]), "x"], "g", Int("transB", 1), Float("alpha", -0.4f));
            b.Node("Transpose", ["g"], "y", Ints("perm", 1, 0));
        }, Opset: 17),
        // the (M,N) result of a tensor B read back by a second Gemm's transA = 1, then a Linear-style Gemm
        new("gemm_tensor_B_then_gemm_transA1", [K], b =>
        {
            b.Node("Gemm", [b.Weight("A", [6, K]), "x", b.Weight("C", [6, 1])], "g", Int("transB", 1));
            b.Node("Relu", ["g"], "r");
            b.Node("Gemm", ["r", b.Weight("B", [6, 3]), b.Weight("D", [3])], "y", Int("transA", 1), Float("alpha", 0.5f));
        }),
    ];

    [TestCaseSource(nameof(EveryTranspose))]
    [TestCaseSource(nameof(Cases))]
    public void ImportMatchesOnnxRuntime(OnnxOpTests.Case c) => OnnxOpTests.AssertMatchesOnnxRuntime(c, Backend);

    /// <summary>The gradients of the mean cross-entropy (label of item i: i mod 5) with respect to every parameter (the shift
    /// before the Gemm, whose gradient comes back through the transposed views, and the Gemm's weight and bias) on the CPU and
    /// GL, against central differences of the loss of the CPU's forward (which matches ONNX Runtime, above), with
    /// <see cref="GradientCheck"/>'s step and tolerance; GL's against the CPU's within 1e-4.</summary>
    [TestCaseSource(nameof(EveryTranspose))]
    public void Gradients_MatchFiniteDifferences(OnnxOpTests.Case c)
    {
        const int batch = 3;
        const double epsilon = 1e-2, tolerance = 1e-2;
        byte[] model = OnnxOpTests.ModelBytes(c);
        float[] input = OnnxRun.RandomInput(batch * K, seed: 9);
        var targets = new float[batch * Out];
        for (int i = 0; i < batch; i++) targets[i * Out + i % Out] = 1f;

        using var cpu = new CpuBackend();
        using var reference = OnnxRun.Import(model, cpu);
        Assert.That(reference.ParameterNames, Has.Count.EqualTo(3), "the shift, the Gemm's weight and bias are parameters");
        double Loss()
        {
            var (logits, _) = OnnxRun.Ours(reference, input, batch);
            double sum = 0;
            for (int i = 0; i < batch; i++)
            {
                var row = logits.AsSpan(i * Out, Out);
                double max = row.ToArray().Max(), log = Math.Log(row.ToArray().Sum(v => Math.Exp(v - max))) + max;
                sum += log - row[i % Out];
            }
            return sum / batch;
        }
        var numeric = new Dictionary<string, float[]>();
        foreach (string name in reference.ParameterNames)
        {
            var parameter = reference.Parameter(name);
            float[] values = parameter.ToArray(), gradient = new float[values.Length];
            for (int j = 0; j < values.Length; j++)
            {
                float[] moved = (float[])values.Clone();
                moved[j] = values[j] + (float)epsilon;
                parameter.Upload(moved);
                double up = Loss();
                moved[j] = values[j] - (float)epsilon;
                parameter.Upload(moved);
                gradient[j] = (float)((up - Loss()) / (2 * epsilon));
            }
            parameter.Upload(values);
            numeric[name] = gradient;
        }

        var analytic = new List<float[]>();
        foreach (IBackend backend in new IBackend[] { cpu, Backend })
        {
            using var network = OnnxRun.Import(model, backend);
            using var plan = ExecutionPlan.ForTraining(network, batch);
            plan.Input.Upload(input);
            plan.Target!.Upload(targets);
            plan.ComputeGradients();
            Assert.That(plan.ReadLoss(), Is.EqualTo(Loss()).Within(1e-5), $"{c.Name} on {backend.Name}: the mean cross-entropy");
            foreach (string name in network.ParameterNames)
            {
                float[] gradient = plan.ParameterGradients[plan.Parameters.ToList().IndexOf(network.Parameter(name))].ToArray();
                TensorAssert.AreClose(numeric[name], gradient, tolerance, $"{c.Name} on {backend.Name}: gradient of {name} vs finite differences");
                analytic.Add(gradient);
            }
        }
        for (int i = 0; i < analytic.Count / 2; i++)
            TensorAssert.AreClose(analytic[i], analytic[analytic.Count / 2 + i], 1e-4, $"{c.Name}: gradient of {reference.ParameterNames[i]}, GL vs CPU");
    }

    [Test]
    public void ProductsThatPairOrSumOverItems_AreTypedErrorsNamingTheNode()
    {
        // op(A) = xᵀ (4,N): the product would sum over the batch axis
        var b = new OnnxBuilder().Input("x", K);
        b.Node("Gemm", ["x", b.Weight("B", [3, 5])], "g", Int("transA", 1));
        OnnxRun.AssertUnsupported(b.Output("g"), "g", "Gemm", "input 0 [4,N]: its last axis holds the batch axis");

        // op(B) = x (N,4) by a constant A (3,N…): the same, with the tensor as B
        b = new OnnxBuilder().Input("x", K);
        b.Node("Gemm", [b.Weight("A", [3, K]), "x"], "g");
        OnnxRun.AssertUnsupported(b.Output("g"), "g", "Gemm", "input 1 [4,N]: its last axis holds the batch axis");

        // op(A) (3,5) by op(B) = xᵀ (4,N): the Linear it becomes refuses 4 features for its 5, naming the node
        b = new OnnxBuilder().Input("x", K);
        b.Node("Gemm", [b.Weight("A", [3, 5]), "x"], "g", Int("transB", 1));
        using (var cpu = new CpuBackend())
        {
            var e = Assert.Throws<OnnxFormatException>(() => OnnxRun.Import(b.Output("g").Bytes(), cpu, "bad.onnx").Dispose())!;
            Assert.That(e.Message, Does.StartWith("bad.onnx: node 'g' (Gemm, opset 13): "));
        }

        b = new OnnxBuilder().Input("x", K);
        b.Node("Relu", ["x"], "r");
        b.Node("Gemm", ["x", "r"], "g", Int("transB", 1));
        OnnxRun.AssertUnsupported(b.Output("g"), "g", "Gemm", "A and B are both tensors");

        // C of two rows on (N,3): it would vary along the batch
        b = new OnnxBuilder().Input("x", K);
        b.Node("Gemm", ["x", b.Weight("B", [K, 3]), b.Weight("C", [2, 3])], "g");
        OnnxRun.AssertUnsupported(b.Output("g"), "g", "Gemm", "C [2,3] varies along the rows of the result, which hold the batch axis");

        // C (1,6) on the transposed (6,N): it would vary along the columns, the batch
        b = new OnnxBuilder().Input("x", K);
        b.Node("Gemm", [b.Weight("A", [6, K]), "x", b.Weight("C", [1, 6])], "g", Int("transB", 1));
        b.Node("Transpose", ["g"], "y", Ints("perm", 1, 0));
        OnnxRun.AssertUnsupported(b.Output("y"), "g", "Gemm", "C [1,6] varies along the columns of the result, which hold the batch axis");
    }
}
