using System.Runtime.InteropServices;

namespace KeyedLock.Internal;

/// <summary>
/// The registry's grant counter (the fencing token), alone on its cache line: every grant writes it, and under
/// contention both cores grant, so beside the registry's read-mostly fields it would make every operation on the
/// other core miss on those fields too.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 192)]
internal sealed class GrantCounter
{
    [FieldOffset(64)]
    internal long Last;
}
