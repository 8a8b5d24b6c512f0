// Building the page: elements from plain values (text is never parsed as HTML).

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function money(value) {
  if (value === null || value === undefined) return "—";
  const number = Number(value);
  return Number.isFinite(number)
    ? number.toLocaleString(undefined, { maximumFractionDigits: 2 })
    : String(value);
}

export function moment(value) {
  return value ? new Date(value).toLocaleString() : "—";
}

// The page's one message line (role=alert): errors and notices.
export function say(text, kind = "error") {
  const line = document.querySelector("[data-testid=message]");
  if (!line) return;
  line.textContent = text;
  line.dataset.kind = kind;
  line.hidden = !text;
}
