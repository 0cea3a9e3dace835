using Microsoft.AspNetCore.Mvc;

namespace KeyedLock.AspNetCore.Tests.Infrastructure;

[ApiController]
[Route("api/accounts/{accountId}")]
[SerializeBy("route:accountId")]
public sealed class AccountsController(Probe probe) : ControllerBase
{
    [HttpPost("deposit")]
    public async Task<IActionResult> Deposit()
    {
        await probe.RunAsync(Request.Headers["X-Req"].ToString(), HttpContext.RequestAborted);
        return Ok();
    }

    [HttpPost("peek")]
    [DisableKeyedSerialization]
    public async Task<IActionResult> Peek()
    {
        await probe.RunAsync(Request.Headers["X-Req"].ToString(), HttpContext.RequestAborted);
        return Ok();
    }
}

[ApiController]
[Route("api/orders")]
public sealed class OrdersController(Probe probe) : ControllerBase
{
    [HttpPost("{orderId}/pay")]
    [SerializeBy("route:orderId", Scope = "order")]
    public async Task<IActionResult> Pay(string orderId)
    {
        await probe.RunAsync(Request.Headers["X-Req"].ToString(), HttpContext.RequestAborted);
        return Ok(new { orderId });
    }

    [HttpPost("webhook")]
    [SerializeBy("body:/id")]
    public IActionResult Webhook([FromBody] Hook hook) => Ok(new { hook.Id, hook.Amount });

    public sealed record Hook(string Id, int Amount);
}

/// <summary>Typed route, query and header parameters: the lock key is the value MVC binds, whatever its spelling.</summary>
[ApiController]
[Route("api/typed")]
public sealed class TypedController : ControllerBase
{
    [HttpPost("accounts/{id}")]
    [SerializeBy("route:id")]
    public IActionResult Account(int id) => Ok(id);

    [HttpPost("transfers")]
    [SerializeBy("query:from")]
    public IActionResult Transfer([FromQuery(Name = "from")] long account) => Ok(account);

    [HttpPost("tiers")]
    [SerializeBy("header:X-Tier")]
    public IActionResult Tier([FromHeader(Name = "X-Tier")] Tiers tier) => Ok((int)tier);

    [HttpPost("names/{name}")]
    [SerializeBy("route:name")]
    public IActionResult Name(string name) => Ok(name);

    public enum Tiers
    {
        Basic = 1,
        Gold = 2,
    }
}
