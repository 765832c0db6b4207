// Calling display: board snapshot, then live events over the WebSocket, resuming with since=N.
// Calls come as `called` / `recalled`; waiting counts and wait ranges as `waiting_changed`.
"use strict";
const state = { since: 0, calls: [], services: {}, reload: false };
const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;  // never innerHTML: no markup from data
  return node;
}

function counterCell(call) {
  const cell = el("td", "c", call.counter_name_zh || "");
  cell.appendChild(el("span", "en", call.counter_name_en || ""));
  return cell;
}

function renderCalls(flash) {
  const now = state.calls[0];
  $("now-ticket").textContent = now ? now.ticket : "—";
  const counter = $("now-counter");
  counter.textContent = now ? `到 ${now.counter_name_zh}` : "";
  if (now) counter.appendChild(el("span", "en", `Please go to ${now.counter_name_en}`));
  if (flash) { const box = $("now"); box.classList.remove("flash"); void box.offsetWidth; box.classList.add("flash"); }
  const rows = $("recent-rows");
  rows.replaceChildren();
  for (const call of state.calls.slice(1, 7)) {
    const tr = el("tr");
    tr.appendChild(el("td", "t", call.ticket));
    tr.appendChild(counterCell(call));
    rows.appendChild(tr);
  }
}

// The words come from the hub (branch_common.wait_words): the kiosk's and the ticket's words.
function renderWaiting(waiting, waitText) {
  const box = $("waiting");
  box.replaceChildren();
  for (const [code, count] of Object.entries(waiting || {})) {
    const svc = state.services[code] || { name_zh: code, name_en: "" };
    const item = el("div", "svc");
    item.dataset.service = code;
    item.appendChild(el("span", "name", svc.name_zh));
    item.appendChild(el("b", null, String(count)));
    const wait = ((waitText || {})[code] || {}).zh_CN || "";
    if (wait) item.appendChild(el("span", "wait", wait));
    box.appendChild(item);
  }
}

function soundBlocked(blocked) {
  const status = $("status");
  if (blocked) {
    status.dataset.sound = "blocked";
    status.textContent = "声音被浏览器阻止 Sound blocked by the browser";
  } else if (status.dataset.sound) {
    delete status.dataset.sound;
    status.textContent = "";
  }
}

function play(call) {
  if (!call.voice_id) return;
  const audio = $("voice");
  audio.src = `/display/voice/${call.voice_id}.wav`;
  // `branch-display setup` writes the Chromium policy that lets the hub's page play this without
  // a click (AutoplayAllowlist); without it the browser refuses, and the screen tells branch IT.
  audio.play().then(() => soundBlocked(false), (err) => soundBlocked(err && err.name === "NotAllowedError"));
}

function onEvent(msg) {
  state.since = msg.seq;
  if (msg.kind === "called" || msg.kind === "recalled") {
    state.calls = [msg.data, ...state.calls.filter((c) => c.ticket !== msg.data.ticket)].slice(0, 8);
    renderCalls(true);
    play(msg.data);
  } else if (msg.kind === "waiting_changed" && msg.data.waiting) {
    renderWaiting(msg.data.waiting, msg.data.wait_text);
  }
}

function connect() {
  const ws = new WebSocket(`wss://${location.host}/api/v1/events?since=${state.since}`);
  ws.onopen = () => { $("status").textContent = ""; };
  ws.onmessage = (e) => {
    const msg = JSON.parse(e.data);
    if (msg.type === "event") onEvent(msg);
    else if (msg.type === "resync") { state.reload = true; }  // too slow, pruned, other log
  };
  ws.onclose = () => {
    $("status").textContent = "重新连接中… Reconnecting…";
    // After a resync the board is read again (calls, counts, last_seq), then the stream resumes.
    setTimeout(() => (state.reload ? load().then(connect, connect) : connect()), 2000);
  };
}

async function load() {
  const resp = await fetch("/api/v1/board");
  const board = await resp.json();
  $("branch-zh").textContent = board.branch.name_zh;
  $("branch-en").textContent = board.branch.name_en;
  for (const svc of board.services) state.services[svc.code] = svc;
  state.calls = board.calls;
  state.since = board.last_seq;
  state.reload = false;
  renderCalls(false);
  renderWaiting(board.waiting, board.wait_text);
}

async function start() {
  await load();
  connect();
}

function tick() {
  const d = new Date();
  $("clock").textContent = d.toLocaleTimeString("zh-CN", { hour12: false, hour: "2-digit", minute: "2-digit" });
}
setInterval(tick, 10000);
tick();
start().catch(() => { $("status").textContent = "暂停服务 Temporarily unavailable"; setTimeout(() => location.reload(), 5000); });
