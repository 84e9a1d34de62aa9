namespace NeuroPlugin.Tests.Cli;

/// <summary><c>neuro train --model FILE.neuro</c>: a saved architecture trained from scratch, its weights ignored.</summary>
[NonParallelizable] // redirects the process-wide Console
public class ModelFileTrainCliTests : TempFolderFixture
{
    static readonly string[] Quick = ["--backend", "cpu", "--test-limit", "100", "--epochs", "1", "--seed", "1"];

    /// <summary>Saves the zoo's <paramref name="model"/> with weights of seed 7 (not the run's seed 1) as <paramref name="name"/>.</summary>
    string Save(string name, NetworkGraph graph)
    {
        string path = Folder.Combine(name);
        using var network = Network.Create(graph, new CpuBackend(), seed: 7);
        ModelFile.Save(network, path);
        return path;
    }

    [Test]
    public void SavedArchitecture_TrainsFromScratch_AsTheZooModelDoes()
    {
        string file = Save("designed.neuro", ModelZoo.Build("lenet5"));
        var fromFile = NeuroCli.Run(["train", "--model", file, .. Quick, "--train-limit", "320", "--out", Folder.Combine("a")]);
        Assert.That(fromFile.ExitCode, Is.EqualTo(0), fromFile.Error);
        Assert.That(fromFile.Out, Does.Contain($"neuro: training {file} (61,706 parameters)"));
        var fromZoo = NeuroCli.Run(["train", "--model", "lenet5", .. Quick, "--train-limit", "320", "--out", Folder.Combine("b")]);
        Assert.That(fromZoo.ExitCode, Is.EqualTo(0), fromZoo.Error);
        // the same graph initialized with the run's seed: the file's seed-7 weights played no part
        // (the files differ only in their provenance: the model's name and the date)
        using var cpu = new CpuBackend();
        using var a = ModelFile.Load(Folder.Combine("a", "model.neuro"), cpu);
        using var b = ModelFile.Load(Folder.Combine("b", "model.neuro"), cpu);
        Assert.That(GraphJson.Write(a.Graph).ToJsonString(), Is.EqualTo(GraphJson.Write(b.Graph).ToJsonString()));
        Assert.That(a.ParameterNames, Is.EqualTo(b.ParameterNames));
        foreach (string name in a.ParameterNames)
            Assert.That(a.Parameter(name).ToArray(), Is.EqualTo(b.Parameter(name).ToArray()), name);
    }

    [Test]
    public void LargerInput_GetsFashionMnistResizedOnTheDevice()
    {
        string file = Save("lenet32.neuro", ModelZoo.Build("lenet5", new ModelOptions(1, 32, 10)));
        var run = NeuroCli.Run(["train", "--model", file, .. Quick, "--train-limit", "64", "--out", Folder.Path]);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
        var trained = ModelFile.ReadGraph(Folder.Combine("model.neuro"));
        Assert.That(trained.Nodes[0].Name, Is.EqualTo(InputResize.NodeName), "a resize node in front, as --image-size puts one");
        Assert.That(trained.Inputs[0].ItemShape, Is.EqualTo(new Tensors.TensorShape(1, 28, 28)));
    }

    [Test]
    public void ArchitectureThatDoesNotFitTheData_IsOneLineNamingIt()
    {
        string fiveClasses = Save("five.neuro", ModelZoo.Build("lenet5", new ModelOptions(1, 28, 5)));
        var (code, _, error) = NeuroCli.Run(["train", "--model", fiveClasses, .. Quick]);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error.Trim(), Is.EqualTo($"neuro: --model {fiveClasses}: its output 'fc3' is (1,5); Fashion-MNIST needs (N,10) logits for its 10 classes"));

        string rgb = Save("rgb.neuro", ModelZoo.Build("lenet5", new ModelOptions(3, 28, 10)));
        (code, _, error) = NeuroCli.Run(["train", "--model", rgb, .. Quick]);
        Assert.That(error.Trim(), Is.EqualTo($"neuro: --model {rgb}: its input 'input' is (3,28,28); Fashion-MNIST needs 1×S×S (grayscale, square)"));

        string lenet = Save("lenet.neuro", ModelZoo.Build("lenet5"));
        (code, _, error) = NeuroCli.Run(["train", "--model", lenet, "--image-size", "63", .. Quick]);
        Assert.That(error.Trim(), Is.EqualTo($"neuro: --image-size 63: the input of {lenet} is 28×28; leave --image-size out"));

        (code, _, error) = NeuroCli.Run(["train", "--model", Folder.Combine("missing.neuro"), .. Quick]);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain("missing.neuro"));
    }

    [Test]
    public void Help_SaysTheFilesWeightsAreIgnored()
    {
        var (_, output, _) = NeuroCli.Run("train", "--help");
        Assert.That(output, Does.Contain("Zoo model name, or a .neuro file whose architecture is trained from scratch (its weights are ignored)"));
    }
}
