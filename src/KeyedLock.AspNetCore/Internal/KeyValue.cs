namespace KeyedLock.AspNetCore.Internal;

/// <summary>Why a key part has no usable value.</summary>
internal enum KeyFailure
{
    /// <summary>The part has a value.</summary>
    None,

    /// <summary>No value (absent, empty, JSON null, no body).</summary>
    Missing,

    /// <summary>Several values, or several JSON properties that binding could read: which one binding sees is not certain.</summary>
    Ambiguous,

    /// <summary>A value that cannot be read as binding reads it (invalid UTF-8, a lone surrogate, a body that is not JSON, an object).</summary>
    Invalid,
}

/// <summary>The value of one key part, or why there is none.</summary>
internal readonly struct KeyValue
{
    private KeyValue(string? value, KeyFailure failure)
    {
        Value = value;
        Failure = failure;
    }

    internal static KeyValue Missing => new(null, KeyFailure.Missing);

    internal static KeyValue Ambiguous => new(null, KeyFailure.Ambiguous);

    internal static KeyValue Invalid => new(null, KeyFailure.Invalid);

    internal string? Value { get; }

    internal KeyFailure Failure { get; }

    internal static KeyValue Of(string? value) => string.IsNullOrEmpty(value) ? Missing : new(value, KeyFailure.None);
}
