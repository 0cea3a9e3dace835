using Microsoft.AspNetCore.Mvc;

namespace KeyedLock.AspNetCore.Tests.Infrastructure;

public sealed record Payload(string? UserId);

public sealed record Amount(decimal Id);

/// <summary>Echoes what MVC binding sees, next to the key the lock saw (the test reads the key from the provider).</summary>
[ApiController]
[Route("mvc")]
public sealed class KeyRulesController : ControllerBase
{
    [HttpPost("query")]
    [SerializeBy("query:userId")]
    public string Query([FromQuery] string userId) => userId;

    [HttpPost("header")]
    [SerializeBy("header:X-Account")]
    public string Header([FromHeader(Name = "X-Account")] string account) => account;

    [HttpPost("body")]
    [SerializeBy("body:/userId")]
    public string Body([FromBody] Payload payload) => payload.UserId ?? "(null)";

    [HttpPost("number")]
    [SerializeBy("body:/id")]
    public string Number([FromBody] Amount amount) => amount.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [HttpPost("nested")]
    [SerializeBy("body:/inner/userId")]
    public string Nested([FromBody] Order order) => order.Inner?.UserId ?? "(null)";

    [HttpPost("route/{id}")]
    [SerializeBy("route:id")]
    public string Route(string id) => id;

    public sealed record Order(Payload? Inner);
}

/// <summary>A controller without [ApiController]: simple parameters bind from form fields first, then route values, then the query.</summary>
[Route("mvc-plain")]
public sealed class PlainController : Controller
{
    [HttpPost("route/{id}")]
    [SerializeBy("route:id")]
    public string Route(string id) => id;

    [HttpPost("query")]
    [SerializeBy("query:id")]
    public string Query(string id) => id;
}
