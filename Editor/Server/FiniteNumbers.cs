using System.Text.Json;
using System.Text.Json.Serialization;

namespace NeuroPlugin.Editor.Server;

/// <summary>
/// JSON has no NaN or ∞: the protocol writes a number that is not finite as <c>null</c> (a diverged run's loss), as the
/// monitor's records do (Documentation~/Monitoring.md). Converters for <see cref="float"/> and <see cref="double"/> that
/// <see cref="JsonSerializer"/> uses for the training messages; reading takes a number or null (as NaN).
/// </summary>
internal static class FiniteNumbers
{
    /// <summary>Adds the converters to <paramref name="options"/> and returns it.</summary>
    public static JsonSerializerOptions With(JsonSerializerOptions options)
    {
        options.Converters.Add(new SingleConverter());
        options.Converters.Add(new DoubleConverter());
        return options;
    }

    sealed class SingleConverter : JsonConverter<float>
    {
        public override bool HandleNull => true;
        public override float Read(ref Utf8JsonReader reader, Type type, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? float.NaN : reader.GetSingle();
        public override void Write(Utf8JsonWriter writer, float value, JsonSerializerOptions options)
        {
            if (float.IsFinite(value)) writer.WriteNumberValue(value);
            else writer.WriteNullValue();
        }
    }

    sealed class DoubleConverter : JsonConverter<double>
    {
        public override bool HandleNull => true;
        public override double Read(ref Utf8JsonReader reader, Type type, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();
        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsFinite(value)) writer.WriteNumberValue(value);
            else writer.WriteNullValue();
        }
    }
}
