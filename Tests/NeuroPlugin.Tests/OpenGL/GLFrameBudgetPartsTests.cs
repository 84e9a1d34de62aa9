using NeuroPlugin.Tests.Training;

namespace NeuroPlugin.Tests.OpenGL;

/// <summary>Stages run in parts (windows of their work groups) on the GL backend: the checks of
/// Training/FrameBudgetPartsTests, bit for bit against unbudgeted steps.</summary>
public sealed class GLFrameBudgetPartsTests : GLFixture
{
    static IEnumerable<TestCaseData> TrainingBudgets() =>
    [
        .. FrameBudgetPartsChecks.Budgets("small", 0.0, 0.002, 3_600_000.0),
        .. FrameBudgetPartsChecks.Budgets("lenet5", 0.01, 1.0),
        .. FrameBudgetPartsChecks.Budgets("resnet_cifar", 0.05),
    ];

    [TestCaseSource(nameof(TrainingBudgets))]
    public void TrainingInParts_EqualsUnbudgetedSteps_BitForBit(string model, double budgetMilliseconds) =>
        FrameBudgetPartsChecks.TrainingEqualsUnbudgeted(Backend, model, TimeSpan.FromMilliseconds(budgetMilliseconds));

    [TestCase("lenet5", 0.0)]
    [TestCase("resnet_cifar", 0.01)]
    public void InferenceInParts_EqualsOneForward_BitForBit(string model, double budgetMilliseconds) =>
        FrameBudgetPartsChecks.InferenceEqualsForward(Backend, model, TimeSpan.FromMilliseconds(budgetMilliseconds));
}
