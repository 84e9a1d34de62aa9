using System.Numerics;
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
        options.Converters.Add(new Converter<float>(static (ref Utf8JsonReader reader) => reader.GetSingle(), static (writer, value) => writer.WriteNumberValue(value)));
        options.Converters.Add(new Converter<double>(static (ref Utf8JsonReader reader) => reader.GetDouble(), static (writer, value) => writer.WriteNumberValue(value)));
        return options;
    }

    delegate T ReadNumber<T>(ref Utf8JsonReader reader);

    /// <summary>A finite <typeparamref name="T"/> as a JSON number (<paramref name="write"/>), any other as null; null reads as NaN.</summary>
    sealed class Converter<T>(ReadNumber<T> read, Action<Utf8JsonWriter, T> write) : JsonConverter<T> where T : struct, IFloatingPointIeee754<T>
    {
        public override bool HandleNull => true;
        public override T Read(ref Utf8JsonReader reader, Type type, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? T.NaN : read(ref reader);
        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
        {
            if (T.IsFinite(value)) write(writer, value);
            else writer.WriteNullValue();
        }
    }
}
