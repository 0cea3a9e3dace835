// Plain JS on purpose: every click sends a request; nothing debounces or disables the buttons.
const $ = (id) => document.getElementById(id);
const user = () => encodeURIComponent($("user").value);
const json = { "Content-Type": "application/json" };

function log(line) {
  $("log").textContent = line + "\n" + $("log").textContent;
}

let latestRefresh = 0;
async function refresh() {
  const mine = ++latestRefresh; // responses can arrive out of order: only the latest refresh may paint
  const response = await fetch(`/api/users/${user()}`);
  if (!response.ok) { log(`GET user: ${response.status}`); return; }
  const account = await response.json();
  if (mine !== latestRefresh) return;
  $("balance").textContent = account.balance;
  $("order-count").textContent = account.orders.length;
  $("orders").replaceChildren(...account.orders.map((o) => {
    const row = document.createElement("tr");
    for (const value of [o.orderId, o.amount, new Date(o.createdAt).toLocaleTimeString()]) {
      const cell = document.createElement("td");
      cell.textContent = value;
      row.append(cell);
    }
    return row;
  }));
}

async function pay(path) {
  const response = await fetch(path, { method: "POST", headers: json, body: JSON.stringify({ amount: Number($("amount").value) }) });
  const body = await response.json();
  log(`${path} -> ${response.status} ${response.status === 201 ? `order ${body.orderId}` : body.title}`);
  await refresh();
}

$("pay").addEventListener("click", () => pay(`/api/users/${user()}/checkout`));
$("unsafe-pay").addEventListener("click", () => pay(`/api/unsafe/users/${user()}/checkout`));
$("set-balance").addEventListener("click", async () => {
  await fetch(`/api/users/${user()}/balance`, { method: "PUT", headers: json, body: JSON.stringify({ balance: Number($("new-balance").value) }) });
  await refresh();
});
$("user").addEventListener("change", refresh);

// Tests pick the user with ?user=...; the page works the same without it.
const requested = new URLSearchParams(location.search).get("user");
if (requested) {
  if (![...$("user").options].some((o) => o.value === requested)) $("user").add(new Option(requested, requested));
  $("user").value = requested;
}
refresh();
