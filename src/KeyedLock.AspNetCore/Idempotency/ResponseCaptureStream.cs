namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// Writes through to the response body and keeps a copy of what was written, up to a limit. Past the limit it keeps
/// writing through (the client still gets the whole response) and only stops copying.
/// </summary>
internal sealed class ResponseCaptureStream(Stream inner, long limit) : Stream
{
    private MemoryStream? _copy = new();

    /// <summary>Bytes written through, copied or not.</summary>
    internal long BytesWritten { get; private set; }

    /// <summary>Whether more than the limit was written (the copy was dropped).</summary>
    internal bool Overflowed => _copy is null;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>The copy of the body; only meaningful when not <see cref="Overflowed"/>.</summary>
    internal ReadOnlyMemory<byte> Captured => _copy is null ? default : _copy.GetBuffer().AsMemory(0, (int)_copy.Length);

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        inner.Write(buffer);
        Copy(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        Copy(buffer.Span);
    }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private void Copy(ReadOnlySpan<byte> buffer)
    {
        BytesWritten += buffer.Length;
        if (_copy is null)
        {
            return;
        }

        if (BytesWritten > limit)
        {
            _copy = null;
            return;
        }

        _copy.Write(buffer);
    }
}
