// Plain JS on purpose: every click sends a request; nothing debounces or disables the buttons.
const $ = (id) => document.getElementById(id);
const user = () => $("user").value;
const json = { "Content-Type": "application/json" };
const routes = {
  safe: (userId) => `/api/users/${encodeURIComponent(userId)}/checkout`,
  unsafe: (userId) => `/api/unsafe/users/${encodeURIComponent(userId)}/checkout`,
};

// Which route made which order (the API does not say; this page remembers the orders it created).
const orderRoutes = new Map();

function log(line) {
  $("log").textContent = line + "\n" + $("log").textContent;
}

function routeLabel(route) {
  const label = document.createElement("span");
  label.className = `route route-${route ?? "none"}`;
  label.textContent = route ?? "other";
  return label;
}

async function getAccount(userId) {
  const response = await fetch(`/api/users/${encodeURIComponent(userId)}`);
  if (!response.ok) { log(`GET user ${userId}: ${response.status}`); return null; }
  return response.json();
}

async function setBalance(userId, balance) {
  const response = await fetch(`/api/users/${encodeURIComponent(userId)}/balance`, {
    method: "PUT", headers: json, body: JSON.stringify({ balance }),
  });
  if (!response.ok) log(`PUT balance ${userId}: ${response.status}`);
}

let latestRefresh = 0;
async function refresh() {
  const mine = ++latestRefresh; // responses can arrive out of order: only the latest refresh may paint
  const account = await getAccount(user());
  if (!account || mine !== latestRefresh) return;
  $("balance").textContent = account.balance;
  $("order-count").textContent = account.orders.length;
  $("balance-warning").hidden = account.balance >= 0;
  $("balance-warning").textContent = `Balance ${account.balance}: the customer was charged twice.`;
  $("orders").replaceChildren(...account.orders.map((o) => {
    const row = document.createElement("tr");
    row.dataset.route = orderRoutes.get(o.orderId) ?? "other";
    const cells = [o.orderId, routeLabel(orderRoutes.get(o.orderId)), o.amount, new Date(o.createdAt).toLocaleTimeString()];
    for (const value of cells) {
      const cell = document.createElement("td");
      cell.append(value);
      row.append(cell);
    }
    return row;
  }));
}

// One checkout = one Idempotency-Key. A second click is a second payment (on the safe route serialized, so it
// cannot overdraw), but if a click's response is lost, resending it with the same key returns the first response,
// not a new charge.
async function checkout(route, userId, amount) {
  const key = crypto.randomUUID();
  const send = () => fetch(routes[route](userId), {
    method: "POST",
    headers: { ...json, "Idempotency-Key": key },
    body: JSON.stringify({ amount }),
  });
  let response;
  try {
    response = await send();
  } catch {
    response = await send(); // the network failed: resend once with the same key
  }
  const body = await response.json();
  const replayed = response.headers.get("Idempotent-Replayed") === "true";
  if (response.status === 201) orderRoutes.set(body.orderId, route);
  const outcome = response.status === 201 ? `order ${body.orderId}` : body.title;
  return { route, status: response.status, outcome, replayed, text: `${response.status} ${outcome}${replayed ? " (replayed)" : ""}` };
}

async function pay(route) {
  const result = await checkout(route, user(), Number($("amount").value));
  log(`${route} ${routes[route](user())} -> ${result.text}`);
  await refresh();
}

// Race it: two concurrent checkouts per route, each route for its own fresh customer whose balance pays for one.
let races = 0;
async function race() {
  const amount = Number($("amount").value);
  const run = `${Date.now().toString(36)}${(++races).toString(36)}`;
  const users = { unsafe: `race-${run}-unsafe`, safe: `race-${run}-safe` };
  $("race-status").textContent = "racing…";
  $("race-results").hidden = false;
  for (const route of ["unsafe", "safe"]) {
    const lane = $(`lane-${route}`);
    lane.querySelector(".lane-user").textContent = users[route];
    lane.querySelector(".lane-responses").replaceChildren();
    lane.querySelector(".lane-orders").textContent = "…";
    lane.querySelector(".lane-balance").textContent = "…";
    const verdict = lane.querySelector(".verdict");
    verdict.className = "verdict";
    verdict.textContent = "";
  }
  await Promise.all([setBalance(users.unsafe, amount), setBalance(users.safe, amount)]);

  // All four at once.
  const results = await Promise.all([
    checkout("unsafe", users.unsafe, amount), checkout("unsafe", users.unsafe, amount),
    checkout("safe", users.safe, amount), checkout("safe", users.safe, amount),
  ]);

  for (const route of ["unsafe", "safe"]) {
    const lane = $(`lane-${route}`);
    lane.querySelector(".lane-responses").replaceChildren(...results.filter((r) => r.route === route).map((r) => {
      const item = document.createElement("li");
      item.textContent = r.text;
      return item;
    }));
    const account = await getAccount(users[route]);
    if (!account) continue;
    lane.querySelector(".lane-orders").textContent = account.orders.length;
    lane.querySelector(".lane-balance").textContent = account.balance;
    const verdict = lane.querySelector(".verdict");
    if (account.balance < 0) {
      verdict.classList.add("charged-twice");
      verdict.textContent = `Charged twice: ${account.orders.length} orders, balance ${account.balance}`;
    } else if (account.orders.length === 1) {
      verdict.classList.add(route === "safe" ? "charged-once" : "no-overlap");
      verdict.textContent = route === "safe"
        ? "Charged once: the second checkout waited, then was refused"
        : "Charged once this time: the two requests did not overlap (race again, or raise Checkout__PaymentDelay)";
    } else {
      verdict.textContent = `${account.orders.length} orders, balance ${account.balance}`;
    }
  }
  $("race-status").textContent = "";
  log(`race ${run}: ${results.map((r) => `${r.route} ${r.text}`).join(" | ")}`);
}

$("race").addEventListener("click", race);
$("pay").addEventListener("click", () => pay("safe"));
$("unsafe-pay").addEventListener("click", () => pay("unsafe"));
$("set-balance").addEventListener("click", async () => {
  await setBalance(user(), Number($("new-balance").value));
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
