// Small DOM helpers: elements built from data (textContent only, never HTML from the server).

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** An HTML element: `el('td', { class: 'number' }, 3)`. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, String(value));
  }
  return append(node, children);
}

/** An SVG element, with the same signature. */
export function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  return append(node, children);
}

/** Replaces a container's content. */
export function show(container, ...children) {
  container.replaceChildren();
  return append(container, children);
}

/** A table with a header row; `columns`: [{ header, value(row), number? }]. */
export function table(columns, rows, attributes = {}) {
  return el(
    'table',
    attributes,
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        columns.map((column) => el('th', {}, column.header)),
      ),
    ),
    el(
      'tbody',
      {},
      rows.map((row) =>
        el(
          'tr',
          {},
          columns.map((column) => el('td', column.number ? { class: 'number' } : {}, column.value(row))),
        ),
      ),
    ),
  );
}

/** An age in seconds, short: 42 s, 3 min, 2.5 h, 4 d. */
export function age(seconds) {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

/** How long ago an ISO time was, as an age. */
export function since(iso) {
  const at = Date.parse(iso);
  return Number.isNaN(at) ? '' : age(Math.max(0, Math.round((Date.now() - at) / 1000)));
}
